"""The space-time permutation scan against an exhaustive computation of the same statistic.

The reference below is written independently of the numba kernel: it builds every circle from
its own distance computation (the chord between unit vectors instead of the haversine), sums every
cylinder's cases and expected cases cell by cell from the definition mu[d, z] = N_d N_z / C, and
evaluates the likelihood ratio from the two Poisson likelihoods. The Monte Carlo part is checked
against a plain numpy permutation (shuffling the dates of a case list).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from healthwatch.errors import InputError
from healthwatch.warning.scan import space_time_permutation_scan

R_KM = 6371.0088


def _distances(coords: np.ndarray) -> np.ndarray:
    """Great-circle distances from the chord between unit vectors (not the haversine formula)."""
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    xyz = [
        (math.cos(b) * math.cos(a), math.cos(b) * math.sin(a), math.sin(b))
        for a, b in zip(lon, lat, strict=True)
    ]
    n = len(coords)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            chord = math.dist(xyz[i], xyz[j])
            d[i, j] = 2 * R_KM * math.asin(min(1.0, chord / 2))
    return d


def _poisson_llr(c: float, mu: float, total: float) -> float:
    """log L(alternative) - log L(null) of the Poisson GLR, from the likelihoods themselves."""
    if c <= mu:
        return 0.0

    def xlogy(x: float, y: float) -> float:
        return 0.0 if x == 0 else x * math.log(y)

    inside = xlogy(c, c / mu) + xlogy(total - c, (total - c) / (total - mu))
    return inside


def exhaustive(
    cases: np.ndarray,
    coords: np.ndarray,
    max_share: float,
    max_days: int,
    min_cases: int,
    max_km: float = np.inf,
) -> list[tuple[float, frozenset[int], int, float, int]]:
    """Every cylinder: (llr, regions, window length, expected, observed), all of them."""
    days, n = cases.shape
    total = cases.sum()
    n_z = cases.sum(axis=0)
    n_d = cases.sum(axis=1)
    mu_cell = np.outer(n_d, n_z) / total
    dist = _distances(coords)
    out = []
    for i in range(n):
        seen: set[frozenset[int]] = set()
        for r in sorted(dist[i]):
            members = frozenset(int(j) for j in range(n) if dist[i, j] <= r + 1e-6)
            if n_z[list(members)].sum() > max_share * total + 1e-9 or r > max_km:
                break
            if members in seen:
                continue
            seen.add(members)
            for length in range(1, min(max_days, days) + 1):
                rows = range(days - length, days)
                c = sum(int(cases[d, z]) for d in rows for z in members)
                mu = sum(mu_cell[d, z] for d in rows for z in members)
                llr = _poisson_llr(c, mu, total) if c >= min_cases else 0.0
                out.append((llr, members, length, mu, c))
    return out


def _check_against_exhaustive(cases, coords, share=0.5, max_days=4, min_cases=2, max_km=None):
    res = space_time_permutation_scan(
        cases, coords, max_spatial_share=share, max_days=max_days, n_replicates=0,
        min_cases=min_cases, max_radius_km=max_km,
    )  # fmt: skip
    ref = exhaustive(
        np.asarray(cases), np.asarray(coords), share, max_days, min_cases,
        np.inf if max_km is None else max_km,
    )  # fmt: skip
    best = max(r[0] for r in ref) if ref else 0.0
    if best <= 1e-9:  # no cylinder with more cases than expected (up to rounding)
        assert all(c.llr <= 1e-9 for c in res.clusters)
        return
    top = res.clusters[0]
    assert top.llr == pytest.approx(best, rel=1e-9, abs=1e-12)
    tied = {(r[1], r[2]) for r in ref if abs(r[0] - best) <= 1e-9 * max(1.0, best)}
    assert (frozenset(top.regions), top.n_days) in tied
    match = next(r for r in ref if (r[1], r[2]) == (frozenset(top.regions), top.n_days))
    assert top.observed == match[4]
    assert top.expected == pytest.approx(match[3], rel=1e-9)
    assert top.end_day == cases.shape[0] - 1
    # every reported cluster is a real cylinder with the LLR the reference gives it
    by_key = {(r[1], r[2]): r[0] for r in ref}
    for c in res.clusters:
        assert by_key[(frozenset(c.regions), c.n_days)] == pytest.approx(c.llr, rel=1e-9)
    # secondary clusters share no county with a more likely one and come in decreasing order
    seen: set[int] = set()
    for c in res.clusters:
        assert not seen & set(c.regions)
        seen |= set(c.regions)
    assert [c.llr for c in res.clusters] == sorted((c.llr for c in res.clusters), reverse=True)


def test_planted_cluster_is_found_and_significant() -> None:
    rng = np.random.default_rng(3)
    cases = rng.poisson(4.0, size=(120, 30))
    coords = np.column_stack([rng.uniform(120, 125, 30), rng.uniform(39, 43, 30)])
    d = _distances(coords)[7]
    near = np.argsort(d)[:3]
    cases[-4:, near] += rng.poisson(5.0, size=(4, 3))
    res = space_time_permutation_scan(cases, coords, n_replicates=999, seed=2)
    top = res.clusters[0]
    assert set(near) <= set(top.regions) and len(top.regions) <= 6
    assert top.p_value == pytest.approx(1 / 1000)
    assert top.recurrence_interval_days == pytest.approx(1000)
    assert 2 <= top.n_days <= 6
    _check_against_exhaustive(cases[-20:], coords, max_days=7)


def test_exhaustive_agreement_fixed_instances() -> None:
    rng = np.random.default_rng(11)
    for trial in range(15):
        n = int(rng.integers(2, 9))
        days = int(rng.integers(2, 12))
        cases = rng.poisson(rng.uniform(0.3, 4), size=(days, n))
        coords = np.column_stack([rng.uniform(121, 123, n), rng.uniform(40, 41, n)])
        share = float(rng.choice([0.3, 0.5, 0.9, 1.0]))
        _check_against_exhaustive(cases, coords, share, int(rng.integers(1, 6)))
        del trial


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 7),
    days=st.integers(1, 9),
    data=st.data(),
    share=st.sampled_from([0.25, 0.5, 0.75, 1.0]),
    max_days=st.integers(1, 5),
    min_cases=st.integers(0, 3),
    max_km=st.sampled_from([None, None, 0.0, 30.0, 60.0]),
)
def test_exhaustive_agreement_property(n, days, data, share, max_days, min_cases, max_km) -> None:
    cells = data.draw(st.lists(st.integers(0, 6), min_size=n * days, max_size=n * days))
    cases = np.array(cells, dtype=np.int64).reshape(days, n)
    # coordinates on a coarse grid, so that equal distances (ties) happen
    grid = data.draw(
        st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=n, max_size=n)
    )
    coords = np.array([[121 + 0.2 * a, 40 + 0.2 * b] for a, b in grid])
    if cases.sum() == 0:
        assert space_time_permutation_scan(cases, coords, n_replicates=0).clusters == []
        return
    _check_against_exhaustive(cases, coords, share, max_days, min_cases, max_km)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 10))
def test_relabelling_counties_changes_nothing(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    cases = rng.poisson(2.0, size=(10, n))
    coords = np.column_stack([rng.uniform(120, 125, n), rng.uniform(39, 43, n)])
    perm = rng.permutation(n)
    a = space_time_permutation_scan(cases, coords, n_replicates=0, max_clusters=None)
    b = space_time_permutation_scan(cases[:, perm], coords[perm], n_replicates=0, max_clusters=None)
    assert [round(c.llr, 9) for c in a.clusters][:1] == [round(c.llr, 9) for c in b.clusters][:1]
    if a.clusters:
        assert {int(perm[z]) for z in b.clusters[0].regions} == set(a.clusters[0].regions) or (
            a.clusters[0].llr == pytest.approx(b.clusters[0].llr)
        )


def _numpy_null_maxima(cases, coords, n_rep, seed, max_days=3, share=0.5):
    """Replicate maxima by literally shuffling the dates of a case list, scanning exhaustively."""
    rng = np.random.default_rng(seed)
    days, n = cases.shape
    region = np.repeat(np.tile(np.arange(n), days), cases.reshape(-1))
    day = np.repeat(np.repeat(np.arange(days), n), cases.reshape(-1))
    out = []
    for _ in range(n_rep):
        sim = np.zeros_like(cases)
        np.add.at(sim, (rng.permutation(day), region), 1)
        out.append(max(r[0] for r in exhaustive(sim, coords, share, max_days, 2)))
    return np.array(out)


def test_permutation_null_matches_plain_shuffle() -> None:
    rng = np.random.default_rng(5)
    n, days = 6, 8
    cases = rng.poisson(1.5, size=(days, n))
    coords = np.column_stack([rng.uniform(121, 123, n), rng.uniform(40, 41, n)])
    res = space_time_permutation_scan(cases, coords, max_days=3, n_replicates=2000, seed=9)
    ref = _numpy_null_maxima(cases, coords, 400, seed=1)
    # same null distribution: a two-sample KS test does not reject, and the upper tails agree
    assert stats.ks_2samp(res.replicate_llr, ref).pvalue > 0.001
    assert np.quantile(res.replicate_llr, 0.9) == pytest.approx(np.quantile(ref, 0.9), rel=0.15)
    # permutations preserve the margins, so the observed-data statistic is one possible value:
    # under no outbreak the p-value is not systematically small
    assert 0 < res.clusters[0].p_value <= 1


def test_pvalue_is_uniform_under_the_null() -> None:
    """On data without clusters, P(p <= 0.1) is about 0.1 (the Monte Carlo test is exact)."""
    ps = []
    for s in range(60):
        rng = np.random.default_rng(100 + s)
        cases = rng.poisson(2.0, size=(30, 12))
        coords = np.column_stack([rng.uniform(121, 124, 12), rng.uniform(40, 42, 12)])
        r = space_time_permutation_scan(cases, coords, n_replicates=99, seed=s)
        ps.append(r.clusters[0].p_value if r.clusters else 1.0)
    ps = np.array(ps)
    assert 0.0 <= np.mean(ps <= 0.1) <= 0.25
    assert 0.3 <= np.mean(ps) <= 0.7


def test_same_seed_same_result_and_seed_matters() -> None:
    rng = np.random.default_rng(2)
    cases = rng.poisson(3.0, size=(40, 15))
    coords = np.column_stack([rng.uniform(121, 124, 15), rng.uniform(40, 42, 15)])
    a = space_time_permutation_scan(cases, coords, n_replicates=199, seed=4)
    b = space_time_permutation_scan(cases, coords, n_replicates=199, seed=4)
    c = space_time_permutation_scan(cases, coords, n_replicates=199, seed=5)
    assert np.array_equal(a.replicate_llr, b.replicate_llr)
    assert not np.array_equal(a.replicate_llr, c.replicate_llr)


def test_study_days_and_recurrence() -> None:
    rng = np.random.default_rng(8)
    cases = rng.poisson(3.0, size=(50, 10))
    coords = np.column_stack([rng.uniform(121, 124, 10), rng.uniform(40, 42, 10)])
    a = space_time_permutation_scan(cases, coords, study_days=20, n_replicates=99, seed=1)
    b = space_time_permutation_scan(cases[-20:], coords, n_replicates=99, seed=1)
    assert a.clusters == b.clusters
    weekly = space_time_permutation_scan(
        cases, coords, n_replicates=99, seed=1, analyses_per_day=1 / 7
    )
    top = weekly.clusters[0]
    assert top.recurrence_interval_days == pytest.approx(7 / top.p_value)


def test_bad_input_is_refused_with_every_problem() -> None:
    with pytest.raises(InputError) as err:
        space_time_permutation_scan(
            np.array([[1, -1], [2, 3]]), np.array([[200.0, 40.0]]), max_days=0,
            max_spatial_share=0,
        )  # fmt: skip
    fields = {p.field for p in err.value.problems}
    assert {"cases", "coords", "max_days", "max_spatial_share"} <= fields
    assert all(p.reason_zh and p.reason_en for p in err.value.problems)


def test_no_cases_gives_no_cluster() -> None:
    res = space_time_permutation_scan(np.zeros((5, 3), int), np.zeros((3, 2)), n_replicates=9)
    assert res.clusters == [] and res.total_cases == 0


def test_result_as_strict_json() -> None:
    import json

    rng = np.random.default_rng(4)
    cases = rng.poisson(2.0, size=(30, 8))
    coords = np.column_stack([rng.uniform(121, 124, 8), rng.uniform(40, 42, 8)])
    res = space_time_permutation_scan(cases, coords, n_replicates=49, max_radius_km=150.0)
    names = [f"21010{i}" for i in range(8)]
    text = json.dumps(res.to_dict(names), allow_nan=False)
    back = json.loads(text)
    top = back["clusters"][0]
    assert top["region_names"] == [names[z] for z in top["regions"]]
    assert top["radius_km"] <= 150.0 and back["settings"]["max_radius_km"] == 150.0
    assert back["n_replicates"] == 49
