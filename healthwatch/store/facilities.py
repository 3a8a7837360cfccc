"""The facility registry in the database: import (upsert by id), list, history and restore.

The registry's table shape is defined here, below ``healthwatch.access``, so that both the file
reader (:mod:`healthwatch.access.facilities`) and the database give the very same DataFrame
(:data:`FACILITY_COLUMNS`, :func:`normalise_registry`) and ratios or coverage can take either.

:func:`save_facilities` checks every row before it writes anything and raises one
:class:`~healthwatch.errors.InputError` listing all problems; the rows are then written in the
caller's transaction (use :func:`healthwatch.store.db.session_scope`, which rolls back on any
error), so an import is all or nothing. Every insert, update and delete lands in the audit trail
(see :mod:`healthwatch.store.audit`); :func:`facility_history` reads it and
:func:`healthwatch.store.audit.revert_change` undoes one change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from healthwatch.errors import InputError, NotFoundError, Problem
from healthwatch.store.audit import acting_as, audit_trail
from healthwatch.store.models import Facility, Region

#: Non-negative whole-number columns: beds, staff by category, ambulances.
COUNT_COLUMNS: tuple[str, ...] = (
    "beds",
    "physicians",
    "nurses",
    "gps",
    "pharmacists",
    "ambulances",
    "negative_pressure",
)
#: Columns of a validated registry, in order (files and database alike).
FACILITY_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "kind",
    "level",
    "adcode",
    "lon",
    "lat",
    *COUNT_COLUMNS,
    "year",
    "synthetic",
)
#: Facility kind codes (the values of ``healthwatch.access.facilities.FacilityKind``).
KIND_CODES: tuple[str, ...] = (
    "hospital",
    "community_health_centre",
    "township_health_centre",
    "village_clinic",
    "ems_centre",
    "ems_station",
)

REPLACE_SCOPES: tuple[str, ...] = ("counties", "source", "all")
_ENTITY = Facility.__tablename__
_IN_CHUNK = 500  # ids per IN (...) query: well under every backend's parameter limit


def normalise_registry(df: pd.DataFrame) -> pd.DataFrame:
    """Put an already valid table into the registry's column order and dtypes."""
    out = df.copy()
    for col in FACILITY_COLUMNS:
        if col not in out:
            out[col] = 0 if col in COUNT_COLUMNS else False if col == "synthetic" else None
    out = out[list(FACILITY_COLUMNS)]
    for col in COUNT_COLUMNS:
        out[col] = pd.to_numeric(out[col]).fillna(0).astype("int64")
    out["lon"] = out["lon"].astype(float)
    out["lat"] = out["lat"].astype(float)
    out["synthetic"] = out["synthetic"].fillna(False).astype(bool)
    out["year"] = pd.to_numeric(out["year"]).astype("Int64")
    for col in ("id", "name", "kind", "adcode"):
        out[col] = out[col].astype(str)
    level = out["level"].astype(object)
    out["level"] = level.where(level.notna(), None)
    return out.reset_index(drop=True)


