"""Filling a database with the built-in reference data: Liaoning's regions, populations, plans.

Why here and not in :mod:`healthwatch.store.db`: opening a session must never write (a read
command on a fresh database would otherwise silently fill it), and the store must not import the
file readers. Loading is an explicit step, run by ``healthwatch demo`` (which also adds the
synthetic county split) and by whoever prepares a database on purpose.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthwatch.data.populations import builtin_city_populations
from healthwatch.plans.loader import builtin_plans
from healthwatch.regions.hierarchy import liaoning_regions
from healthwatch.regions.population import BUILTIN_SOURCE
from healthwatch.store.db import session_scope
from healthwatch.store.models import Plan
from healthwatch.store.plans import save_plan
from healthwatch.store.regions import populations, save_populations, save_regions

SEED_ACTOR = "system:seed"


def load_builtin(session: Session, *, actor: str = SEED_ACTOR) -> dict[str, int]:
    """Add Liaoning's regions, its 2021 city populations and both plans where missing.

    What is already stored is left alone (a stored population or plan is never replaced), so
    running it twice changes nothing. Returns how many regions, populations and plans were
    written.
    """
    loaded = {"regions": save_regions(session, liaoning_regions(), actor=actor)}
    rows = builtin_city_populations()
    stored = {year: populations(session, year) for year in {r.year for r in rows}}
    missing = [r for r in rows if r.adcode not in stored[r.year]]
    loaded["populations"] = save_populations(session, missing, actor=actor, source=BUILTIN_SOURCE)
    present = set(session.scalars(select(Plan.id)))
    loaded["plans"] = 0
    for plan in builtin_plans():
        if plan.id not in present:
            save_plan(session, plan, actor=actor)
            loaded["plans"] += 1
    return loaded


def install_builtin(db: str | None = None, *, actor: str = SEED_ACTOR) -> dict[str, int]:
    """Create (or migrate) ``db`` and :func:`load_builtin` into it, in one transaction."""
    with session_scope(db, actor=actor, create=True) as session:
        return load_builtin(session, actor=actor)
