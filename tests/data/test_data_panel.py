"""The demo panel: built from counts, it gives every figure the plans state; problems planted."""

from __future__ import annotations

import pandas as pd
import pytest

from healthwatch.data.aggregate import aggregate_indicator
from healthwatch.data.elements import load_definitions
from healthwatch.data.synthetic import PANEL_YEARS, PLANTED, baseline_values, demo_panel
from healthwatch.plans import builtin_plans
from healthwatch.regions.hierarchy import liaoning_regions

DEFS = load_definitions()
REGIONS = pd.DataFrame(
    [(r.adcode, r.level, r.parent) for r in liaoning_regions()],
    columns=["adcode", "level", "parent"],
)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return demo_panel()


def _agg(panel: pd.DataFrame, code: str) -> pd.DataFrame:
    return aggregate_indicator(panel, DEFS.indicator(code), REGIONS).set_index(["region", "period"])


def test_every_county_year_and_element_is_there_except_the_planted_gap(panel):
    counties = panel[
        panel["region"].map(dict(zip(REGIONS.adcode, REGIONS.level, strict=True))).eq("county")
    ]
    per_key = counties.groupby(["region", "period"]).size()
    assert len(per_key) == 100 * len(PANEL_YEARS) - 1  # 211224 has not reported 2025
    assert ("211224", "2025") not in per_key.index
    used = {e for i in DEFS.indicators.values() for e in i.elements()}
    assert set(counties["element"]) == used


def test_aggregates_of_the_counts_give_every_stated_figure_to_the_printed_precision(panel):
    checked = 0
    for plan in builtin_plans():
        figures = [(i.code, b) for i in plan.indicators for b in i.baselines]
        figures += [(c.code, c.baseline) for c in plan.context_figures]
        for code, b in figures:
            d = DEFS.indicator(code)
            if d is None or b.year not in PANEL_YEARS or b.qualifier != "exact":
                continue
            row = _agg(panel, code).loc[(plan.region, str(b.year))]
            value = row["own"] if d.direct else row["aggregate"]
            decimals = len(repr(b.value).split(".")[1]) if "." in repr(b.value) else 0
            assert round(value, max(decimals, 1)) == pytest.approx(b.value), (plan.id, code, b.year)
            checked += 1
    assert checked >= 12


def test_rates_are_sums_of_counts_not_means_of_rates(panel):
    im = _agg(panel, "infant_mortality").loc[("210300", "2020")]
    counties = panel[
        (panel["period"] == "2020")
        & panel["region"].isin(REGIONS.loc[REGIONS.parent == "210300", "adcode"])
    ]
    wide = counties.pivot_table(index="region", columns="element", values="value")
    assert im["aggregate"] == pytest.approx(
        wide["infant_deaths"].sum() / wide["live_births"].sum() * 1000
    )


def test_planted_problems_can_be_found(panel):
    gps = _agg(panel, "gps_per_10000").loc[("210000", "2025")]
    assert gps["aggregate"] < PLANTED["lagging_binding_indicator"]["target"]
    o = PLANTED["outlier"]
    im = _agg(panel, "infant_mortality")
    series = im.loc[o["region"]]["own"]
    others = series.drop(o["period"])
    assert series[o["period"]] > 2.5 * others.median()
    gap = _agg(panel, "beds_per_1000").loc[("211200", "2024")]
    assert gap["gap_finding"] and gap["own"] > gap["aggregate"]
    missing = _agg(panel, "beds_per_1000").loc[("211200", "2025")]
    assert missing["missing_counties"] == ["211224"]


def test_baselines_carry_their_source_sentence():
    b = baseline_values()
    row = b[(b["region"] == "210000") & (b["element"] == "infant_mortality")].iloc[0]
    assert row["value"] == 3.4 and "婴儿死亡率" in row["source"] and row["period"] == "2020"
    assert (b["source"].str.len() > 20).all()
