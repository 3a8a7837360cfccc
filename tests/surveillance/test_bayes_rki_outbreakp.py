"""Bayes, RKI and outbreakP against R (golden files and live) and against hand computations."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from _golden import assert_covers, assert_matches, load_cases, run_case, run_r_script
from scipy.stats import nbinom

from healthwatch.errors import InputError
from healthwatch.surveillance import Counts
from healthwatch.surveillance.bayes import bayes, nb_quantile
from healthwatch.surveillance.outbreakp import outbreakp
from healthwatch.surveillance.rki import RKI_POISSON_TABLE, rki

FAMILY = "ears_family"
METHODS = ("bayes", "rki", "outbreakp")
CASES = [c for c in load_cases(FAMILY) if c.method in METHODS]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_r_golden(case):
    assert_matches(run_case(case), case)


def test_golden_coverage():
    assert_covers(CASES, METHODS)


@pytest.mark.r
@pytest.mark.slow
def test_matches_r_live(tmp_path):
    run_r_script(FAMILY, tmp_path)
    live = [c for c in load_cases(FAMILY, tmp_path) if c.method in METHODS]
    assert len(live) == len(CASES)
    for case in live:
        assert_matches(run_case(case), case)


# ---- Bayes ---------------------------------------------------------------------------------
def test_bayes_by_hand_with_previous_year_and_missing():
    rng = np.random.default_rng(5)
    y = rng.poisson(4.0, size=70).astype(float)
    y[63] = np.nan  # t=64 is a reference of t=66 (w=2, act_y: t-2..t-1)
    res = bayes(Counts.from_array(y), b=1, w=2, act_y=True, alpha=0.05, range=[66])
    t = 66
    refs = np.r_[y[t - 3 : t - 1], y[t - 52 - 2 - 1 : t - 52 + 2]]  # t-2..t-1, t-54..t-50
    refs = refs[~np.isnan(refs)]
    assert refs.size == 6
    size, p = refs.sum() + 0.5, refs.size / (refs.size + 1)
    assert res.upperbound[0, 0] == nbinom.ppf(0.95, size, p)
    assert res.expected[0, 0] == pytest.approx(size / refs.size)
    assert bool(res.alarm[0, 0]) is bool(y[t - 1] > res.upperbound[0, 0])


def test_bayes_history_too_short_names_first_time_point():
    c = Counts.from_array(np.ones(60))
    with pytest.raises(InputError, match=r"t >= 56"):
        bayes(c, b=1, w=3, range=[50, 60])
    with pytest.raises(InputError, match="at least 56 time points"):
        bayes(Counts.from_array(np.ones(40)), b=1, w=3)
    with pytest.raises(InputError):
        bayes(c, b=0, act_y=False)


# ---- RKI -----------------------------------------------------------------------------------
def test_rki_table_steps_and_large_means():
    # b=0, w=6, act_y: the six previous weeks; reference means 0.5, 1, 19.83, 20, 20.17
    series = []
    for refs in ([1, 0, 1, 0, 1, 0], [1] * 6, [20] * 5 + [19], [20] * 6, [21] + [20] * 5):
        series.append([*refs, 0])
    res = rki(Counts.from_array(np.array(series, dtype=float).T), b=0, w=6, act_y=True)
    ub = res.upperbound[0]
    assert ub[:4].tolist() == [
        RKI_POISSON_TABLE[0],
        RKI_POISSON_TABLE[1],
        RKI_POISSON_TABLE[19],
        RKI_POISSON_TABLE[20],
    ]
    ref = np.array([21] + [20] * 5, dtype=float)
    assert ub[4] == pytest.approx(ref.mean() + 2 * ref.std(ddof=1))


def test_rki_table_is_increasing_and_above_two_sd():
    # Sanity of the observed table: increasing, above mean + 2 sqrt(mean) as a Poisson limit is.
    lam = np.arange(21)
    assert np.all(np.diff(RKI_POISSON_TABLE) > 0)
    assert np.all(lam + 2 * np.sqrt(lam) < RKI_POISSON_TABLE)


def test_rki_missing_references_are_left_out():
    y = np.array([3, np.nan, 5, 4, 2, 6, 30], dtype=float)
    res = rki(Counts.from_array(y), b=0, w=6, act_y=True)
    assert res.expected[0, 0] == pytest.approx(np.mean([3, 5, 4, 2, 6]))
    assert res.upperbound[0, 0] == RKI_POISSON_TABLE[4]
    assert bool(res.alarm[0, 0])


# ---- outbreakP -----------------------------------------------------------------------------
def _isotonic(x):
    """Plain non-incremental pool-adjacent-violators (non-decreasing), for checking."""
    blocks = []
    for v in x:
        blocks.append([float(v), 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, n = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
    return np.concatenate([[s / n] * n for s, n in blocks])


@contextmanager
def decimal_context():
    with localcontext() as ctx:
        ctx.prec = 50
        yield


def _outbreakp_exact(x):
    """OutbreakP(s) as an exact product of Fractions (no overflow), then as a float."""
    x = [int(v) for v in x]
    mu = [Fraction(v).limit_denominator(10**12) for v in _isotonic(x)]
    total = Fraction(sum(x), len(x))
    prod = Fraction(1)
    for v, m in zip(x, mu, strict=True):
        if v:
            prod *= (m / total) ** v
    return float(Decimal(prod.numerator) / Decimal(prod.denominator))


def test_outbreakp_manual_example_by_hand():
    y = np.array([1, 0, 3, 1, 2, 3, 5, 4, 7, 3, 5, 8, 16, 23, 33, 34, 48], dtype=float)
    res = outbreakp(Counts.from_array(y))
    # t=3: isotonic fit (0.5, 0.5, 3), no-change mean 4/3
    assert res.score[2, 0] == pytest.approx((0.5 / (4 / 3)) * (3 / (4 / 3)) ** 3)
    for s in (5, 9, 17):
        assert res.score[s - 1, 0] == pytest.approx(_outbreakp_exact(y[:s]), rel=1e-10)
    assert res.alarm[:, 0].tolist() == (res.score[:, 0] >= 100).tolist()


def test_outbreakp_no_overflow_where_r_overflows():
    # salmAllOnset weeks 1..25: R's product overflows from week 19 (reports 0, then NA)
    y = np.array(
        [654, 675, 669, 591, 639, 606, 771, 718, 737, 645, 665, 640, 664, 615, 717, 912, 758,
         1075, 1072, 1223, 1330, 1498, 1797, 1617, 1684],
        dtype=float,
    )  # fmt: skip
    res = outbreakp(Counts.from_array(y))
    with decimal_context():
        for s in (19, 25):
            assert res.score[s - 1, 0] == pytest.approx(_outbreakp_exact(y[:s]), rel=1e-9)
    assert np.all(res.alarm[13:, 0])


def test_outbreakp_nnba_is_the_smallest_alarming_count():
    rng = np.random.default_rng(8)
    y = rng.poisson(2.0, size=30).astype(float)
    y[20:] += np.arange(10) * 2
    res = outbreakp(Counts.from_array(y), k=20, ret="cases")
    for s in range(2, 31):
        nnba = res.upperbound[s - 1, 0]
        if np.isnan(nnba):
            continue
        above = y.copy()[:s]
        above[-1] = nnba
        below = above.copy()
        below[-1] = nnba - 1
        assert _outbreakp_exact(above) >= 20 > _outbreakp_exact(below)
    assert np.isnan(res.upperbound[0, 0])  # s=1: the statistic is 1 whatever the count


def test_outbreakp_missing_counts_are_skipped_and_series_independent():
    rng = np.random.default_rng(9)
    x = rng.poisson(3.0, size=(40, 50)).astype(float)
    x[10, 3] = np.nan
    res = outbreakp(Counts.from_array(x))
    kept = np.delete(x[:, 3], 10)
    single = outbreakp(Counts.from_array(kept))
    np.testing.assert_allclose(np.delete(res.score[:, 3], 10), single.score[:, 0], rtol=1e-12)
    assert res.score[10, 3] == res.score[9, 3] and not res.alarm[10, 3]
    one = outbreakp(Counts.from_array(x[:, [7]]))
    np.testing.assert_array_equal(res.score[:, [7]], one.score)


def test_outbreakp_all_zero_series():
    res = outbreakp(Counts.from_array(np.zeros(10)))
    assert np.all(res.score == 1.0) and not res.alarm.any()


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"ret": "both"}, {"max_upperbound_cases": 0}])
def test_outbreakp_bad_arguments(kwargs):
    with pytest.raises(InputError):
        outbreakp(Counts.from_array(np.ones(5)), **kwargs)


def test_nb_quantile_equals_scipy():
    rng = np.random.default_rng(11)
    size = rng.poisson(rng.choice([0.0, 2.0, 40.0, 900.0], 20_000)) + 0.5
    n = rng.integers(1, 40, 20_000).astype(float)
    for q in (0.9, 0.95, 0.99, 0.999):
        np.testing.assert_array_equal(
            nb_quantile(q, size, n / (n + 1)), nbinom.ppf(q, size, n / (n + 1))
        )
    assert np.isnan(nb_quantile(0.95, np.array([1.5]), np.array([np.nan])))[0]


@pytest.mark.parametrize("top", [50, 10**12])  # a dense range (the table) and a sparse one
def test_distinct_keys_table_and_sort_agree(top: int) -> None:
    from healthwatch.surveillance.bayes import _distinct

    key = np.random.default_rng(4).integers(0, top, size=5000)
    first, inverse = _distinct(key)
    assert np.array_equal(key[first][inverse], key)  # each row maps to a row with its key
    assert first.size == np.unique(key).size  # one number per distinct key
