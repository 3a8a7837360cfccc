"""Plans as an application service: loading plan files into the store and checking stored plans.

Why here and not in ``store/``: loading reads users' files (the YAML loader) and checking runs the
consistency rules of ``plans.checks`` with the stored populations; the store only persists
validated plans. The CLI (``healthwatch plans load|check``), the web app and the evaluation
service call these functions.

>>> import tempfile, pathlib
>>> from healthwatch.services.database import install_builtin
>>> from healthwatch.store.db import session_scope
>>> db = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'hw.sqlite'}"
>>> _ = install_builtin(db)
>>> with session_scope(db) as session:
...     kinds = {f.kind for f in check_stored_plans(session)}
>>> "looser-than-parent" in kinds
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from healthwatch.plans.checks import Finding, check_selected
from healthwatch.plans.loader import default_known_adcodes, load_plan_files
from healthwatch.plans.model import Plan as PlanModel
from healthwatch.store.db import session_scope
from healthwatch.store.plans import get_plan, list_plans, save_plan, stored_plan
from healthwatch.store.regions import populations
from healthwatch.users import Actor, require

__all__ = ["check_stored_plans", "import_plan_file", "import_plan_files"]


def check_stored_plans(session: Session, plan_ids: Iterable[str] | None = None) -> list[Finding]:
    """Consistency checks on the stored plans (default: all), with the stored populations.

    Populations are those of the plans' earliest year that has any (start, base or end year),
    so the implied-rate check runs whenever populations are loaded. An unknown id raises the
    bilingual :class:`~healthwatch.errors.NotFoundError` of :func:`get_plan`.
    """
    known = {r["id"]: stored_plan(session, r["id"]) for r in list_plans(session)}
    for plan_id in plan_ids or ():
        if plan_id not in known:
            get_plan(session, plan_id)
    pops: dict[str, float] = {}
    years = {y for p in known.values() for y in (p.start_year, p.base_year, p.end_year)}
    for year in sorted(years):
        found = populations(session, year)
        if found:
            pops = dict(found)
            break
    return check_selected(known, plan_ids or None, pops)


def import_plan_file(
    path: str | Path, *, actor: Actor, db: str | None = None
) -> tuple[PlanModel, int]:
    """Validate a YAML/JSON plan file, then store it as a new version: (plan, version number).

    See :func:`import_plan_files`; the plan's parent must already be stored.
    """
    ((plan, version),) = import_plan_files([path], actor=actor, db=db)
    return plan, version


def import_plan_files(
    paths: Sequence[str | Path], *, actor: Actor, db: str | None = None
) -> list[tuple[PlanModel, int]]:
    """Validate plan files together and store each as a new version, parents first.

    Every file is checked before the database is opened, and the actor must be allowed to
    write in each plan's region; then, in the same transaction and before anything is written,
    each plan's parent must be stored or among ``paths`` (and the parents must not form a
    cycle). A bad file, a refused region or a missing parent writes nothing at all.
    """
    adcodes = default_known_adcodes()
    for plan in load_plan_files(paths, adcodes):
        require(actor, "write", plan.region)
    with session_scope(db, actor=actor.username, create=True) as session:
        stored = {r["id"]: get_plan(session, r["id"]).get("parent") for r in list_plans(session)}
        plans = load_plan_files(paths, adcodes, stored)
        return [(plan, save_plan(session, plan, actor=actor.username)) for plan in plans]
