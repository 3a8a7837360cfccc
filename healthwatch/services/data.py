"""Indicator data: import, approval, history, revert, aggregation and export over the store.

What the CLI (``healthwatch data …``) and the web app call. Every write takes an
:class:`~healthwatch.users.Actor`, checks it with :func:`~healthwatch.users.require` for every
region it touches, and runs in one transaction (:func:`~healthwatch.store.db.session_scope`):
a file is validated whole before anything is written, and a failure or a killed process leaves
the database as it was.

Values are versioned (see :mod:`healthwatch.store.data_models`): importing the same file again
changes nothing; a changed value becomes version n+1 of that value. Imports are serialised (a
PostgreSQL advisory lock; SQLite's single writer), so two imports at once both complete, one
after the other, and no value is lost.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from healthwatch.data.aggregate import aggregate_indicator, to_records
from healthwatch.data.elements import Definitions, load_definitions
from healthwatch.data.importers import read_incoming
from healthwatch.data.validate import Checked, Context, Incoming, validate
from healthwatch.errors import HealthwatchError, InputError, NotFoundError, Problem
from healthwatch.store import pgcopy
from healthwatch.store.audit import audit_trail, iso_utc
from healthwatch.store.data_models import DataApproval, DataImport, DataValue
from healthwatch.store.db import session_scope
from healthwatch.store.models import Region
from healthwatch.users import Actor, in_region_scope, require

__all__ = [
    "ImportResult",
    "aggregate",
    "approve",
    "completeness",
    "current_values",
    "history",
    "import_file",
    "import_values",
    "revert",
    "status",
    "submit",
    "unlock",
]

_LOCK_KEY = 0x68770009  # pg_advisory_xact_lock key of indicator-data imports ("hw" 9)
_COLUMNS = (
    "region",
    "period",
    "element",
    "version",
    "value",
    "source",
    "comment",
    "synthetic",
    "stored_by",
    "stored_at",
    "import_id",
    "reason",
    "current",
)


@dataclass
class ImportResult:
    """What an import did (or, with dry_run, would do)."""

    file: str
    format: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    warnings: list[dict[str, Any]] = field(default_factory=list)
    import_id: int | None = None
    dry_run: bool = False
    seconds: float = 0.0
    #: Wall-clock and CPU seconds of this process per phase (read, context, validate, plan,
    #: write, commit), for benchmarks and profiling; not part of the JSON answer.
    phases: dict[str, float] = field(default_factory=dict)
    cpu_phases: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "warnings": self.warnings,
            "import_id": self.import_id,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------------------------------
# Reading the store
# ---------------------------------------------------------------------------------------------


def _regions(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Region.adcode, Region.level, Region.parent)).all()
    return pd.DataFrame(rows, columns=["adcode", "level", "parent"])


def _read_frame(
    session: Session, sql: str, params: dict[str, Any], columns: list[str]
) -> pd.DataFrame:
    rows = session.execute(text(sql), params).all()
    return pd.DataFrame(rows, columns=columns)


def _in_list(prefix: str, items: Iterable[str]) -> tuple[str, dict[str, Any]]:
    names = {f"{prefix}{i}": v for i, v in enumerate(sorted(set(items)))}
    return ", ".join(f":{k}" for k in names) or "NULL", names


def _stored(session: Session, elements: Iterable[str]) -> pd.DataFrame:
    """Current (non-deleted) values of ``elements`` (id, key, version, value, comment)."""
    clause, params = _in_list("e", elements)
    return _read_frame(
        session,
        "SELECT id, region, period, element, version, value, comment FROM data_values "
        f"WHERE current = :t AND element IN ({clause})",
        {**params, "t": True},
        ["id", "region", "period", "element", "version", "value", "comment"],
    )


def _locked(session: Session) -> set[tuple[str, str]]:
    rows = session.execute(
        select(DataApproval.region, DataApproval.period).where(DataApproval.locked.is_(True))
    ).all()
    return {(r, p) for r, p in rows}


def _relevant_elements(codes: set[str], defs: Definitions) -> set[str]:
    """The file's codes and every element that an indicator or rule puts beside them."""
    out = set(codes)
    for ind in defs.indicators.values():
        if out & {*ind.elements(), ind.code}:
            out.update(ind.elements())
    for rule in defs.rules:
        if out & rule.elements():
            out.update(rule.elements())
    return out


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


