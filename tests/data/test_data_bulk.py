"""The bulk write of an import (binary COPY on PostgreSQL, executemany on SQLite): what goes in
comes back unchanged on both backends, a failure writes nothing, and the encoder's format."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from healthwatch.services import data as svc
from healthwatch.services.database import install_builtin
from healthwatch.store import pgcopy
from healthwatch.store.data_models import DataValue
from healthwatch.store.db import session_scope
from healthwatch.users import LOCAL_ADMIN

TEXTS = ["", 'say "no", twice', "a,b\nc\td\\e", "中文备注", "o'brien", "  spaced  "]
STAMP = datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=UTC)


def _frame(n: int = 12) -> pd.DataFrame:
    values = [0.1, 1e-300, 123456789.125, -0.0, 3.0, float("nan")]
    return pd.DataFrame(
        {
            "region": ["210302", "210303", "210000"] * (n // 3),
            "period": [f"20{10 + i:02d}" for i in range(n)],
            "element": ["live_births", "deliveries"] * (n // 2),
            "version": np.arange(1, n + 1),
            "value": [values[i % len(values)] for i in range(n)],
            "source": [TEXTS[i % len(TEXTS)] for i in range(n)],
            "comment": [TEXTS[(i + 1) % len(TEXTS)] for i in range(n)],
        }
    )


def _stored(db: str) -> list[tuple]:
    with session_scope(db) as s:
        rows = s.execute(
            select(
                DataValue.region,
                DataValue.period,
                DataValue.element,
                DataValue.version,
                DataValue.value,
                DataValue.source,
                DataValue.comment,
                DataValue.synthetic,
                DataValue.stored_by,
                DataValue.stored_at,
                DataValue.import_id,
                DataValue.reason,
                DataValue.current,
            ).order_by(DataValue.period)
        ).all()
    out = []
    for r in rows:
        stamp = r.stored_at if r.stored_at.tzinfo else r.stored_at.replace(tzinfo=UTC)
        out.append((*r[:9], stamp.astimezone(UTC), *r[10:]))
    return out


def _expected(frame: pd.DataFrame, constants: dict) -> list[tuple]:
    out = []
    for row in frame.to_dict("records"):
        value = None if math.isnan(row["value"]) else row["value"]
        full = {**row, **constants, "value": value}
        out.append(tuple(full[c] for c in svc._COLUMNS))
    return sorted(out, key=lambda t: t[1])


@pytest.mark.parametrize("shared", [True, False], ids=["constants", "per-row"])
def test_bulk_insert_stores_every_field_as_given(db_url, shared):
    install_builtin(db_url)
    frame = _frame()
    constants = {
        "synthetic": True,
        "stored_by": 'o\'brien "qa"',
        "stored_at": STAMP,
        "import_id": None,
        "reason": "更正, \\ 'x'",
        "current": False,
    }
    if not shared:  # the same values given per row instead of once
        frame = frame.assign(**{k: [v] * len(frame) for k, v in constants.items()})
    with session_scope(db_url, create=True) as s:
        svc.bulk_insert(s, frame, constants if shared else {})
    stored = _stored(db_url)
    assert stored == _expected(frame[list(_frame().columns)], constants)
    assert [r[4] for r in stored][:6] == [0.1, 1e-300, 123456789.125, -0.0, 3.0, None]


def test_a_failed_bulk_insert_writes_nothing(db_url):
    install_builtin(db_url)
    frame = _frame(6)
    constants = {
        "synthetic": False,
        "stored_by": "a",
        "stored_at": STAMP,
        "import_id": 1,
        "reason": "",
        "current": True,
    }
    with session_scope(db_url, create=True) as s:
        svc.bulk_insert(s, frame, constants)
    twice = pd.concat([frame.assign(version=frame["version"] + 100), frame], ignore_index=True)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), session_scope(db_url) as s:
        svc.bulk_insert(s, twice, constants)  # the second half repeats stored keys
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(DataValue)) == 6


def test_bulk_insert_refuses_a_frame_without_every_column(db_url):
    install_builtin(db_url)
    with session_scope(db_url, create=True) as s:
        with pytest.raises(ValueError, match="stored_by"):
            svc.bulk_insert(s, _frame(), {"synthetic": False})
        with pytest.raises(ValueError, match="colour"):
            svc.bulk_insert(s, _frame(), {"colour": "red"})


def test_import_reports_its_phases(seeded_db_url, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("region,period,element,value\n210302,2023,live_births,1200\n")
    result = svc.import_file(path, actor=LOCAL_ADMIN, db=seeded_db_url)
    assert result.inserted == 1
    phases = ["read", "context", "validate", "plan", "write", "commit"]
    assert list(result.phases) == phases and list(result.cpu_phases) == phases
    assert all(v >= 0 for v in result.phases.values())
    assert sum(result.phases.values()) <= result.seconds + 1e-6
    assert "phases" not in result.to_json()


# --- the encoder itself --------------------------------------------------------------------


def _decode(data: bytes, kinds: list[str]) -> list[tuple]:
    """A minimal reader of the binary COPY format, to check the encoder independently."""
    assert data[:11] == pgcopy.SIGNATURE and data[11:19] == b"\0" * 8
    pos, rows = 19, []
    while True:
        (width,) = struct.unpack_from("!h", data, pos)
        pos += 2
        if width == -1:
            assert pos == len(data)
            return rows
        assert width == len(kinds)
        row = []
        for kind in kinds:
            (size,) = struct.unpack_from("!i", data, pos)
            pos += 4
            if size == -1:
                row.append(None)
                continue
            raw = data[pos : pos + size]
            pos += size
            fmt = {"int4": "!i", "float8": "!d", "bool": "!?", "timestamptz": "!q"}.get(kind)
            row.append(raw.decode() if fmt is None else struct.unpack(fmt, raw)[0])
        rows.append(tuple(row))


def test_encoder_writes_the_binary_format_in_any_chunking():
    columns = [
        ("text", ["a", None, "中"]),
        ("int4", 7),
        ("float8", [1.5, float("nan"), -2.0]),
        ("bool", [True, False, True]),
        ("timestamptz", datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ("text", ""),
    ]
    kinds = [k for k, _ in columns]
    whole = b"".join(pgcopy.encode(columns))
    assert b"".join(pgcopy.encode(columns, chunk_rows=1)) == whole
    assert _decode(whole, kinds) == [
        ("a", 7, 1.5, True, 1_000_000, ""),
        (None, 7, None, False, 1_000_000, ""),
        ("中", 7, -2.0, True, 1_000_000, ""),
    ]


def test_encoder_refuses_what_it_cannot_write():
    with pytest.raises(ValueError, match="lengths"):
        list(pgcopy.encode([("text", ["a", "b"]), ("int4", [1])]))
    with pytest.raises(ValueError, match="aware"):
        list(pgcopy.encode([("timestamptz", datetime(2026, 1, 1))]))
    with pytest.raises(ValueError, match="unsupported"):
        list(pgcopy.encode([("json", "{}")]))
