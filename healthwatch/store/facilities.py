"""The facility registry in the database: save (upsert by id), list, history and restore.

The registry's shape and its one validator live in :mod:`healthwatch.access.facilities` (pure,
no database); this module stores what that validator returns and reads it back as the very same
DataFrame (:data:`~healthwatch.access.facilities.FACILITY_COLUMNS`), so that ratios or coverage
can take a file's registry or the stored one alike.

:func:`save_facilities` takes only a validated registry and writes it in the caller's
transaction (use :func:`healthwatch.store.db.session_scope`, which rolls back on any error), so
an import is all or nothing. Every insert, update and delete lands in the audit trail (see
:mod:`healthwatch.store.audit`); :func:`facility_history` reads it and
:func:`healthwatch.store.audit.revert_change` undoes one change.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from healthwatch.access.facilities import (
    FACILITY_COLUMNS,
    KIND_CODES,
    ImportSummary,
    normalise_registry,
    region_prefix,
)
from healthwatch.errors import InputError, NotFoundError, Problem
from healthwatch.store.audit import acting_as, audit_trail
from healthwatch.store.models import Facility, Region

REPLACE_SCOPES: tuple[str, ...] = ("counties", "source", "all")
_ENTITY = Facility.__tablename__
_IN_CHUNK = 500  # ids per IN (...) query: well under every backend's parameter limit


def _plain_rows(frame: pd.DataFrame, source: str) -> list[dict[str, Any]]:
    """The registry's rows as plain Python values (no numpy or pandas scalars) with the source."""
    table = normalise_registry(frame).astype(object)
    table = table.where(table.notna(), None)
    rows = []
    for rec in table.to_dict(orient="records"):
        row = {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
        row["source"] = source
        rows.append(row)
    return rows


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
    registry: ImportSummary,
    *,
    actor: str,
    source: str,
    replace_scope: str | None = None,
) -> dict[str, int]:
    """Insert or update facilities by id from a validated registry.

    ``registry`` is what :func:`healthwatch.access.facilities.validate_facilities` (or the
    file reader :func:`healthwatch.data.facilities.read_facilities`) returns: the one validator
    has checked every row, so nothing here re-checks or can disagree. ``replace_scope`` also
    deletes stored facilities that the input lacks: ``"counties"`` those in the counties the
    input covers, ``"source"`` those saved earlier from the same ``source``, ``"all"`` every
    other one; the default (None) deletes nothing. Returns counts: inserted, updated,
    unchanged, deleted.
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
    if not isinstance(registry, ImportSummary):
        raise InputError(
            [
                Problem(
                    "save_facilities takes a validated registry (validate_facilities or "
                    f"read_facilities), not {type(registry).__name__}.",
                    "save_facilities 只接受经过校验的机构表（validate_facilities 或 "
                    f"read_facilities 的结果），而不是 {type(registry).__name__}。",
                )
            ]
        )
    rows = _plain_rows(registry.facilities, source)
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