def _check_scope(actor: Actor, regions: Iterable[str], file: str) -> None:
    require(actor, "write")
    outside = sorted(r for r in set(regions) if not in_region_scope(actor, r))
    if outside:
        from healthwatch.errors import PermissionDeniedError

        raise PermissionDeniedError(
            f"User {actor.username!r} may only write inside region {actor.region}.",
            f"用户 {actor.username!r} 只能填报所辖区域 {actor.region} 内的数据。",
            [
                Problem(
                    f"region {r} is outside your scope",
                    f"地区 {r} 不在您的权限范围内",
                    file,
                    field="region",
                )
                for r in outside
            ],
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def import_file(
    path: Path | str,
    *,
    actor: Actor,
    db: str | None = None,
    format: str | None = None,
    mapping: Path | str | None = None,
    dry_run: bool = False,
    definitions: Iterable[Path | str] = (),
    synthetic: bool = False,
) -> ImportResult:
    """Read, validate and store one file (all or nothing); see the module docstring."""
    started = time.perf_counter()
    clock = _Clock()
    defs = load_definitions(definitions)
    p = Path(path)
    incoming = read_incoming(p, format, mapping, defs)
    sha = _sha256(p) if p.is_file() else ""
    clock.lap("read")
    result = import_values(
        incoming, actor=actor, db=db, dry_run=dry_run, defs=defs, sha256=sha, synthetic=synthetic
    )
    result.phases = {**clock.wall, **result.phases}
    result.cpu_phases = {**clock.cpu, **result.cpu_phases}
    result.seconds = time.perf_counter() - started
    return result


def import_values(
    incoming: Incoming,
    *,
    actor: Actor,
    db: str | None = None,
    dry_run: bool = False,
    defs: Definitions | None = None,
    sha256: str = "",
    synthetic: bool = False,
    reason: str = "",
) -> ImportResult:
    """Validate ``incoming`` against the store and write it in one transaction."""
    defs = defs or load_definitions()
    _check_scope(actor, _distinct(incoming.frame["region"]), incoming.file)
    for attempt in range(8):
        try:
            # An import is an explicit load: it may create (and migrate) the database on a
            # fresh installation; a dry run writes nothing, so it never creates one.
            clock = _Clock()
            with session_scope(db, actor=actor.username, create=not dry_run) as session:
                result = _import_in_session(
                    session, incoming, actor, defs, dry_run, sha256, synthetic, reason, clock
                )
                clock.lap("write")
            clock.lap("commit")
            result.phases, result.cpu_phases = clock.wall, clock.cpu
            return result
        except OperationalError as exc:  # SQLite: another writer held the database too long
            if "locked" not in str(exc).lower() or attempt == 7:
                raise HealthwatchError(
                    f"The database is busy with another import; try again ({exc.orig}).",
                    "数据库正被另一个导入占用，请稍后重试。",
                ) from None
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _distinct(column: pd.Series) -> set[str]:
    """Distinct stripped values of a column (stripping the few distinct values, not every row)."""
    return {str(v).strip() for v in pd.unique(column)}


def _take_write_lock(session: Session) -> None:
    """Serialise imports: PostgreSQL advisory lock; SQLite takes its write lock on first write."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    else:
        session.execute(text("UPDATE data_imports SET id = id WHERE id = -1"))


class _Clock:
    """Wall and CPU seconds since the previous lap, added up per phase (ImportResult.phases):
    on a shared machine the wall time says little, the CPU time of the phase says more."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.last = (time.perf_counter(), time.process_time())

    def lap(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.wall[name] = self.wall.get(name, 0.0) + now[0] - self.last[0]
        self.cpu[name] = self.cpu.get(name, 0.0) + now[1] - self.last[1]
        self.last = now


def _import_in_session(
    session: Session,
    incoming: Incoming,
    actor: Actor,
    defs: Definitions,
    dry_run: bool,
    sha256: str,
    synthetic: bool,
    reason: str,
    clock: _Clock,
) -> ImportResult:
    if not dry_run:
        _take_write_lock(session)
    regions = _regions(session)
    codes = _distinct(incoming.frame["element"])
    stored = _stored(session, _relevant_elements(codes, defs))
    ctx = Context(
        dict(zip(regions["adcode"], regions["parent"], strict=True)),
        stored[["region", "period", "element", "value"]].dropna(subset=["value"]),
        _locked(session),
    )
    clock.lap("context")
    checked = validate(incoming, defs, ctx)
    clock.lap("validate")
    plan = _plan_writes(checked, stored)
    clock.lap("plan")
    result = ImportResult(
        file=incoming.file,
        format=incoming.format,
        rows=len(checked.values),
        inserted=int(plan["new"].sum()),
        updated=int(plan["changed"].sum()),
        unchanged=int((~plan["new"] & ~plan["changed"]).sum()),
        warnings=checked.warnings,
        dry_run=dry_run,
    )
    if dry_run or (result.inserted == 0 and result.updated == 0):
        return result
    record = DataImport(
        file=incoming.file,
        format=incoming.format,
        sha256=sha256,
        actor=actor.username,
        rows=result.rows,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        warnings=checked.warnings[:1000],
        reason=reason,
    )
    session.add(record)
    session.flush()
    result.import_id = record.id
    _write(session, plan, checked, actor.username, record.id, synthetic, reason)
    return result


def _plan_writes(checked: Checked, stored: pd.DataFrame) -> pd.DataFrame:
    """The file's rows with the stored current version: new / changed / unchanged."""
    values = checked.values
    key = ["region", "period", "element"]
    cur = stored.rename(
        columns={
            "id": "old_id",
            "version": "old_version",
            "value": "old_value",
            "comment": "old_comment",
        }
    )
    merged = values.merge(cur, on=key, how="left")
    new = merged["old_id"].isna()
    same_value = (
        np.isclose(
            merged["value"].to_numpy(float),
            merged["old_value"].to_numpy(float),
            rtol=1e-12,
            atol=0.0,
        )
        & merged["old_value"].notna().to_numpy()
    )
    same_comment = merged["comment"].fillna("").eq(merged["old_comment"].fillna(""))
    merged["new"] = new
    merged["changed"] = ~new & ~(same_value & same_comment)
    return merged


def _write(
    session: Session,
    plan: pd.DataFrame,
    checked: Checked,
    stored_by: str,
    import_id: int,
    synthetic: bool,
    reason: str,
) -> None:
    """Close superseded versions and append the new ones with one bulk statement."""
    changed = plan[plan["changed"]]
    if len(changed):
        ids = changed["old_id"].astype(int).tolist()
        for start in range(0, len(ids), 500):
            session.execute(
                update(DataValue)
                .where(DataValue.id.in_(ids[start : start + 500]))
                .values(current=False)
            )
    rows = plan[plan["new"] | plan["changed"]]
    version = rows["old_version"].fillna(0).astype(int) + 1
    source = rows["source"].where(rows["source"].ne(""), f"import:{Path(checked.file).name}")
    frame = pd.DataFrame(
        {
            "region": rows["region"].to_numpy(),
            "period": rows["period"].to_numpy(),
            "element": rows["element"].to_numpy(),
            "version": version.to_numpy(),
            "value": rows["value"].to_numpy(float),
            "source": source.to_numpy(),
            "comment": rows["comment"].fillna("").to_numpy(),
        }
    )
    constants = {
        "synthetic": synthetic,
        "stored_by": stored_by,
        "stored_at": datetime.now(UTC),
        "import_id": import_id,
        "reason": reason,
        "current": True,
    }
    bulk_insert(session, frame, constants)


#: PostgreSQL type of each data_values column, for the binary COPY (store.pgcopy).
_PG_TYPES = {
    "region": "text",
    "period": "text",
    "element": "text",
    "version": "int4",
    "value": "float8",
    "source": "text",
    "comment": "text",
    "synthetic": "bool",
    "stored_by": "text",
    "stored_at": "timestamptz",
    "import_id": "int4",
    "reason": "text",
    "current": "bool",
}
_KEY = ("region", "period", "element")


def bulk_insert(
    session: Session, frame: pd.DataFrame, constants: dict[str, Any] | None = None
) -> None:
    """Append rows to data_values in the session's transaction: binary COPY on PostgreSQL,
    one executemany on SQLite.

    ``frame`` holds the columns that differ from row to row, ``constants`` those that every row
    shares (who, when, which import): they are encoded once, not a million times. The rows go in
    in the order of the table's one index (element, period, region), which is then appended to
    rather than updated at random places.
    """
    constants = dict(constants or {})
    missing = [c for c in _COLUMNS if c not in frame and c not in constants]
    unknown = [c for c in constants if c not in _COLUMNS]
    if missing or unknown:
        raise ValueError(f"bulk_insert: no value for {missing}, unknown columns {unknown}")
    if frame.empty:
        return
    keys = {c: pd.factorize(frame[c].to_numpy(dtype=object), sort=True) for c in _KEY}
    order = np.lexsort([keys[c][0] for c in _KEY])  # the last key sorts first: element
    per_row = [c for c in _COLUMNS if c in frame and c not in constants]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        columns: dict[str, Any] = {
            c: pd.Categorical.from_codes(keys[c][0][order], keys[c][1]) for c in _KEY
        }
        columns.update({c: frame[c].to_numpy()[order] for c in per_row if c not in _KEY})
        columns.update(constants)
        raw = conn.connection.driver_connection
        _copy(raw, {c: columns[c] for c in _copy_order(per_row, constants)})
        return
    _executemany(conn, frame, per_row, order, constants)


def _copy_order(per_row: list[str], constants: dict[str, Any]) -> list[str]:
    """COPY's column list: the keys, the figure, the other per-row columns, then the constants
    (neighbouring columns with few distinct combinations are encoded together)."""
    first = [c for c in (*_KEY, "value") if c in per_row]
    return first + [c for c in per_row if c not in first] + list(constants)


def _copy(raw: Any, columns: dict[str, Any]) -> None:
    """Stream the rows to COPY FROM STDIN (FORMAT binary) on the session's own connection (same
    transaction); a writer thread sends one piece while the next is built."""
    from psycopg.copy import QueuedLibpqWriter

    names = ", ".join(columns)
    data = pgcopy.encode(
        [(_PG_TYPES[c], v) for c, v in columns.items()], encoding=raw.info.encoding
    )
    with raw.cursor() as cur:
        sql = f"COPY data_values ({names}) FROM STDIN (FORMAT binary)"
        with cur.copy(sql, writer=QueuedLibpqWriter(cur)) as copy:
            for piece in data:
                copy.write(piece)


def _executemany(
    conn: Any, frame: pd.DataFrame, per_row: list[str], order: np.ndarray, constants: dict[str, Any]
) -> None:
    """One executemany binding only the per-row columns; the constants are SQL literals that
    SQLite itself quoted (``quote()``), so they are neither bound nor converted per row."""
    literals = {}
    for name, value in constants.items():
        if name == "stored_at":
            value = pd.Timestamp(value).tz_convert(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        elif name in ("synthetic", "current"):
            value = int(bool(value))
        literals[name] = conn.exec_driver_sql("SELECT quote(?)", (value,)).scalar_one()
    lists = []
    for c in per_row:
        col = frame[c].to_numpy()[order]
        if c in ("synthetic", "current"):
            col = col.astype(int)
        elif c == "stored_at":
            col = np.array(
                [pd.Timestamp(v).tz_convert(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for v in col]
            )
        lists.append(col.tolist())
    names = ", ".join([*per_row, *literals])
    values = ", ".join(["?"] * len(per_row) + list(literals.values()))
    conn.exec_driver_sql(
        f"INSERT INTO data_values ({names}) VALUES ({values})", list(zip(*lists, strict=True))
    )


# ---------------------------------------------------------------------------------------------
# Values, history, revert
# ---------------------------------------------------------------------------------------------


def _prefix(adcode: str) -> str:
    if adcode.endswith("0000"):
        return adcode[:2]
    if adcode.endswith("00"):
        return adcode[:4]
    return adcode


def _read_scope(actor: Actor, alias: str) -> tuple[str, str, dict[str, Any]]:
    """Joins and condition that restrict a read to what ``actor`` may see (region-scoped reads).

    The rule: inside the actor's region subtree every current value (drafts included); outside
    it only published figures, i.e. values whose region and period (or whole year) are approved.
    A county reporter thus never reads another county's drafts, through any endpoint or command,
    while everyone can read the approved figures that the commission publishes. An actor
    without a region (administrators, provincial analysts) sees everything: no condition.
    """
    if actor.region is None:
        return "", "", {}
    joins = (
        f" LEFT JOIN data_approvals sa ON sa.region = {alias}.region "
        f"AND sa.period = {alias}.period AND sa.status = :approved "
        f"LEFT JOIN data_approvals sy ON sy.region = {alias}.region "
        f"AND sy.period = SUBSTR({alias}.period, 1, 4) AND sy.status = :approved "
    )
    condition = f"({alias}.region LIKE :scope OR sa.region IS NOT NULL OR sy.region IS NOT NULL)"
    return joins, condition, {"scope": _prefix(actor.region) + "%", "approved": "approved"}


def current_values(
    db: str | None = None,
    *,
    actor: Actor,
    elements: Iterable[str] | None = None,
    region: str | None = None,
    period: str | None = None,
    session: Session | None = None,
) -> pd.DataFrame:
    """Current values (region subtree, period or its year's sub-periods), with status and lock.

    Only what ``actor`` may read: inside its region everything, outside only approved values
    (see :func:`_read_scope`). An unknown ``region`` raises :class:`NotFoundError`.
    """
    require(actor, "read")
    if session is None:
        with session_scope(db) as s:
            return current_values(
                actor=actor, elements=elements, region=region, period=period, session=s
            )
    where = ["v.current = :t", "v.value IS NOT NULL"]
    params: dict[str, Any] = {"t": True}
    if elements is not None:
        clause, names = _in_list("e", elements)
        where.append(f"v.element IN ({clause})")
        params.update(names)
    if region:
        _region_row(session, region)  # an unknown region is an error, not an empty answer
        where.append("v.region LIKE :r")
        params["r"] = _prefix(region) + "%"
    if period:
        where.append("(v.period = :p OR v.period LIKE :py)")
        params["p"], params["py"] = period, (period + "%") if len(period) == 4 else period
    scope_joins, scope_where, scope_params = _read_scope(actor, "v")
    if scope_where:
        where.append(scope_where)
        params.update(scope_params)
    sql = (
        "SELECT v.region, v.period, v.element, v.value, v.version, v.comment, v.source, "
        "v.synthetic, v.stored_by, v.stored_at, COALESCE(a.status, 'draft'), "
        "COALESCE(a.locked, :f) FROM data_values v LEFT JOIN data_approvals a "
        f"ON a.region = v.region AND a.period = v.period{scope_joins} "
        f"WHERE {' AND '.join(where)} ORDER BY v.region, v.period, v.element"
    )
    params["f"] = False
    cols = [
        "region",
        "period",
        "element",
        "value",
        "version",
        "comment",
        "source",
        "synthetic",
        "stored_by",
        "stored_at",
        "status",
        "locked",
    ]
    frame = _read_frame(session, sql, params, cols)
    frame["synthetic"] = frame["synthetic"].astype(bool)
    frame["locked"] = frame["locked"].astype(bool)
    return frame


def history(
    region: str,
    period: str,
    element: str | None = None,
    *,
    db: str | None = None,
    actor: Actor,
) -> dict[str, Any]:
    """Every version of the values of a region and period (who, when, old, new, why) and the
    approval events of that region and period from the audit log."""
    require(actor, "read", region)
    with session_scope(db) as session:
        _region_row(session, region)  # an unknown region is an error, not an empty history
        query = (
            select(DataValue, DataImport.file)
            .outerjoin(DataImport, DataImport.id == DataValue.import_id)
            .where(DataValue.region == region, DataValue.period == period)
            .order_by(DataValue.element, DataValue.version)
        )
        codes = [element] if element else sorted(load_definitions().storable_codes())
        query = query.where(DataValue.element.in_(codes))  # uses the (element, ...) index
        versions = []
        previous: dict[str, float | None] = {}
        for row, file in session.execute(query).all():
            versions.append(
                {
                    "element": row.element,
                    "version": row.version,
                    "old": previous.get(row.element),
                    "new": row.value,
                    "current": bool(row.current),
                    "stored_by": row.stored_by,
                    "stored_at": iso_utc(row.stored_at),
                    "source": row.source,
                    "comment": row.comment,
                    "reason": row.reason,
                    "import_id": row.import_id,
                    "file": file,
                    "synthetic": bool(row.synthetic),
                }
            )
            previous[row.element] = row.value
        events = audit_trail(session, entity="data_approvals", entity_key=f"{region}/{period}")
    return {
        "region": region,
        "period": period,
        "element": element,
        "versions": versions,
        "approvals": events,
    }


def revert(
    region: str,
    period: str,
    element: str,
    version: int,
    *,
    reason: str,
    actor: Actor,
    db: str | None = None,
) -> dict[str, Any]:
    """Restore version ``version`` of a value as a new version (the old one stays in history)."""
    require(actor, "write", region)
    if not reason.strip():
        raise HealthwatchError("Give a reason for the revert.", "请填写恢复的原因。")
    with session_scope(db, actor=actor.username) as session:
        _take_write_lock(session)
        rows = session.scalars(
            select(DataValue).where(
                DataValue.region == region,
                DataValue.period == period,
                DataValue.element == element,
            )
        ).all()
        target = next((r for r in rows if r.version == version), None)
        if target is None:
            raise NotFoundError(
                f"No version {version} of {element} for {region} {period}.",
                f"{region} {period} 的 {element} 没有第 {version} 版。",
            )
        if _is_locked(session, region, period):
            raise HealthwatchError(
                f"{region} {period} is approved and locked; an administrator must unlock it.",
                f"{region} {period} 已审核锁定，须由管理员解锁。",
            )
        current = next((r for r in rows if r.current), None)
        record = DataImport(
            file="",
            format="revert",
            actor=actor.username,
            rows=1,
            inserted=0,
            updated=1,
            unchanged=0,
            reason=f"revert {region}/{period}/{element} to version {version}: {reason}",
        )
        session.add(record)
        if current is not None:
            current.current = False
        session.flush()
        new = DataValue(
            region=region,
            period=period,
            element=element,
            version=max(r.version for r in rows) + 1,
            value=target.value,
            source=target.source,
            comment=target.comment,
            synthetic=target.synthetic,
            stored_by=actor.username,
            import_id=record.id,
            reason=f"恢复到第 {version} 版 / revert to version {version}: {reason}",
            current=True,
        )
        session.add(new)
        session.flush()
        return {
            "region": region,
            "period": period,
            "element": element,
            "restored_version": version,
            "new_version": new.version,
            "value": new.value,
        }


# ---------------------------------------------------------------------------------------------
# Approval workflow
# ---------------------------------------------------------------------------------------------

STATUS_ZH = {"draft": "草稿", "submitted": "已上报", "approved": "已审核"}


def _is_locked(session: Session, region: str, period: str) -> bool:
    keys = {(region, period), (region, period[:4])}
    return any(k in keys for k in _locked(session))


def _approval(session: Session, region: str, period: str, actor: str) -> DataApproval:
    row = session.scalar(
        select(DataApproval).where(DataApproval.region == region, DataApproval.period == period)
    )
    if row is None:
        row = DataApproval(
            region=region, period=period, status="draft", locked=False, updated_by=actor, comment=""
        )
        session.add(row)
    return row


def _region_row(session: Session, region: str) -> Region:
    row = session.get(Region, region)
    if row is None:
        raise NotFoundError(f"Unknown region {region}.", f"未知的地区 {region}。")
    return row


def _state(row: DataApproval) -> dict[str, Any]:
    return {
        "region": row.region,
        "period": row.period,
        "status": row.status,
        "status_zh": STATUS_ZH.get(row.status, row.status),
        "locked": bool(row.locked),
        "updated_by": row.updated_by,
        "comment": row.comment,
    }


def submit(
    region: str, period: str, *, actor: Actor, db: str | None = None, comment: str = ""
) -> dict[str, Any]:
    """draft -> submitted: the region's figures for the period are complete and sent up."""
    require(actor, "submit", region)
    with session_scope(db, actor=actor.username) as session:
        _region_row(session, region)
        n = session.scalar(
            select(func.count())
            .select_from(DataValue)
            .where(
                DataValue.element.in_(sorted(load_definitions().storable_codes())),
                DataValue.period == period,
                DataValue.region.like(_prefix(region) + "%"),  # its own or its counties'
                DataValue.current.is_(True),
            )
        )
        if not n:
            raise HealthwatchError(
                f"Neither {region} nor any region under it has values for {period}; import them "
                "before submitting.",
                f"{region} 及其下级地区在 {period} 期都没有数据，请先导入再上报。",
            )
        row = _approval(session, region, period, actor.username)
        if row.status != "draft":
            raise HealthwatchError(
                f"{region} {period} is already {row.status}.",
                f"{region} {period} 已是{STATUS_ZH[row.status]}状态。",
            )
        row.status, row.updated_by, row.comment = "submitted", actor.username, comment
        row.updated_at = datetime.now(UTC)
        session.flush()
        return _state(row)


def approve(
    region: str, period: str, *, actor: Actor, db: str | None = None, comment: str = ""
) -> dict[str, Any]:
    """submitted -> approved and locked; a parent only when all its children are approved."""
    require(actor, "approve", region)
    with session_scope(db, actor=actor.username) as session:
        reg = _region_row(session, region)
        row = _approval(session, region, period, actor.username)
        if row.status != "submitted":
            raise HealthwatchError(
                f"{region} {period} is {row.status}; only submitted figures can be approved.",
                f"{region} {period} 当前为{STATUS_ZH.get(row.status, row.status)}，"
                "只有已上报的数据才能审核。",
            )
        children = session.scalars(select(Region.adcode).where(Region.parent == reg.adcode)).all()
        if children:
            approved = set(
                session.scalars(
                    select(DataApproval.region).where(
                        DataApproval.period == period,
                        DataApproval.status == "approved",
                        DataApproval.region.in_(children),
                    )
                ).all()
            )
            waiting = sorted(set(children) - approved)
            if waiting:
                raise HealthwatchError(
                    f"{region} {period} cannot be approved before all regions under it: "
                    f"{', '.join(waiting)} not approved.",
                    f"{region} {period} 的下级地区尚未全部审核，不能审核：{'、'.join(waiting)}。",
                    [Problem(f"{c} not approved", f"{c} 未审核", field="region") for c in waiting],
                )
        row.status, row.locked, row.updated_by, row.comment = (
            "approved",
            True,
            actor.username,
            comment,
        )
        row.updated_at = datetime.now(UTC)
        session.flush()
        return _state(row)


def unlock(
    region: str, period: str, *, actor: Actor, reason: str, db: str | None = None
) -> dict[str, Any]:
    """Administrator only: approved -> draft, unlocked; the reason is kept in the audit log."""
    require(actor, "unlock", region)
    if not reason.strip():
        raise HealthwatchError("Give a reason for unlocking.", "请填写解锁的原因。")
    with session_scope(db, actor=actor.username) as session:
        row = _approval(session, region, period, actor.username)
        if not row.locked:
            raise HealthwatchError(
                f"{region} {period} is not locked.", f"{region} {period} 未锁定。"
            )
        row.status, row.locked, row.updated_by = "draft", False, actor.username
        row.comment = f"解锁 / unlocked: {reason}"
        row.updated_at = datetime.now(UTC)
        session.flush()
        return _state(row)


def status(
    period: str, *, region: str | None = None, db: str | None = None, actor: Actor
) -> list[dict[str, Any]]:
    """The workflow state of every region (in scope) for a period."""
    require(actor, "read", region)
    with session_scope(db) as session:
        rows = {
            r.region: r
            for r in session.scalars(select(DataApproval).where(DataApproval.period == period))
        }
        regions = _regions(session)
        out = []
        for adcode, level in zip(regions["adcode"], regions["level"], strict=True):
            if region and not adcode.startswith(_prefix(region)):
                continue
            if not in_region_scope(actor, adcode):
                continue
            row = rows.get(adcode)
            out.append(
                {
                    "region": adcode,
                    "level": level,
                    "period": period,
                    "status": row.status if row else "draft",
                    "locked": bool(row.locked) if row else False,
                }
            )
        return out


# ---------------------------------------------------------------------------------------------
# Aggregation and completeness
# ---------------------------------------------------------------------------------------------


def aggregate(
    indicator: str,
    *,
    db: str | None = None,
    periods: list[str] | None = None,
    region: str | None = None,
    session: Session | None = None,
    actor: Actor,
) -> list[dict[str, Any]]:
    """Own figure, aggregate from counties, completeness and gap for every region and period.

    Computed from what ``actor`` may read (:func:`_read_scope`): outside its region only approved
    values enter the sums, so an aggregate never reveals another region's drafts.
    """
    require(actor, "read")
    defs = load_definitions()
    ind = defs.indicator(indicator)
    if ind is None:
        raise NotFoundError(
            f"No definition for indicator {indicator}.", f"没有指标 {indicator} 的定义。"
        )
    if session is None:
        with session_scope(db) as s:
            return aggregate(indicator, periods=periods, region=region, session=s, actor=actor)
    codes = {*ind.elements(), ind.code}
    clause, params = _in_list("e", codes)
    scope_joins, scope_where, scope_params = _read_scope(actor, "v")
    values = _read_frame(
        session,
        f"SELECT v.region, v.period, v.element, v.value FROM data_values v{scope_joins} "
        f"WHERE v.current = :t AND v.value IS NOT NULL AND v.element IN ({clause})"
        + (f" AND {scope_where}" if scope_where else ""),
        {**params, **scope_params, "t": True},
        ["region", "period", "element", "value"],
    )
    if periods:
        values = values[values["period"].isin(periods)]
    frame = aggregate_indicator(values, ind, _regions(session), periods)
    if region:
        frame = frame[frame["region"].str.startswith(_prefix(region))]
    return to_records(frame)


def plan_indicator_codes(plan_id: str | None) -> list[str]:
    """The indicator codes of a plan (or of all packaged plans) that have a definition."""
    from healthwatch.plans import builtin_plans

    defs = load_definitions()
    plans = [p for p in builtin_plans() if plan_id is None or p.id == plan_id]
    if plan_id is not None and not plans:
        raise NotFoundError(f"No plan {plan_id}.", f"没有规划 {plan_id}。")
    codes: list[str] = []
    for plan in plans:
        for ind in plan.indicators:
            if ind.code in defs.indicators and ind.code not in codes:
                codes.append(ind.code)
    return codes


def completeness(
    period: str,
    *,
    plan: str | None = None,
    region: str | None = None,
    db: str | None = None,
    actor: Actor,
) -> list[dict[str, Any]]:
    """Per indicator and region: how many counties under it reported, and which did not
    (counting, outside ``actor``'s region, only approved values)."""
    out = []
    with session_scope(db) as session:
        for code in plan_indicator_codes(plan):
            rows = aggregate(code, periods=[period], region=region, session=session, actor=actor)
            for row in rows:
                if row["level"] == "county":
                    continue
                out.append(
                    {
                        k: row[k]
                        for k in (
                            "indicator",
                            "region",
                            "level",
                            "period",
                            "counties_reported",
                            "counties_total",
                            "completeness",
                            "missing_counties",
                        )
                    }
                )
    return out


def plan_elements(plan: str | None) -> set[str]:
    defs = load_definitions()
    codes: set[str] = set()
    for code in plan_indicator_codes(plan):
        ind = defs.indicators[code]
        codes.update(ind.elements())
        codes.add(code)
    return codes


# ---------------------------------------------------------------------------------------------
# Export and the Excel template
# ---------------------------------------------------------------------------------------------


def export(
    path: Path | str,
    *,
    format: str = "csv",
    plan: str | None = None,
    region: str | None = None,
    period: str | None = None,
    actor: Actor,
    db: str | None = None,
) -> dict[str, Any]:
    """Write current values (optionally one plan's, a region subtree's, a period's) to a file."""
    from healthwatch.data.export import EXPORT_FORMATS, write_export

    if format not in EXPORT_FORMATS:
        raise InputError(
            [
                Problem(
                    f"unknown export format {format!r} (use {', '.join(EXPORT_FORMATS)})",
                    f"未知的导出格式 {format!r}（可用：{'、'.join(EXPORT_FORMATS)}）",
                    field="format",
                )
            ]
        )
    require(actor, "read")
    elements = plan_elements(plan) if plan else None
    # outside the actor's region only approved values (the rule of current_values)
    values = current_values(db, actor=actor, elements=elements, region=region, period=period)
    n = write_export(values, path, format, load_definitions(), data_set=plan or "")
    return {
        "file": str(path),
        "format": format,
        "values": len(values),
        "written": n,
        "plan": plan,
        "region": region,
        "period": period,
    }


def template(
    path: Path | str,
    *,
    plan: str,
    region: str,
    year: int,
    actor: Actor,
    db: str | None = None,
) -> dict[str, Any]:
    """Write the Excel template for ``plan``, ``region``, ``year`` with last year's values."""
    from healthwatch.data.excel import write_template
    from healthwatch.plans import builtin_plans

    require(actor, "read", region)
    found = [p for p in builtin_plans() if p.id == plan]
    if not found:
        raise NotFoundError(f"No plan {plan}.", f"没有规划 {plan}。")
    with session_scope(db) as session:
        region_name = _region_row(session, region).name
        prev = current_values(actor=actor, region=region, period=str(year - 1), session=session)
    prev = prev[(prev["region"] == region) & (prev["period"] == str(year - 1))]
    last = dict(zip(prev["element"], prev["value"].astype(float), strict=True))
    return write_template(
        path,
        plan=found[0],
        region=region,
        region_name=region_name,
        year=year,
        defs=load_definitions(),
        last_year=last,
    )


# ---------------------------------------------------------------------------------------------
# The plans' baselines and the demo panel
# ---------------------------------------------------------------------------------------------


def load_demo_data(db: str | None = None, *, actor: Actor) -> dict[str, Any]:
    """Load the plans' stated baselines (real, with their source sentence) and the synthetic
    2015–2025 panel (marked synthetic) through the ordinary validated import.

    Running it again changes nothing. Returns counts and the warnings the validation raised on
    the panel (the planted outlier among them).
    """
    from healthwatch.data.synthetic import PANEL_SOURCE, PLANTED, baseline_values, demo_panel

    defs = load_definitions()
    baselines = baseline_values()
    base = import_values(
        Incoming(
            baselines.assign(value=baselines["value"].map(repr), line=0), "plans:baselines", "plan"
        ),
        actor=actor,
        db=db,
        defs=defs,
        reason="规划文本中的基线值 / baselines stated in the plans",
    )
    panel = demo_panel(defs=defs)
    keys = set(zip(baselines["region"], baselines["period"], baselines["element"], strict=True))
    own = pd.Series(
        [k in keys for k in zip(panel["region"], panel["period"], panel["element"], strict=True)],
        index=panel.index,
    )
    panel = panel[~own]
    frame = panel.assign(value=panel["value"].map(repr), comment="", source=PANEL_SOURCE, line=0)
    synthetic = import_values(
        Incoming(frame.reset_index(drop=True), "synthetic:demo-panel", "synthetic"),
        actor=actor,
        db=db,
        defs=defs,
        synthetic=True,
        reason="演示用模拟数据 / synthetic demo panel",
    )
    kinds: dict[str, int] = {}
    for w in synthetic.warnings:
        kinds[w["kind"]] = kinds.get(w["kind"], 0) + 1
    return {
        "baselines": {"values": base.rows, "inserted": base.inserted},
        "synthetic": {
            "values": synthetic.rows,
            "inserted": synthetic.inserted,
            "years": "2015–2025",
            "source": PANEL_SOURCE,
            "planted": PLANTED,
            "warnings_by_kind": kinds,
        },
    }


# ---------------------------------------------------------------------------------------------
# Uploads (the web app)
# ---------------------------------------------------------------------------------------------


def import_upload(
    path: Path | str,
    name: str,
    *,
    actor: Actor,
    db: str | None = None,
    format: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import an uploaded file saved at ``path`` under the name the user gave it.

    Why not :func:`import_file`: the upload lies in a temporary folder, and the user must see
    their own file name (``births.csv``), not the server's temporary path, in every problem of
    the error report, in the result and in the import record that history shows.
    """
    started = time.perf_counter()
    p = Path(path)
    shown = Path(name).name or p.name
    defs = load_definitions()
    try:
        incoming = read_incoming(p, format, None, defs)
    except HealthwatchError as exc:
        exc.problems = [_shown_as(problem, str(p), shown) for problem in exc.problems]
        raise
    incoming.file = shown
    try:
        result = import_values(incoming, actor=actor, db=db, dry_run=dry_run, defs=defs,
                               sha256=_sha256(p))  # fmt: skip
    except HealthwatchError as exc:
        exc.problems = [_shown_as(problem, str(p), shown) for problem in exc.problems]
        raise
    result.seconds = time.perf_counter() - started
    return result


def _shown_as(problem: Problem, path: str, shown: str) -> Problem:
    """``problem`` naming the uploaded file as the user named it."""
    from dataclasses import replace

    if problem.file and path in problem.file:
        return replace(problem, file=problem.file.replace(path, shown))
    return problem
