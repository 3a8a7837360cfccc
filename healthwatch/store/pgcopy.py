"""PostgreSQL binary COPY data built column-wise with numpy, for bulk appends of many rows.

Why binary: in the text and CSV formats the server parses every field of every row, and a
``timestamptz`` or ``boolean`` repeated a million times costs it as much as the figures that
differ; the binary format sends each field as the server stores it. Why column-wise: a row at a
time in Python is the slow part on the client; a column holds few distinct values (a million
indicator values have a few hundred regions, periods and elements and one time stamp), so each
distinct value is encoded once and the rows are joined from those pieces with numpy.

The format (PostgreSQL documentation, "COPY", binary file format): a signature, flags and header
extension length; per row the field count (int16) then each field as its length (int32, -1 for
NULL) and its bytes in network byte order; a trailer of -1 (int16).

>>> data = b"".join(encode([("int4", [1, None]), ("text", ["a", "bc"])], encoding="utf-8"))
>>> data[:11] == SIGNATURE, len(data)
(True, 48)
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SIGNATURE", "encode"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = SIGNATURE + struct.pack("!ii", 0, 0)
_TRAILER = struct.pack("!h", -1)
_NULL = struct.pack("!i", -1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's timestamp epoch
_COMBINE_LIMIT = 1 << 16  # at most this many distinct pieces when joining neighbouring columns

#: A column: its PostgreSQL type (text, int4, float8, bool, timestamptz) and its values, either
#: one per row or a single scalar that every row shares. None (and NaN for float8) is NULL.
Column = tuple[str, Any]


def _field(kind: str, value: Any, encoding: str) -> bytes:
    """One field, length prefix included."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return _NULL
    if kind == "text":
        data = str(value).encode(encoding)
        return struct.pack("!i", len(data)) + data
    if kind == "int4":
        return struct.pack("!ii", 4, int(value))
    if kind == "float8":
        return struct.pack("!id", 8, float(value))
    if kind == "bool":
        return struct.pack("!i?", 1, bool(value))
    if kind == "timestamptz":
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None:
            raise ValueError("timestamptz needs an aware time")
        delta = stamp.to_pydatetime().astimezone(UTC) - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return struct.pack("!iq", 8, micros)
    raise ValueError(f"unsupported column type {kind!r}")


def _is_scalar(values: Any) -> bool:
    return bool(np.isscalar(values)) or values is None or isinstance(values, datetime)


def _pieces(kind: str, values: Any, n: int, encoding: str) -> tuple[list[bytes], np.ndarray | None]:
    """The encoded distinct values of a column and each row's index into them (None when one
    value serves every row). A :class:`pandas.Categorical` brings its own codes."""
    if _is_scalar(values):
        return [_field(kind, values, encoding)], None
    if isinstance(values, pd.Categorical):
        codes, uniques = values.codes, values.categories
    else:
        codes, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=True)
    if len(codes) != n:
        raise ValueError("columns of different lengths")
    table = [_field(kind, u, encoding) for u in uniques] + [_NULL]  # code -1 (missing): NULL
    return table, np.where(codes < 0, len(table) - 1, codes).astype(np.int64)


def _groups(
    columns: Sequence[Column], n: int, encoding: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The row's bytes as a few groups of neighbouring columns: (distinct pieces, row codes).

    Neighbours are joined on their distinct combinations while there are few of them (the tail
    of constants, region x period), so that the per-row work is a few takes and concatenations
    of Python bytes whatever the number of columns.
    """
    groups: list[tuple[np.ndarray, np.ndarray]] = []
    table: list[bytes] = [struct.pack("!h", len(columns))]  # every row starts with its width
    codes: np.ndarray | None = None
    for kind, values in columns:
        nxt, nxt_codes = _pieces(kind, values, n, encoding)
        if nxt_codes is None:  # a constant: appended to every piece of the current group
            table = [t + nxt[0] for t in table]
        elif codes is None or len(table) * len(nxt) <= _COMBINE_LIMIT:
            key = nxt_codes if codes is None else codes * len(nxt) + nxt_codes
            key_codes, keys = pd.factorize(key)
            width = len(nxt)
            table = [table[0 if codes is None else k // width] + nxt[k % width] for k in keys]
            codes = key_codes
        else:
            groups.append((np.array(table, dtype=object), codes))
            table, codes = nxt, nxt_codes
    if codes is None:
        codes = np.zeros(n, dtype=np.int64)
    groups.append((np.array(table, dtype=object), codes))
    return groups


def encode(
    columns: Sequence[Column], *, encoding: str = "utf-8", chunk_rows: int = 100_000
) -> Iterator[bytes]:
    """Binary COPY data of ``columns`` (in the order of the COPY statement's column list), in
    pieces of ``chunk_rows`` rows, so that the server can store one piece while the next is
    built. ``encoding`` is the connection's (Python codec name); the first piece starts with the
    header and the last ends with the trailer."""
    per_row = {len(v) for _, v in columns if not _is_scalar(v)}
    if len(per_row) > 1:
        raise ValueError("columns of different lengths")
    n = per_row.pop() if per_row else 1
    groups = _groups(columns, n, encoding)
    yield _HEADER
    for start in range(0, n, chunk_rows):
        rows: np.ndarray | None = None
        for table, codes in groups:
            part = table[codes[start : start + chunk_rows]]
            rows = part if rows is None else rows + part
        assert rows is not None
        yield b"".join(rows.tolist())
    yield _TRAILER
