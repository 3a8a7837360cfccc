"""The audit trail: every insert, update and delete of an audited row, with actor and time.

Why automatic: an audit trail written by hand in each store function misses the one change that
someone forgets. Instead a session ``after_flush`` hook looks at every new, changed and deleted
object of an audited model (``__audited__ = True``) and writes one ``audit_log`` row each, in the
same transaction, so the audit row exists exactly when the change does. The actor is taken from
``session.info["actor"]`` (set it with :func:`acting_as`); it defaults to ``"system"``.

The hook is registered on :class:`AuditedSession` only (the class that
:func:`healthwatch.store.db.session_scope` opens), not on SQLAlchemy's ``Session``: importing
healthwatch must not change the behaviour of every other session in the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session

from healthwatch.store.models import AuditEntry, Base, utcnow
from healthwatch.store.quick import QuickRead, ReadConnection

DEFAULT_ACTOR = "system"


def iso_utc(value: datetime) -> str:
    """ISO 8601 with the UTC offset (SQLite returns stored UTC times without one)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_dict(obj: Base) -> dict[str, Any]:
    """The object's column values, JSON-ready."""
    mapper = inspect(type(obj))
    return {attr.key: _jsonable(getattr(obj, attr.key)) for attr in mapper.column_attrs}


def _inserted(obj: Base) -> dict[str, Any]:
    """What the audit row of an insert keeps: every column, or the ``__audit_fields__`` of a
    model whose rows carry a large immutable document (an evaluation's result) that the
    row itself already keeps."""
    fields = getattr(type(obj), "__audit_fields__", None)
    values = row_dict(obj)
    return values if fields is None else {k: values[k] for k in fields}


def _before_dict(obj: Base) -> tuple[dict[str, Any], bool]:
    """Column values before the pending change, and whether any column really changed."""
    state = inspect(obj)
    before: dict[str, Any] = {}
    changed = False
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if hist.deleted:
            before[attr.key] = _jsonable(hist.deleted[0])
            changed = changed or hist.added != hist.deleted
        elif hist.added:
            # Value was never loaded before the change: the old value is unknown.
            before[attr.key] = None
            changed = True
        else:
            before[attr.key] = _jsonable(getattr(obj, attr.key))
    return before, changed


def _audited(obj: object) -> bool:
    return isinstance(obj, Base) and bool(getattr(obj, "__audited__", False))


class AuditedSession(Session):
    """A session whose flushes write audit rows (see the module docstring)."""


@event.listens_for(AuditedSession, "after_flush")
def _write_audit_rows(session: Session, flush_context: Any) -> None:
    actor = str(session.info.get("actor") or DEFAULT_ACTOR)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if _audited(obj):
            rows.append(_entry(obj, "insert", actor, now, None, _inserted(obj)))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            before, changed = _before_dict(obj)
            if changed:
                rows.append(_entry(obj, "update", actor, now, before, row_dict(obj)))
    for obj in session.deleted:
        if _audited(obj):
            rows.append(_entry(obj, "delete", actor, now, row_dict(obj), None))
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def _entry(
    obj: Base,
    action: str,
    actor: str,
    at: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "entity": obj.__tablename__,
        "entity_key": obj.audit_key(),
        "before": before,
        "after": after,
    }


@contextmanager
def acting_as(session: Session, actor: str) -> Iterator[None]:
    """Attribute the changes flushed inside the block to ``actor``."""
    previous = session.info.get("actor")
    session.info["actor"] = actor
    try:
        session.flush()  # changes made before the block keep their own actor
        yield
        session.flush()
    finally:
        session.info["actor"] = previous


def audit_trail(
    session: Session,
    *,
    entity: str | None = None,
    entity_key: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Audit rows, oldest first, optionally for one table and/or one row key."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_key is not None:
        query = query.where(AuditEntry.entity_key == entity_key)
    if limit is not None:
        query = query.limit(limit)
    return [
        {
            "id": e.id,
            "at": iso_utc(e.at),
            "actor": e.actor,
            "action": e.action,
            "entity": e.entity,
            "entity_key": e.entity_key,
            "before": e.before,
            "after": e.after,
        }
        for e in session.scalars(query)
    ]


def revert_change(session: Session, audit_id: int, *, actor: str) -> dict[str, Any]:
    """Undo one audited change to a region, population or facility (the undo is audited too).

    An insert is undone by deleting the row, an update by writing the ``before`` values back, a
    delete by inserting the row again. Plans are restored with
    :func:`healthwatch.store.plans.restore_plan_version` instead, which also rebuilds indicators.
    Returns the audit entry that was undone.
    """
    from healthwatch.errors import HealthwatchError, NotFoundError
    from healthwatch.store.models import Facility, Population, Region

    entry = session.get(AuditEntry, audit_id)
    if entry is None:
        raise NotFoundError(f"No audit entry {audit_id}.", f"没有编号为 {audit_id} 的审计记录。")
    models: dict[str, type[Region] | type[Population] | type[Facility]] = {
        "regions": Region,
        "populations": Population,
        "facilities": Facility,
    }
    model = models.get(entry.entity)
    if model is None:
        raise HealthwatchError(
            f"Changes to {entry.entity} cannot be undone one by one; restore a plan version "
            "with restore_plan_version instead.",
            f"{entry.entity} 的修改不能逐条撤销；规划请用 restore_plan_version 恢复到某一版本。",
        )
    pk = model.__mapper__.primary_key[0].key
    key = (entry.after or entry.before or {})[pk]
    row = session.get(model, key)
    already = HealthwatchError(
        f"Audit entry {audit_id} ({entry.action} of {entry.entity} {entry.entity_key}) cannot be "
        "undone: the row is no longer as that change left it (already undone, or changed "
        "since). See the history for the later change.",
        f"审计记录 {audit_id}（{entry.entity} {entry.entity_key} 的 {entry.action}）无法撤销："
        "该行已不是这次变更后的状态（已撤销过，或之后又被修改）。请查看变更记录中的后续变更。",
    )
    with acting_as(session, actor):
        if entry.action == "delete":
            if row is not None:
                raise already
            session.add(model(**entry.before))
        else:
            if row is None:
                raise already
            now = row_dict(row)
            if any(now.get(k) != v for k, v in (entry.after or {}).items()):
                raise already
            if entry.action == "insert":
                session.delete(row)
            else:
                for name, value in (entry.before or {}).items():
                    if name != pk:
                        setattr(row, name, value)
    return {"id": entry.id, "action": entry.action, "entity": entry.entity, "key": entry.entity_key}


_NEWEST = QuickRead(select(func.max(AuditEntry.id).label("newest")))


def latest_change(conn: ReadConnection) -> int:
    """The id of the newest audit row (0 for none): it grows with every audited change.

    Why: the web app keeps the serialised answers of its dashboard endpoints (plans, regions,
    populations, facilities are all audited) and reuses them until this number changes, one
    index lookup instead of rebuilding the answer. ``conn`` comes from
    :func:`healthwatch.store.db.read_connection`.
    """
    return int(conn.first(_NEWEST).newest or 0)
