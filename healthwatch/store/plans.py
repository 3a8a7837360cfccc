"""Plans in the database: versioned JSON documents, never overwritten.

:func:`save_plan` takes a validated :class:`healthwatch.plans.Plan` only (never a raw dict), so
every stored document passed the plan model's checks; it is stored as ``Plan.to_json()``. Each
distinct document (by SHA-256 of its canonical JSON) is stored
once as a numbered version; the plan row points at the current one. Saving an unchanged document
does nothing; saving one equal to an older version makes that version current again; restoring a
version just moves the pointer. Every change is in the audit trail.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from healthwatch.errors import InputError, NotFoundError, Problem
from healthwatch.plans.model import Plan as PlanModel
from healthwatch.store.audit import acting_as, iso_utc
from healthwatch.store.models import Indicator, Plan, PlanVersion


def document_sha256(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _indicator_rows(plan_id: str, version: int, document: dict[str, Any]) -> list[Indicator]:
    return [
        Indicator(
            plan_id=plan_id,
            version=version,
            position=i,
            code=str(item.get("code")),
            name_zh=str(item.get("name_zh") or ""),
            name_en=str(item.get("name_en") or ""),
            category_zh=str(item.get("category_zh") or ""),
            unit=str(item.get("unit") or ""),
            direction=str(item.get("direction") or ""),
            nature=str(item.get("nature") or ""),
            baselines=item.get("baselines"),
            target=item.get("target"),
        )
        for i, item in enumerate(document.get("indicators") or [])
    ]


def _make_current(session: Session, plan: Plan, version: PlanVersion) -> None:
    """Point the plan at ``version`` and rebuild its listing columns and indicator rows."""
    _set_listing(plan, version.version, version.document)
    session.execute(delete(Indicator).where(Indicator.plan_id == plan.id))
    session.add_all(_indicator_rows(plan.id, version.version, version.document))


def _set_listing(plan: Plan, number: int, doc: dict[str, Any]) -> None:
    plan.current_version = number
    plan.name_zh = str(doc.get("name_zh") or "")
    plan.name_en = str(doc.get("name_en") or "")
    plan.region = str(doc.get("region") or "")
    plan.start_year = doc.get("start_year")
    plan.end_year = doc.get("end_year")
    plan.indicator_count = len(doc.get("indicators") or [])


def save_plan(session: Session, plan: PlanModel, *, actor: str) -> int:
    """Store a validated plan; returns the plan's current version number afterwards.

    A new version is created only when the document differs from every stored version. Anything
    but a :class:`healthwatch.plans.Plan` is refused: a dict could hold anything.
    """
    if not isinstance(plan, PlanModel):
        raise InputError(
            [
                Problem(
                    f"save_plan takes a validated healthwatch.plans.Plan, not "
                    f"{type(plan).__name__}: check it with Plan.from_json or load_plan_file.",
                    f"save_plan 只接受经过校验的 healthwatch.plans.Plan，而不是 "
                    f"{type(plan).__name__}：请先用 Plan.from_json 或 load_plan_file 校验。",
                )
            ]
        )
    plan_json = plan.to_json()
    plan_id = plan.id
    digest = document_sha256(plan_json)
    with acting_as(session, actor):
        row = session.get(Plan, plan_id)
        if row is not None:
            current = _version_row(session, plan_id, row.current_version)
            if current.sha256 == digest:
                return row.current_version
            same = session.scalar(
                select(PlanVersion).where(
                    PlanVersion.plan_id == plan_id, PlanVersion.sha256 == digest
                )
            )
            if same is not None:
                _make_current(session, row, same)
                return same.version
        number = 1
        if row is None:
            row = Plan(id=plan_id)
            _set_listing(row, number, plan_json)
            session.add(row)
        else:
            last = session.scalar(
                select(func.max(PlanVersion.version)).where(PlanVersion.plan_id == plan_id)
            )
            number = int(last or 0) + 1
        session.flush()
        version = PlanVersion(
            plan_id=plan_id,
            version=number,
            document=json.loads(json.dumps(plan_json)),
            sha256=digest,
            actor=actor,
        )
        session.add(version)
        session.flush()
        _make_current(session, row, version)
    return number


def _not_found(plan_id: str, version: int | None = None) -> NotFoundError:
    if version is None:
        return NotFoundError(
            f"No plan {plan_id!r}. `healthwatch plans list` shows the stored plans.",
            f"没有规划 {plan_id!r}。可用 `healthwatch plans list` 查看已存的规划。",
        )
    return NotFoundError(
        f"Plan {plan_id!r} has no version {version}.",
        f"规划 {plan_id!r} 没有第 {version} 版。",
    )


def _version_row(session: Session, plan_id: str, version: int) -> PlanVersion:
    row = session.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id, PlanVersion.version == version)
    )
    if row is None:
        raise _not_found(plan_id, version)
    return row


def list_plans(session: Session) -> list[dict[str, Any]]:
    """One row per plan (current version): id, names, region, years, number of indicators."""
    return [
        {
            "id": p.id,
            "name_zh": p.name_zh,
            "name_en": p.name_en,
            "region": p.region,
            "start_year": p.start_year,
            "end_year": p.end_year,
            "indicators": p.indicator_count,
            "version": p.current_version,
        }
        for p in session.scalars(select(Plan).order_by(Plan.id))
    ]


def get_plan(session: Session, plan_id: str, version: int | None = None) -> dict[str, Any]:
    """The plan document (current version, or the given one); NotFoundError if absent."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise _not_found(plan_id)
    row = _version_row(session, plan_id, plan.current_version if version is None else version)
    return dict(row.document)


def plan_versions(session: Session, plan_id: str) -> list[dict[str, Any]]:
    """Every stored version of a plan, oldest first, with which one is current."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise _not_found(plan_id)
    rows = session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.version)
    )
    return [
        {
            "version": v.version,
            "sha256": v.sha256,
            "created_at": iso_utc(v.created_at),
            "actor": v.actor,
            "current": v.version == plan.current_version,
        }
        for v in rows
    ]


def restore_plan_version(session: Session, plan_id: str, version: int, *, actor: str) -> int:
    """Make an earlier version current again (nothing is deleted); returns ``version``."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise _not_found(plan_id)
    row = _version_row(session, plan_id, version)
    with acting_as(session, actor):
        if plan.current_version != version:
            _make_current(session, plan, row)
    return version


def plan_indicators(session: Session, plan_id: str) -> list[dict[str, Any]]:
    """The current version's indicators as stored in the normalised table, in document order."""
    if session.get(Plan, plan_id) is None:
        raise _not_found(plan_id)
    rows = session.scalars(
        select(Indicator).where(Indicator.plan_id == plan_id).order_by(Indicator.position)
    )
    return [
        {
            "code": r.code,
            "name_zh": r.name_zh,
            "name_en": r.name_en,
            "category_zh": r.category_zh,
            "unit": r.unit,
            "direction": r.direction,
            "nature": r.nature,
            "baselines": r.baselines,
            "target": r.target,
        }
        for r in rows
    ]


def stored_plan(session: Session, plan_id: str, version: int | None = None) -> PlanModel:
    """A stored plan version (default: the current one) as the checked plan model."""
    return PlanModel.from_json(get_plan(session, plan_id, version))