def _blank(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip() == ""


def _as_int(value: Any) -> int | None:
    """A whole number from an int, float or numeric string; None when it is not one."""
    try:
        num = float(str(value).replace(",", ""))
    except ValueError:
        return None
    return int(num) if math.isfinite(num) and num == int(num) else None


def _records(frame_or_rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(frame_or_rows, pd.DataFrame):
        frame = frame_or_rows.astype(object).where(frame_or_rows.notna(), None)
        return [dict(r) for r in frame.to_dict(orient="records")]
    return [dict(r) for r in frame_or_rows]


def _row_values(
    rec: Mapping[str, Any], line: int, source: str, known: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """Plain Python column values for one row, and what is wrong with it."""
    problems: list[Problem] = []

    def bad(field: str, en: str, zh: str) -> None:
        problems.append(Problem(en, zh, file=source, line=line, field=field))

    values: dict[str, Any] = {}
    for col in ("id", "name"):
        text = "" if _blank(rec.get(col)) else str(rec[col]).strip()
        if not text:
            bad(col, f"{col} is empty.", f"{'机构编号' if col == 'id' else '机构名称'}为空。")
        values[col] = text
    kind = "" if _blank(rec.get("kind")) else str(rec["kind"]).strip()
    if kind not in KIND_CODES:
        bad(
            "kind",
            f"Unknown facility kind {kind!r}; use one of {', '.join(KIND_CODES)}.",
            f"未知机构类型 {kind!r}；可用：{'、'.join(KIND_CODES)}。",
        )
    values["kind"] = kind
    values["level"] = None if _blank(rec.get("level")) else str(rec["level"]).strip()
    adcode = "" if _blank(rec.get("adcode")) else str(rec["adcode"]).strip().removesuffix(".0")
    if adcode not in known:
        bad("adcode", f"Unknown adcode {adcode!r}.", f"未知的行政区划代码 {adcode!r}。")
    values["adcode"] = adcode
    for col in ("lon", "lat"):
        try:
            number = float(rec.get(col))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            bad(
                col, f"{col} {rec.get(col)!r} is not a number.", f"坐标 {rec.get(col)!r} 不是数字。"
            )
        values[col] = number
    for col in COUNT_COLUMNS:
        raw = rec.get(col)
        count = 0 if _blank(raw) else _as_int(raw)
        if count is None or count < 0:
            bad(
                col,
                f"{col} must be a whole number >= 0, got {raw!r}.",
                f"{col} 应为非负整数，实为 {raw!r}。",
            )
            count = 0
        values[col] = count
    if values["negative_pressure"] > values["ambulances"]:
        bad(
            "negative_pressure",
            "More negative-pressure ambulances than ambulances.",
            "负压救护车多于救护车总数。",
        )
    year = None if _blank(rec.get("year")) else _as_int(rec.get("year"))
    if not _blank(rec.get("year")) and (year is None or not 1949 <= year <= 2100):
        bad("year", f"Year {rec.get('year')!r} is not a year.", f"年份 {rec.get('year')!r} 无效。")
    values["year"] = year
    syn = rec.get("synthetic")
    values["synthetic"] = (not _blank(syn)) and str(syn).strip().lower() in (
        "1",
        "true",
        "yes",
        "是",
    )
    values["source"] = source
    return values, problems


def _check_rows(
    records: list[dict[str, Any]], source: str
) -> tuple[list[dict[str, Any]], list[Problem]]:
    from healthwatch.regions.hierarchy import all_regions

    known = all_regions()
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(records):
        line = i + 2  # as a spreadsheet shows it: the header is line 1
        values, found = _row_values(rec, line, source, known)
        if values["id"] in seen:
            found.append(
                Problem(
                    f"Duplicate id {values['id']!r} (also on line {seen[values['id']]}).",
                    f"编号 {values['id']!r} 重复（第 {seen[values['id']]} 行已有）。",
                    file=source,
                    line=line,
                    field="id",
                )
            )
        seen.setdefault(values["id"], line)
        problems += found
        rows.append(values)
    return rows, problems


def _existing(session: Session, ids: list[str]) -> dict[str, Facility]:
    found: dict[str, Facility] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        found.update(
            {f.id: f for f in session.scalars(select(Facility).where(Facility.id.in_(chunk)))}
        )
    return found


def _ensure_regions(session: Session, adcodes: set[str]) -> None:
    from healthwatch.regions.hierarchy import with_ancestors
    from healthwatch.store.regions import save_regions

    stored = set(session.scalars(select(Region.adcode)))
    missing = adcodes - stored
    if missing:
        save_regions(session, [r for r in with_ancestors(missing) if r.adcode not in stored])


def save_facilities(
    session: Session,
    frame_or_rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    actor: str,
    source: str,
    replace_scope: str | None = None,
) -> dict[str, int]:
    """Insert or update facilities by id; all rows are checked before anything is written.

    ``frame_or_rows`` is a registry table (as :func:`healthwatch.access.facilities.read_facilities`
    returns) or an iterable of dicts with the same keys. ``replace_scope`` also deletes stored
    facilities that the input lacks: ``"counties"`` those in the counties the input covers,
    ``"source"`` those saved earlier from the same ``source``, ``"all"`` every other one; the
    default (None) deletes nothing. Returns counts: inserted, updated, unchanged, deleted.
    """
    if replace_scope is not None and replace_scope not in REPLACE_SCOPES:
        raise InputError(
            [
                Problem(
                    f"Unknown replace scope {replace_scope!r}: use {', '.join(REPLACE_SCOPES)}.",
                    f"未知替换范围 {replace_scope!r}：可用 {'、'.join(REPLACE_SCOPES)}。",
                    field="replace_scope",
                )
            ]
        )
    rows, problems = _check_rows(_records(frame_or_rows), source)
    if problems:
        raise InputError(problems)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "deleted": 0}
    with acting_as(session, actor):
        _ensure_regions(session, {r["adcode"] for r in rows})
        existing = _existing(session, [r["id"] for r in rows])
        for values in rows:
            current = existing.get(values["id"])
            if current is None:
                session.add(Facility(**values))
                counts["inserted"] += 1
                continue
            changed = {k: v for k, v in values.items() if getattr(current, k) != v}
            for key, value in changed.items():
                setattr(current, key, value)
            counts["updated" if changed else "unchanged"] += 1
        if replace_scope is not None:
            counts["deleted"] = _delete_missing(session, rows, replace_scope, source)
    return counts


def _delete_missing(session: Session, rows: list[dict[str, Any]], scope: str, source: str) -> int:
    keep = {r["id"] for r in rows}
    query = select(Facility)
    if scope == "counties":
        query = query.where(Facility.adcode.in_(sorted({r["adcode"] for r in rows})))
    elif scope == "source":
        query = query.where(Facility.source == source)
    deleted = 0
    for row in session.scalars(query).all():
        if row.id not in keep:
            session.delete(row)
            deleted += 1
    return deleted


def region_prefix(code: str) -> str:
    """'210000' -> '21', '210300' -> '2103', '210302' -> '210302': the adcodes a region holds."""
    code = code.strip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def list_facilities(
    session: Session, county: str | None = None, kind: str | None = None
) -> pd.DataFrame:
    """The stored registry (columns :data:`FACILITY_COLUMNS`), sorted by id.

    ``county`` is a county adcode, or a city or province adcode for all facilities inside it;
    ``kind`` one of :data:`KIND_CODES`.
    """
    if kind is not None and kind not in KIND_CODES:
        raise InputError(
            [
                Problem(
                    f"Unknown facility kind {kind!r}; use one of {', '.join(KIND_CODES)}.",
                    f"未知机构类型 {kind!r}；可用：{'、'.join(KIND_CODES)}。",
                    field="kind",
                )
            ]
        )
    query = select(*(getattr(Facility, c) for c in FACILITY_COLUMNS))
    if county is not None:
        prefix = region_prefix(county)
        exact = Facility.adcode == prefix
        query = query.where(exact if len(prefix) == 6 else Facility.adcode.startswith(prefix))
    if kind is not None:
        query = query.where(Facility.kind == kind)
    frame = pd.DataFrame(session.execute(query).all(), columns=list(FACILITY_COLUMNS))
    frame = normalise_registry(frame)
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def facility_count(session: Session) -> int:
    """How many facilities are stored."""
    return int(session.scalar(select(func.count()).select_from(Facility)) or 0)


def get_facility(session: Session, facility_id: str) -> dict[str, Any]:
    """One stored facility with its source, as a dict; NotFoundError when it is not stored."""
    row = session.get(Facility, facility_id)
    if row is None:
        raise NotFoundError(
            f"Facility {facility_id!r} is not in the database. List them with "
            "`healthwatch access facilities list`.",
            f"数据库中没有机构 {facility_id!r}。可用 `healthwatch access facilities list` 查看。",
        )
    return {c: getattr(row, c) for c in (*FACILITY_COLUMNS, "source")}


def facility_history(session: Session, facility_id: str | None = None) -> list[dict[str, Any]]:
    """Audit rows of the registry, oldest first (one facility's, or all); undo one with
    :func:`healthwatch.store.audit.revert_change`."""
    return audit_trail(session, entity=_ENTITY, entity_key=facility_id)


def facility_sources(session: Session) -> list[dict[str, Any]]:
    """Each source the stored facilities came from, with its count and whether any is synthetic."""
    rows = session.execute(
        select(
            Facility.source,
            func.count(),
            func.max(Facility.year),
            func.sum(cast(Facility.synthetic, Integer)),
        )
        .group_by(Facility.source)
        .order_by(Facility.source)
    ).all()
    return [
        {"source": s, "facilities": int(n), "year": y, "synthetic": int(k or 0)}
        for s, n, y, k in rows
    ]


def stored_registry(
    db: str | None = None, *, county: str | None = None, kind: str | None = None
) -> pd.DataFrame | None:
    """The registry stored in ``db`` (see :func:`healthwatch.store.db.resolve_url`), or None.

    None when the database holds no facility, or when it is an SQLite file that does not exist:
    reading never creates a database, so commands can fall back to the demo data instead.
    """
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from healthwatch.store.db import resolve_url, session_scope

    url = resolve_url(db)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (
        parsed.database and Path(parsed.database).exists()
    ):
        return None
    with session_scope(url) as session:
        if not facility_count(session):
            return None
        return list_facilities(session, county=county, kind=kind)


def ems_stations(registry: pd.DataFrame) -> pd.DataFrame:
    """EMS centres and stations with ambulances, as the coverage and siting models take them."""
    ems = registry[
        registry["kind"].isin(["ems_station", "ems_centre"]) & (registry["ambulances"] > 0)
    ]
    columns = ["id", "lon", "lat", "ambulances", "negative_pressure", "adcode", "synthetic"]
    return ems[columns].reset_index(drop=True)
