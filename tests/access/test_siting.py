"""LSCP / MCLP against PySAL spopt, MEXCLP against brute-force enumeration."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from conftest import import_or_fail_in_ci

from healthwatch.access.distance import RADIUS_TOLERANCE_KM, Reach, haversine_matrix
from healthwatch.access.siting import (
    Candidates,
    Demand,
    expected_coverage,
    lscp,
    mclp,
    mexclp,
)
from healthwatch.errors import InputError

pulp = import_or_fail_in_ci("pulp")  # the reference solver's modeller: skip locally, fail in CI
locate = import_or_fail_in_ci("spopt.locate")
pytestmark = pytest.mark.filterwarnings("ignore:PULP_CBC_CMD is deprecated")


def instance(seed: int, n: int, m: int, *, clustered: bool = True) -> tuple[Demand, Candidates]:
    """Small seeded instance around Shenyang: urban (5 km) and rural (15 km) demand points."""
    rng = np.random.default_rng(seed)
    if clustered:
        centres = rng.uniform([122.9, 41.4], [124.0, 42.3], (4, 2))
        xy = centres[rng.integers(0, 4, n)] + rng.normal(0, 0.08, (n, 2))
    else:
        xy = rng.uniform([122.9, 41.4], [124.0, 42.3], (n, 2))
    cxy = rng.uniform([122.9, 41.4], [124.0, 42.3], (m, 2))
    urban = rng.random(n) < 0.5
    pop = rng.integers(0, 5000, n).astype(float)
    return (
        Demand(
            xy[:, 0], xy[:, 1], pop, np.where(urban, 5.0, 15.0), ids=[f"d{i}" for i in range(n)]
        ),
        Candidates(cxy[:, 0], cxy[:, 1], ids=[f"c{j}" for j in range(m)]),
    )


def scaled_cost(demand: Demand, cand: Candidates) -> np.ndarray:
    """Cost matrix for spopt with radius 1: d_ij / S_i (exactly our per-demand-radius sets)."""
    lon, lat, _, radius = demand.arrays()
    c_lon, c_lat, _ = cand.arrays()
    dist = haversine_matrix(lon, lat, c_lon, c_lat)
    return dist / (radius + RADIUS_TOLERANCE_KM)[:, None]


def spopt_mclp(
    demand: Demand, cand: Candidates, p: int, predefined: np.ndarray | None = None
) -> float:
    pop = demand.arrays()[2]
    model = locate.MCLP.from_cost_matrix(
        scaled_cost(demand, cand), pop, service_radius=1.0, p_facilities=p,
        predefined_facilities_arr=predefined,
    )  # fmt: skip
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    return float(pulp.value(model.problem.objective))


def spopt_lscp(demand: Demand, cand: Candidates) -> float:
    model = locate.LSCP.from_cost_matrix(scaled_cost(demand, cand), service_radius=1.0)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    return float(pulp.value(model.problem.objective))


@pytest.mark.parametrize(
    ("seed", "n", "m", "p", "clustered"),
    [(1, 80, 20, 3, True), (2, 120, 25, 5, True), (3, 100, 30, 4, False), (4, 60, 15, 7, False)],
)
def test_mclp_objective_equals_spopt(seed: int, n: int, m: int, p: int, clustered: bool) -> None:
    demand, cand = instance(seed, n, m, clustered=clustered)
    result = mclp(demand, cand, p)
    assert result.status == "optimal"
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.objective == pytest.approx(spopt_mclp(demand, cand, p), abs=1e-6)
    # The reported selection really covers the objective's population with exactly p sites.
    assert len(result.new_sites) == p
    assert result.covered_population == pytest.approx(result.objective)


def test_mclp_existing_stations_are_fixed_and_match_spopt_predefined() -> None:
    demand, cand = instance(5, 120, 25)
    existing = np.zeros(25, dtype=int)
    existing[[2, 11]] = 1
    cand_e = Candidates(cand.lon, cand.lat, existing=existing, ids=cand.ids)
    result = mclp(demand, cand_e, 3)
    # spopt counts predefined facilities within p.
    reference = spopt_mclp(demand, cand, 3 + 2, predefined=existing.astype(bool))
    assert result.objective == pytest.approx(reference, abs=1e-6)
    assert {2, 11} <= set(result.site_index.tolist())
    assert len(result.new_sites) == 3 and len(result.site_index) == 5


def test_mclp_brute_force_tiny() -> None:
    demand, cand = instance(6, 40, 9)
    pop = demand.arrays()[2]
    a = (scaled_cost(demand, cand) <= 1.0).astype(float)
    best = max(
        float(pop[(a[:, list(c)].sum(axis=1) > 0)].sum())
        for c in itertools.combinations(range(9), 3)
    )
    assert mclp(demand, cand, 3).objective == pytest.approx(best)


@pytest.mark.parametrize(("seed", "n", "m"), [(11, 60, 40), (12, 90, 60), (14, 70, 50)])
def test_lscp_objective_equals_spopt(seed: int, n: int, m: int) -> None:
    demand, cand = instance(seed, n, m)
    lon, lat, pop, _ = demand.arrays()
    # Make it feasible: every demand point gets a generous 30 km radius in this test.
    demand = Demand(lon, lat, pop, 30.0, ids=demand.ids)
    result = lscp(demand, cand)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(spopt_lscp(demand, cand))
    assert result.covered.all()
    assert len(result.site_index) == round(result.objective or 0)


def test_lscp_existing_and_per_demand_radius() -> None:
    # Three points on a meridian; radii 5 km for the first, 15 km for the others.
    lat = np.array([41.0, 41.2, 41.4])
    demand = Demand([123.0] * 3, lat, [1, 1, 1], [5.0, 15.0, 15.0])
    # Candidate 0 at point 0; candidate 1 midway between points 1 and 2; candidate 2 8 km from
    # point 0 (outside its 5 km) but within 15 km of point 1.
    cand = Candidates([123.0, 123.0, 123.0], [41.0, 41.3, 41.072], existing=[1, 0, 0])
    result = lscp(demand, cand)
    assert result.objective == 2  # the existing one plus candidate 1
    assert result.site_index.tolist() == [0, 1]
    assert result.to_json()["new_sites"] == 1
    # Without the existing station the 5 km point still needs candidate 0 (candidate 2 is 8 km).
    result2 = lscp(demand, Candidates(cand.lon, cand.lat))
    assert result2.objective == 2 and 0 in result2.site_index


def test_infeasible_lscp_names_the_points() -> None:
    demand = Demand(
        [123.0, 123.0, 125.0], [41.0, 41.01, 43.0], [1, 1, 1], 5.0, ids=["a", "b", "far"]
    )
    cand = Candidates([123.0], [41.0])
    with pytest.raises(InputError) as err:
        lscp(demand, cand)
    text = err.value.render()
    assert "far" in text and "row 3" in text
    assert "a (row" not in text
    assert len(err.value.problems) == 1


def test_bad_input_rejected() -> None:
    with pytest.raises(InputError, match="population"):
        mclp(Demand([123.0], [41.0], [-5], 5.0), Candidates([123.0], [41.0]), 1)
    with pytest.raises(InputError, match="p = 3"):
        mclp(Demand([123.0], [41.0], [5], 5.0), Candidates([123.0], [41.0]), 3)
    with pytest.raises(InputError, match="q"):
        mexclp(Demand([123.0], [41.0], [5], 5.0), Candidates([123.0], [41.0]), 1, 1.0)


def brute_force_mexclp(reach: Reach, pop: np.ndarray, existing: np.ndarray, p: int, q: float,
                       cap: int | None) -> float:  # fmt: skip
    m = existing.size
    best = -1.0
    for combo in itertools.combinations_with_replacement(range(m), p):
        amb = existing.copy()
        for j in combo:
            amb[j] += 1
        if cap is not None and np.any(amb > np.maximum(existing, cap)):
            continue
        best = max(best, expected_coverage(reach, pop, amb, q))
    return best


@pytest.mark.parametrize(
    ("q", "cap", "with_existing"), [(0.3, None, False), (0.5, 2, True), (0.0, None, True)]
)
def test_mexclp_equals_brute_force(q: float, cap: int | None, with_existing: bool) -> None:
    demand, cand = instance(21, 50, 6)
    existing = np.array([1, 0, 0, 2, 0, 0]) if with_existing else np.zeros(6, dtype=int)
    cand = Candidates(cand.lon, cand.lat, existing=existing)
    lon, lat, pop, _ = demand.arrays()
    demand = Demand(lon, lat, pop, 20.0)
    result = mexclp(demand, cand, 4, q, max_per_site=cap)
    reach = Reach.from_dense(scaled_cost(demand, cand), 1.0)
    expected = brute_force_mexclp(reach, pop, existing, 4, q, cap)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(expected, rel=1e-9)
    amb = np.zeros(6, dtype=int)
    amb[result.site_index] = result.ambulances
    assert amb.sum() == existing.sum() + 4
    assert np.all(amb >= existing)
    assert expected_coverage(reach, pop, amb, q) == pytest.approx(expected, rel=1e-9)
    if cap is not None:
        assert np.all(amb <= np.maximum(existing, cap))


def test_json_and_geojson_are_stable_and_serialisable() -> None:
    demand, cand = instance(8, 50, 10)
    result = mclp(demand, cand, 2)
    data = result.to_json()
    for key in ("model", "status", "objective", "gap", "selected", "covered_population",
                "total_population", "seconds"):  # fmt: skip
        assert key in data
    assert data["model"] == "mclp"
    assert set(data["selected"][0]) >= {"id", "lon", "lat", "ambulances"}
    assert data["selected"][0]["id"].startswith("c")
    json.dumps(data)
    geo = result.to_geojson()
    json.dumps(geo)
    kinds = [f["properties"]["kind"] for f in geo["features"]]
    assert kinds.count("site") == 2
    assert kinds.count("demand") == int((~result.covered).sum())
