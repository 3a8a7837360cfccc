"""A plan evaluated for its cities: warnings name the cities dragging the aggregate down,
inequality across cities is measured and ranked, and every method sees every region."""

from __future__ import annotations

import pandas as pd
import pytest

from healthwatch.evaluate.early_warning import early_warnings
from healthwatch.evaluate.plan import evaluate_values
from healthwatch.plans import builtin_plans
from healthwatch.regions.hierarchy import descendants

PROVINCE = "210000"


@pytest.fixture(scope="module")
def evaluation():
    plan = builtin_plans()[0]
    cities = [r.adcode for r in descendants(PROVINCE) if r.level == "city"][:4]
    # GPs per 10,000 (binding, >= 4.6 by 2025) from 3.0 in 2020: the province and two cities
    # lag; city 3 moves away; city 4 is on schedule.
    paths = {
        PROVINCE: [3.0, 3.2, 3.4, 3.6],
        cities[0]: [2.5, 2.6, 2.7, 2.8],
        cities[1]: [3.0, 3.1, 3.2, 3.3],
        cities[2]: [3.5, 3.4, 3.3, 3.2],
        cities[3]: [3.2, 3.6, 4.0, 4.4],
    }
    rows = [
        {"indicator": "gps_per_10000", "region": r, "year": 2020 + k, "value": v}
        for r, vals in paths.items()
        for k, v in enumerate(vals)
    ]
    pops = {cities[0]: 8e6, cities[1]: 1e6, cities[2]: 3e6, cities[3]: 2e6}
    ev = evaluate_values(
        plan, pd.DataFrame(rows), 2023, regions=[PROVINCE, *cities], populations=pops
    )
    return plan, cities, pops, ev


def test_status_per_region(evaluation) -> None:
    _, cities, _, ev = evaluation
    gps = {r["region"]: r for r in ev.results if r["indicator"] == "gps_per_10000"}
    assert gps[PROVINCE]["status"] == "lagging"  # 0.6 of 1.6 covered at 60 % of the time
    assert gps[cities[2]]["status"] == "moving_away"
    assert gps[cities[3]]["status"] == "on_schedule"
    assert gps[PROVINCE]["forecast"]["value"] is not None  # four reports: a forecast
    # the status in every year with a report, judged on the data up to that year
    assert gps[cities[3]]["status_by_year"] == {
        "2021": "on_schedule",  # 0.4 of 1.4 covered at 20 % of the time
        "2022": "on_schedule",
        "2023": "on_schedule",
    }
    assert gps[cities[2]]["status_by_year"]["2021"] == "moving_away"
    assert gps[PROVINCE]["status_by_year"]["2021"] == "lagging"  # 0.2/1.6 = 12.5 % < 20 %


def test_warning_names_the_cities_dragging(evaluation) -> None:
    _plan, cities, pops, ev = evaluation
    warns = early_warnings(ev.results, PROVINCE, pops)
    w = next(w for w in warns if w["indicator"] == "gps_per_10000")
    assert warns[0]["binding"] is True
    dragging = [d["region"] for d in w["regions_dragging"]]
    # below target and lagging or moving away, by population-weighted shortfall:
    # city 1: (4.6-2.8)*8e6 = 14.4e6; city 3: 1.4*3e6 = 4.2e6; city 2: 1.3*1e6 = 1.3e6
    assert dragging == [cities[0], cities[2], cities[1]]
    assert w["gap"] == pytest.approx(1.0)


def test_inequality_across_cities(evaluation) -> None:
    _, cities, _, ev = evaluation
    rows = [r for r in ev.inequality if r["indicator"] == "gps_per_10000" and r["year"] == 2023]
    assert len(rows) == 1
    r = rows[0]
    assert r["n_regions"] == 4
    assert r["best"] == pytest.approx(4.4) and r["worst"] == pytest.approx(2.8)
    mu = (2.8 * 8 + 3.3 * 1 + 3.2 * 3 + 4.4 * 2) / 14
    assert r["mean"] == pytest.approx(mu)
    assert r["par"] == pytest.approx(4.4 - mu)
    assert [x["region"] for x in r["ranking"]] == [cities[3], cities[1], cities[2], cities[0]]
