"""Evaluation on stored indicator data: the demo panel's counts, aggregated, never averaged.

The database holds the synthetic panel's county counts for three indicators (general
practitioners per 10,000 — the planted lagging binding indicator —, infant mortality and child
myopia), imported through the ordinary validated import. Everything else the plan evaluates
comes from its stated baselines, so the mix of sources is exercised too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import strict_json_loads

from healthwatch.data.elements import load_definitions
from healthwatch.data.synthetic import PLANTED, demo_panel
from healthwatch.regions.hierarchy import all_regions
from healthwatch.reports.charts import STATUS_COLOUR
from healthwatch.services.evaluate import evaluate_plan, write_report
from healthwatch.store.db import dispose_engine, session_scope
from healthwatch.users import LOCAL_ADMIN

PLAN = "liaoning-2021-2025"
LAGGING = PLANTED["lagging_binding_indicator"]["indicator"]  # gps_per_10000
MISSING = PLANTED["not_reported"]  # a county that has not reported 2025
INDICATORS = (LAGGING, "infant_mortality", "child_myopia")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """The demo panel's county counts of :data:`INDICATORS` (long: region, period, element)."""
    defs = load_definitions()
    elements = {e for code in INDICATORS for e in defs.indicators[code].elements()}
    frame = demo_panel(defs=defs)
    return frame[frame["element"].isin(elements)].reset_index(drop=True)


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory, panel) -> str:
    from healthwatch.services.data import import_file
    from healthwatch.services.database import install_builtin

    folder = tmp_path_factory.mktemp("stored")
    path = str(folder / "stored.sqlite")
    install_builtin(path)
    csv = folder / "panel.csv"
    panel.loc[:, ["region", "period", "element", "value"]].to_csv(csv, index=False)
    result = import_file(csv, actor=LOCAL_ADMIN, db=path, synthetic=True)
    assert result.inserted == len(panel)
    dispose_engine(path)
    return path


def _evaluate(db: str, as_of: int = 2025, **kw) -> dict:
    with session_scope(db) as s:
        return evaluate_plan(s, PLAN, as_of, store=False, **kw)


def _result(doc: dict, indicator: str, region: str) -> dict:
    return next(r for r in doc["results"] if r["indicator"] == indicator and r["region"] == region)


def test_planted_lagging_binding_indicator_is_warned_first_with_its_draggers(stored_db) -> None:
    doc = _evaluate(stored_db, 2024)
    head = _result(doc, LAGGING, "210000")
    assert head["binding"] and head["status"] == "lagging"
    assert head["latest"] == {
        "year": 2024,
        "value": pytest.approx(head["latest"]["value"]),
        "source": "aggregate",
        "missing_counties": [],
    }
    first = doc["warnings"][0]
    assert first["indicator"] == LAGGING and first["binding"]
    assert first["required_annual_change"]["percent"] > first["observed_annual_change"]["percent"]
    cities = {c for c, r in all_regions().items() if r.parent == "210000"}
    dragging = [d["region"] for d in first["regions_dragging"]]
    assert dragging and set(dragging) <= cities
    weights = [d["weighted_shortfall"] for d in first["regions_dragging"]]
    assert weights == sorted(weights, reverse=True)
    worst = all_regions()[dragging[0]].name
    assert worst in first["message_zh"] and dragging[0] in first["message_en"]
    # without --level the cities are evaluated for the warning, but reported only with --level
    assert {r["region"] for r in doc["results"]} == {"210000"}


def test_rates_are_recomputed_from_summed_counts_never_averaged(stored_db, panel) -> None:
    doc = _evaluate(stored_db, 2024, level="city")
    got = _result(doc, "infant_mortality", "210300")["latest"]
    anshan = panel[panel["region"].str.startswith("2103") & panel["period"].eq("2024")]
    wide = anshan.pivot_table(index="region", columns="element", values="value")
    summed = wide["infant_deaths"].sum() / wide["live_births"].sum() * 1000
    averaged = (wide["infant_deaths"] / wide["live_births"] * 1000).mean()
    assert abs(summed - averaged) > 1e-3  # the two differ, so the check below can tell
    assert got["value"] == pytest.approx(summed, rel=1e-12)
    assert got["source"] == "aggregate" and got["year"] == 2024


def test_an_unreported_county_is_named_and_the_plan_baselines_fill_the_rest(stored_db) -> None:
    doc = _evaluate(stored_db, 2025)
    assert doc["data_source"] == "store+plan_baselines"
    gps = _result(doc, LAGGING, "210000")["latest"]
    assert gps["year"] == int(MISSING["period"]) and gps["source"] == "partial_aggregate"
    assert gps["missing_counties"] == [MISSING["region"]]
    # physicians are not stored here: the plan's own figures, still lagging (seed-only verdict)
    phys = _result(doc, "physicians_per_1000", "210000")
    assert phys["latest"]["source"] == "plan_baseline" and phys["status"] == "lagging"
    assert doc["value_sources"]["plan_baseline"] > 0 and doc["value_sources"]["aggregate"] > 0


def test_data_version_covers_exactly_the_values_used(stored_db, tmp_path) -> None:
    from healthwatch.services.data import import_file

    db = str(tmp_path / "copy.sqlite")
    shutil.copy(stored_db, db)
    before_anshan = _evaluate(db, 2024, region="210300")["data_version"]
    before_province = _evaluate(db, 2024)["data_version"]
    before_2023 = _evaluate(db, 2023)["data_version"]
    changed = tmp_path / "changed.csv"
    changed.write_text("region,period,element,value\n210211,2024,gps,999\n", encoding="utf-8")
    assert import_file(changed, actor=LOCAL_ADMIN, db=db).updated == 1  # a new version
    dispose_engine(db)
    assert _evaluate(db, 2024, region="210300")["data_version"] == before_anshan  # Dalian
    assert _evaluate(db, 2023)["data_version"] == before_2023  # a later year
    assert _evaluate(db, 2024)["data_version"] != before_province  # in the province's sum


def test_cli_level_city_inequality_and_report_map(run_cli, stored_db, tmp_path) -> None:
    db = str(tmp_path / "copy.sqlite")
    shutil.copy(stored_db, db)
    out = run_cli("evaluate", "--plan", PLAN, "--as-of", "2025", "--level", "city", "--json",
                  "--db", db)  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = strict_json_loads(out.stdout)
    cities = {c for c, r in all_regions().items() if r.parent == "210000"}
    assert {r["region"] for r in doc["results"]} == cities | {"210000"}
    gps = [i for i in doc["inequality"] if i["indicator"] == LAGGING and i["year"] == 2025]
    assert len(gps) == 1 and gps[0]["n_regions"] == len(cities)
    assert {r["region"] for r in gps[0]["ranking"]} == cities
    assert doc["warnings"][0]["indicator"] == LAGGING
    # the report's map: every city lags on the planted binding indicator, so none is green
    html = Path(tmp_path / "r.html")
    with session_scope(db) as s:
        write_report(s, PLAN, 2025, "html", "zh", html)
    text = html.read_text(encoding="utf-8")
    svg = text[text.index("约束性指标中最差者") :]
    assert svg.count(f'fill="{STATUS_COLOUR["lagging"]}"') + svg.count(
        f'fill="{STATUS_COLOUR["moving_away"]}"'
    ) >= len(cities)
