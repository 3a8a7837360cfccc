"""Combining sources: against scipy for independent sources, against simulation for correlated
ones, and the rule engine on hand-built signal tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from healthwatch.errors import InputError
from healthwatch.warning.fusion import (
    FusionRules,
    LevelRule,
    combine_pvalues,
    combine_pvalues_many,
    estimate_source_correlation,
    fuse_signals,
    kost_mcdermott_cov,
    window_pvalues,
)

P = st.floats(1e-12, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(p=st.lists(P, min_size=1, max_size=8))
def test_independent_sources_equal_scipy(p: list[float]) -> None:
    arr = np.array(p)
    for method in ("fisher", "stouffer"):
        ours = combine_pvalues(arr, method)
        ref = stats.combine_pvalues(arr, method=method).pvalue
        assert ours == pytest.approx(ref, rel=1e-9, abs=1e-300)


def test_weighted_stouffer_equals_scipy() -> None:
    p = np.array([0.2, 0.01, 0.4])
    w = np.array([1.0, 3.0, 0.5])
    ref = stats.combine_pvalues(p, method="stouffer", weights=w).pvalue
    assert combine_pvalues(p, "stouffer", weights=w) == pytest.approx(ref, rel=1e-12)


def test_identity_correlation_is_independence() -> None:
    p = np.array([0.03, 0.2, 0.01])
    for m in ("fisher", "stouffer"):
        assert combine_pvalues(p, m, correlation=np.eye(3)) == pytest.approx(combine_pvalues(p, m))


def test_kost_mcdermott_covariance_matches_simulation() -> None:
    rng = np.random.default_rng(0)
    for rho in (-0.4, 0.3, 0.7):
        z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=400_000)
        x = -2 * np.log(stats.norm.sf(z))
        assert np.cov(x.T)[0, 1] == pytest.approx(float(kost_mcdermott_cov(rho)), abs=0.05)


@pytest.mark.parametrize("method", ["fisher", "stouffer"])
@pytest.mark.parametrize("rho", [0.3, 0.7])
def test_correlated_sources_keep_their_size_under_the_null(method: str, rho: float) -> None:
    """With correlated sources and no outbreak, P(p_combined <= alpha) stays near alpha when the
    correlation is given, and is inflated when the sources are wrongly taken as independent."""
    rng = np.random.default_rng(42)
    k = 4
    corr = np.full((k, k), rho)
    np.fill_diagonal(corr, 1.0)
    z = rng.multivariate_normal(np.zeros(k), corr, size=200_000)
    p = stats.norm.sf(z)
    corrected = combine_pvalues_many(p, method, correlation=corr)
    naive = combine_pvalues_many(p, method)
    for alpha in (0.05, 0.01):
        size = np.mean(corrected <= alpha)
        assert size == pytest.approx(alpha, rel=0.2 if method == "fisher" else 0.05)
        assert np.mean(naive <= alpha) > 1.5 * alpha
    if method == "stouffer":  # exact for normal scores: the whole distribution is uniform
        assert stats.kstest(corrected[:20_000], "uniform").pvalue > 0.001


def test_many_equals_one_by_one() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(size=(50, 3))
    corr = np.array([[1, 0.5, 0.2], [0.5, 1, 0.1], [0.2, 0.1, 1]])
    many = combine_pvalues_many(p, "fisher", corr)
    one = [combine_pvalues(row, "fisher", corr) for row in p]
    assert np.allclose(many, one)


def test_bad_pvalues_and_correlation_are_refused() -> None:
    with pytest.raises(InputError) as err:
        combine_pvalues(np.array([0.1, np.nan, 1.5]), "fisher", correlation=np.ones((2, 2)))
    assert {p.field for p in err.value.problems} == {"p", "correlation"}
    with pytest.raises(InputError):
        combine_pvalues(np.array([0.1]), "tippett")  # type: ignore[arg-type]


def test_estimated_correlation_recovers_the_truth() -> None:
    rng = np.random.default_rng(3)
    corr = np.array([[1, 0.6, 0.1], [0.6, 1, 0.3], [0.1, 0.3, 1]])
    z = rng.multivariate_normal(np.zeros(3), corr, size=20_000)
    est = estimate_source_correlation(stats.norm.sf(z), sources=["a", "b", "c"])
    assert np.allclose(est.matrix, corr, atol=0.03)
    assert est.sub(["c", "a", "zz"])[0, 1] == pytest.approx(est.matrix[2, 0])
    assert est.sub(["c", "a", "zz"])[2, 0] == 0.0
    # the long format gives the same matrix
    n = 2000
    long = pd.DataFrame(
        {
            "region": np.tile(np.repeat(["r1", "r2"], n // 2), 3),
            "date": np.tile(np.tile(pd.date_range("2024-01-01", periods=n // 2), 2), 3),
            "source": np.repeat(["a", "b", "c"], n),
            "p_value": stats.norm.sf(z[:n]).T.reshape(-1),
        }
    )
    est_long = estimate_source_correlation(long)
    assert est_long.sources == ("a", "b", "c")
    assert np.allclose(
        est_long.matrix, estimate_source_correlation(stats.norm.sf(z[:n])).matrix, atol=1e-9
    )


def test_window_pvalues() -> None:
    p = np.array([[0.5], [0.01], [np.nan], [0.9], [0.8], [np.nan], [np.nan]])
    w = window_pvalues(p, 3)
    assert w[1, 0] == pytest.approx(1 - 0.99**3)
    assert w[3, 0] == pytest.approx(1 - 0.99**3)  # 0.01 still in the window
    assert w[4, 0] == pytest.approx(1 - 0.2**3)
    assert w[6, 0] == pytest.approx(1 - 0.2**3)  # days 4..6: 0.8 and two missing days
    assert np.isnan(window_pvalues(np.array([[0.1], [np.nan], [np.nan]]), 2)[2, 0])


# -- the rule engine ---------------------------------------------------------------------------


def _signals(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["region", "date", "source", "syndrome", "p_value", "score", "single_case"]
    )


def test_two_sources_within_window_make_one_alert_with_evidence() -> None:
    sig = _signals(
        [
            ("210302", "2025-03-01", "fever_clinic", "ILI", 1e-4, 4.1, False),
            ("210302", "2025-03-04", "pharmacy", "ILI", 1e-3, 3.2, False),
            ("210303", "2025-03-02", "school_absence", "ILI", 1e-3, 3.0, False),
            ("210999", "2025-03-02", "pharmacy", "ILI", 1e-2, 2.0, False),  # alone: no alert
        ]
    )
    alerts = fuse_signals(sig, {"210302": {"210303"}}, FusionRules(adjust_window=False))
    assert len(alerts) == 1
    a = alerts[0]
    assert (a.region, a.syndrome) == ("210302", "ILI")
    assert a.sources == ["fever_clinic", "pharmacy", "school_absence"]
    assert a.regions == ["210302", "210303"]
    assert len(a.signals) == 3
    expected = stats.combine_pvalues([1e-4, 1e-3, 1e-3], method="fisher").pvalue
    assert a.p_combined == pytest.approx(expected)
    assert a.level == "orange"  # 3 sources and p ~ 1e-7 (red needs 1e-8)
    assert "210303" in a.reason_zh and "橙色" in a.reason_zh and "orange" in a.reason_en
    assert a.first_date == pd.Timestamp("2025-03-01")
    assert a.to_dict()["signals"][0]["date"] == "2025-03-01"


def test_sources_too_far_apart_or_same_group_do_not_alert() -> None:
    far = _signals(
        [
            ("A", "2025-03-01", "fever_clinic", "ILI", 1e-4, 4.0, False),
            ("A", "2025-03-07", "fever_clinic", "ILI", 1e-4, 4.0, False),
            ("A", "2025-03-14", "pharmacy", "ILI", 1e-4, 4.0, False),
        ]
    )
    # one episode (gaps of 6 and 7 days) but no 7-day window holds both sources
    assert fuse_signals(far, {}, FusionRules()) == []
    same = _signals(
        [
            ("A", "2025-03-01", "fever_clinic", "ILI", 1e-4, 4.0, False),
            ("A", "2025-03-02", "lab", "ILI", 1e-4, 4.0, False),
        ]
    )
    grouped = FusionRules(source_groups={"fever_clinic": "patients", "lab": "patients"})
    assert fuse_signals(same, {}, grouped) == []
    assert len(fuse_signals(same, {}, FusionRules())) == 1


def test_neighbours_only_count_when_asked() -> None:
    sig = _signals(
        [
            ("A", "2025-03-01", "fever_clinic", "ILI", 1e-4, 4.0, False),
            ("B", "2025-03-02", "pharmacy", "ILI", 1e-4, 4.0, False),
        ]
    )
    with_n = fuse_signals(sig, {"A": {"B"}, "B": {"A"}}, FusionRules())
    assert sorted(a.region for a in with_n) == ["A", "B"]
    assert fuse_signals(sig, {"A": {"B"}}, FusionRules(include_neighbours=False)) == []


def test_single_case_disease_goes_straight_to_red() -> None:
    sig = _signals(
        [
            ("A", "2025-03-01", "case_reports", "cholera", np.nan, np.nan, True),
            ("A", "2025-03-03", "case_reports", "cholera", np.nan, np.nan, True),
            ("B", "2025-03-01", "case_reports", "plague", np.nan, np.nan, True),
        ]
    )
    alerts = fuse_signals(sig, {}, FusionRules(min_sources=3))
    assert [(a.region, a.syndrome, a.level) for a in alerts] == [
        ("A", "cholera", "red"),
        ("B", "plague", "red"),
    ]
    assert len(alerts[0].signals) == 2
    assert "单病例" in alerts[0].reason_zh and "single case" in alerts[0].reason_en


def test_correlation_lowers_the_level() -> None:
    sig = _signals(
        [
            ("A", "2025-03-01", "fever_clinic", "ILI", 1e-4, 4.0, False),
            ("A", "2025-03-02", "pharmacy", "ILI", 1e-4, 4.0, False),
        ]
    )
    z = np.random.default_rng(0).multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=5000)
    corr = estimate_source_correlation(stats.norm.sf(z), sources=["fever_clinic", "pharmacy"])
    rules = FusionRules(adjust_window=False)
    a = fuse_signals(sig, {}, rules)[0]
    b = fuse_signals(sig, {}, FusionRules(adjust_window=False, correlation=corr))[0]
    assert b.p_combined > 10 * a.p_combined
    assert (a.level, b.level) == ("orange", "yellow")
    assert "相关性校正" in b.reason_zh


def test_custom_levels_and_stouffer() -> None:
    sig = _signals(
        [
            ("A", "2025-03-01", "s1", "x", 0.04, 1.0, False),
            ("A", "2025-03-01", "s2", "x", 0.04, 1.0, False),
        ]
    )
    rules = FusionRules(
        method="stouffer", adjust_window=False, levels=(LevelRule("blue", 0.05, 2),)
    )
    (a,) = fuse_signals(sig, {}, rules)
    assert a.level == "blue" and a.method == "stouffer"
    assert a.p_combined == pytest.approx(stats.combine_pvalues([0.04, 0.04], "stouffer").pvalue)


def test_bad_signals_are_refused_listing_every_problem() -> None:
    sig = _signals(
        [
            ("A", "not a date", "s1", "x", 0.5, 1.0, False),
            ("A", "2025-03-01", "s2", "x", 1.5, 1.0, False),
            ("A", "2025-03-01", "s3", "x", "abc", 1.0, False),
        ]
    )
    with pytest.raises(InputError) as err:
        fuse_signals(sig, {}, FusionRules())
    assert [(p.field, p.line) for p in err.value.problems] == [
        ("p_value", 3), ("date", 1), ("p_value", 2),
    ]  # fmt: skip
    with pytest.raises(InputError):
        fuse_signals(sig.drop(columns="source"), {}, FusionRules())


def _reference_fuse(sig: pd.DataFrame, neighbours, rules: FusionRules) -> list[tuple]:
    """The rules of ``fuse_signals`` written out plainly, one county and episode at a time."""
    out = []
    sig = sig.assign(date=pd.to_datetime(sig["date"]))
    regular = sig[~sig["single_case"]]
    for syndrome, s in regular.groupby("syndrome"):
        for region in sorted(set(s["region"])):
            places = [region]
            if rules.include_neighbours:
                places += sorted(n for n in neighbours.get(region, set()) if n != region)
            e_all = s[s["region"].isin(places)].sort_values(["date", "region", "source"])
            days = (e_all["date"] - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
            episode = np.concatenate([[0], np.cumsum(np.diff(days) > rules.window_days)])
            for _, e in e_all.groupby(episode):
                if not (e["region"] == region).any():
                    continue
                g = [rules.source_groups.get(x, x) for x in e["source"]]
                d = (e["date"] - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
                most = max(
                    len({g[i] for i in range(len(d)) if day - rules.window_days < d[i] <= day})
                    for day in d
                )
                if most < rules.min_sources:
                    continue
                best = e.dropna(subset=["p_value"]).groupby("source")["p_value"].min()
                looks = rules.window_days * len(places) if rules.adjust_window else 1
                adj = 1 - (1 - best.clip(upper=1 - 1e-16)) ** looks
                groups: dict[str, list] = {}
                for src, v in adj.items():
                    groups.setdefault(rules.source_groups.get(src, src), []).append((v, src))
                vals = [1 - (1 - min(m)[0]) ** len(m) for m in groups.values()]
                reps = [min(m)[1] for m in groups.values()]
                if vals:
                    corr = rules.correlation.sub(reps) if rules.correlation else None
                    p = combine_pvalues(np.array(vals), rules.method, correlation=corr)
                else:
                    p = np.nan
                n_groups = len(set(g))
                level = next(
                    (
                        r.level
                        for r in rules.levels
                        if n_groups >= r.min_sources and (p if p == p else 1.0) <= r.max_p
                    ),
                    None,
                )
                if level:
                    out.append(
                        (region, syndrome, e["date"].min(), e["date"].max(),
                         tuple(sorted(set(e["source"]))), level, p, len(e))
                    )  # fmt: skip
    return out


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 100_000), grouped=st.booleans(), neighbours_on=st.booleans())
def test_fuse_signals_equals_the_plain_rules(seed: int, grouped: bool, neighbours_on: bool) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    regions = ["A", "B", "C", "D", "E"]
    sig = _signals(
        list(
            zip(
                rng.choice(regions, n),
                (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 40, n), "D")).astype(
                    str
                ),
                rng.choice(["s1", "s2", "s3", "s4"], n),
                rng.choice(["x", "y"], n),
                np.where(rng.uniform(size=n) < 0.1, np.nan, 10 ** rng.uniform(-9, -1, n)),
                rng.normal(size=n),
                rng.uniform(size=n) < 0.05,
                strict=True,
            )
        )
    )
    neighbours = {"A": {"B"}, "B": {"A", "C"}, "C": {"B"}, "D": {"E"}}
    corr = estimate_source_correlation(
        rng.uniform(size=(300, 4)), sources=["s1", "s2", "s3", "s4"], min_pairs=10
    )
    rules = FusionRules(
        include_neighbours=neighbours_on,
        source_groups={"s3": "g", "s4": "g"} if grouped else {},
        correlation=corr if seed % 2 else None,
        method="stouffer" if seed % 3 == 0 else "fisher",
    )
    got = [
        (a.region, a.syndrome, a.first_date, a.last_date, tuple(a.sources), a.level, a.p_combined,
         len(a.signals))
        for a in fuse_signals(sig, neighbours, rules)
        if a.method != "single_case"
    ]  # fmt: skip
    ref = _reference_fuse(sig, neighbours, rules)
    got.sort(key=lambda r: (r[0], r[1], r[2]))
    ref.sort(key=lambda r: (r[0], r[1], r[2]))
    assert [g[:6] + g[7:] for g in got] == [r[:6] + r[7:] for r in ref]
    for g, r in zip(got, ref, strict=True):
        assert g[6] == pytest.approx(r[6], rel=1e-9, nan_ok=True)


@settings(max_examples=50, deadline=None)
@given(
    cells=st.lists(st.one_of(st.none(), st.floats(0.0, 1.0)), min_size=1, max_size=30),
    w=st.integers(1, 8),
)
def test_window_pvalues_equal_a_plain_loop(cells: list[float | None], w: int) -> None:
    p = np.array([np.nan if c is None else c for c in cells])
    got = window_pvalues(p[:, None], w)[:, 0]
    for t in range(len(p)):
        seen = p[max(0, t - w + 1) : t + 1]
        seen = seen[~np.isnan(seen)]
        if seen.size == 0:
            assert np.isnan(got[t])
        else:
            assert got[t] == pytest.approx(1 - (1 - min(seen.min(), 1 - 1e-16)) ** w, abs=1e-12)


def test_inconsistent_pairwise_correlations_are_repaired() -> None:
    # three sources where a~b and b~c strongly but a, c opposite: pairwise estimates that no
    # joint distribution has; the estimate must still be a valid correlation matrix
    rng = np.random.default_rng(0)
    n = 400
    z = rng.normal(size=(n, 3))
    x = np.full((3 * n, 3), np.nan)
    x[:n, 0], x[:n, 1] = z[:, 0], z[:, 0] + 0.1 * z[:, 1]
    x[n : 2 * n, 1], x[n : 2 * n, 2] = z[:, 1], z[:, 1] + 0.1 * z[:, 2]
    x[2 * n :, 0], x[2 * n :, 2] = z[:, 2], -z[:, 2] + 0.1 * z[:, 0]
    est = estimate_source_correlation(x, kind="z")
    assert np.linalg.eigvalsh(est.matrix).min() >= -1e-9
    assert np.allclose(np.diag(est.matrix), 1.0)
    assert est.n_pairs[0, 1] == n and est.n_pairs[0, 0] == 2 * n
    p = np.array([0.01, 0.02, 0.03])
    assert 0 < combine_pvalues(p, "stouffer", correlation=est.matrix) <= 1


def test_text_flags_and_empty_input() -> None:
    cols = ["region", "date", "source", "syndrome", "p_value", "score", "single_case"]
    assert fuse_signals(pd.DataFrame(columns=cols), {}) == []
    sig = pd.DataFrame(
        [
            ("A", "2025-01-01", "s1", "cholera", "", "", "True"),
            ("A", "2025-01-01", "s1", "x", "0.01", "", "False"),
            ("A", "2025-01-02", "s2", "x", "0.01", "", "false"),
        ],
        columns=cols,
    )  # as read from a CSV: every cell text
    alerts = fuse_signals(sig, {}, FusionRules(adjust_window=False))
    assert [(a.level, a.syndrome) for a in alerts] == [("red", "cholera"), ("blue", "x")]
    assert alerts[1].p_combined == pytest.approx(stats.combine_pvalues([0.01, 0.01]).pvalue)
