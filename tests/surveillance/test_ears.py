"""EARS C1/C2/C3 against R's earsC (golden files and live) and against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from _golden import assert_covers, assert_matches, load_cases, run_case, run_r_script
from scipy.stats import norm

from healthwatch.errors import InputError
from healthwatch.surveillance import Counts
from healthwatch.surveillance.ears import ears_c1, ears_c2, ears_c3

FAMILY = "ears_family"
METHODS = ("ears_c1", "ears_c2", "ears_c3")
CASES = [c for c in load_cases(FAMILY) if c.method in METHODS]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_r_golden(case):
    assert_matches(run_case(case), case)


def test_golden_coverage():
    assert_covers(CASES, METHODS)
    assert any(np.isnan(c.counts.observed).any() for c in CASES)


@pytest.mark.r
@pytest.mark.slow
def test_matches_r_live(tmp_path):
    run_r_script(FAMILY, tmp_path)
    live = [c for c in load_cases(FAMILY, tmp_path) if c.method in METHODS]
    assert len(live) == len(CASES)
    for case in live:
        assert_matches(run_case(case), case)


def test_c1_by_hand():
    y = np.array([1, 0, 3, 1, 2, 3, 5, 4, 9, 0], dtype=float)
    res = ears_c1(Counts.from_array(y, freq=365))
    assert list(res.t) == [8, 9, 10]
    base = y[0:7]
    z = norm.ppf(0.999)
    assert res.expected[0, 0] == pytest.approx(base.mean())
    assert res.upperbound[0, 0] == pytest.approx(base.mean() + z * base.std(ddof=1))
    assert res.score[0, 0] == pytest.approx((4 - base.mean()) / base.std(ddof=1))
    # constant baseline: sd 0, the count equal to the mean does not alarm, one more does
    flat = Counts.from_array(np.array([[2.0] * 7 + [2.0, 3.0]]).T)
    r = ears_c1(flat)
    assert r.upperbound[:, 0].tolist() == [2.0, 2.0]
    assert r.alarm[:, 0].tolist() == [False, True]


def test_min_sigma_floors_sd():
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    r = ears_c1(Counts.from_array(y), min_sigma=1.0, alpha=0.05)
    z = norm.ppf(0.95)
    assert r.upperbound[0, 0] == pytest.approx(1 / 7 + z * 1.0)  # sd 0.378 < 1
    assert r.upperbound[1, 0] == pytest.approx(z)  # all-zero baseline


def test_c2_guard_band_and_missing():
    y = np.arange(1.0, 13.0)
    y[5] = np.nan  # t=6
    r = ears_c2(Counts.from_array(y))
    assert list(r.t) == [10, 11, 12]
    # t=10 uses t=1..7 (contains t=6): NaN; t=12 uses t=3..9: NaN too; nothing alarms
    assert np.isnan(r.upperbound[:, 0]).all()
    assert not r.alarm.any()
    clean = ears_c2(Counts.from_array(np.arange(1.0, 13.0)))
    assert clean.expected[:, 0].tolist() == pytest.approx([4.0, 5.0, 6.0])


def test_c3_by_hand_both_variants():
    y = np.array([1, 3, 2, 4, 2, 3, 1, 2, 3, 2, 1, 2, 3, 9], dtype=float)

    def c2(t):  # 1-based
        b = y[t - 10 : t - 3]
        return b.mean(), b.std(ddof=1), (y[t - 1] - b.mean()) / b.std(ddof=1)

    z = norm.ppf(0.975)
    t = 14
    m, s, c = c2(t)
    prev = sum(max(0.0, c2(i)[2] - 1) for i in (t - 2, t - 1))
    c3 = prev + max(0.0, c - 1)
    r = ears_c3(Counts.from_array(y))
    assert r.t[-1] == 14
    assert r.score[-1, 0] == pytest.approx(c3)
    assert r.upperbound[-1, 0] == pytest.approx(max(0.0, y[-1] + s * (z - prev)))  # R's bound
    assert bool(r.alarm[-1, 0]) is bool(y[-1] > max(0.0, y[-1] + s * (z - prev)))
    fixed = ears_c3(Counts.from_array(y), r_compatible=False)
    assert fixed.upperbound[-1, 0] == pytest.approx(m + s * (1 + z - prev))
    assert bool(fixed.alarm[-1, 0]) is bool(c3 >= z) is True


def test_vectorised_over_series_equals_one_by_one():
    rng = np.random.default_rng(3)
    x = rng.poisson(2.0, size=(60, 1500)).astype(float)
    x[rng.random(x.shape) < 0.01] = np.nan
    counts = Counts.from_array(x, freq=365)
    for f in (ears_c1, ears_c2, ears_c3):
        whole = f(counts)
        for j in (0, 700, 1499):
            one = f(counts.select([j]))
            np.testing.assert_array_equal(whole.upperbound[:, [j]], one.upperbound)
            np.testing.assert_array_equal(whole.alarm[:, [j]], one.alarm)


def test_non_contiguous_range():
    x = np.random.default_rng(4).poisson(5.0, size=(40, 3)).astype(float)
    c = Counts.from_array(x)
    full = ears_c2(c)
    part = ears_c2(c, range=[12, 20, 40])
    np.testing.assert_array_equal(part.upperbound, full.upperbound[[2, 10, 30]])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"baseline": 1}, "baseline"),
        ({"alpha": 0}, "alpha"),
        ({"min_sigma": -1}, "min_sigma"),
        ({"range": [3, 9]}, "range"),
    ],
)
def test_bad_arguments(kwargs, field):
    c = Counts.from_array(np.ones(20))
    with pytest.raises(InputError) as err:
        ears_c1(c, **kwargs)
    assert err.value.problems[0].field == field


def test_history_too_short_is_a_clear_error():
    with pytest.raises(InputError, match="at least 12 time points"):
        ears_c3(Counts.from_array(np.ones(11)))


def test_out_reuses_arrays_and_chunk_views_equal_whole():
    rng = np.random.default_rng(8)
    x = rng.poisson(3.0, size=(50, 700)).astype(float)
    x[rng.random(x.shape) < 0.01] = np.nan
    counts = Counts.from_array(x, freq=365)
    for f in (ears_c1, ears_c2, ears_c3):
        whole = f(counts)
        first = f(counts.select(slice(0, 300)))  # a column slice: read in place
        np.testing.assert_array_equal(first.upperbound, whole.upperbound[:, :300])
        second = f(counts.select(slice(300, 600)), out=first)
        assert second.upperbound is first.upperbound  # overwritten, not allocated
        np.testing.assert_array_equal(second.upperbound, whole.upperbound[:, 300:600])
        np.testing.assert_array_equal(second.score, whole.score[:, 300:600])
        np.testing.assert_array_equal(second.alarm, whole.alarm[:, 300:600])
        rows = [30, 40, 50]  # not contiguous: computed over 30..50, then picked into ``out``
        scratch = f(counts.select(slice(0, 300)), range=rows)
        picked = f(counts.select(slice(300, 600)), range=rows, out=scratch)
        assert picked.expected is scratch.expected
        at = np.asarray(rows) - whole.t[0]
        np.testing.assert_array_equal(picked.upperbound, whole.upperbound[at, 300:600])
        np.testing.assert_array_equal(picked.observed, x[np.asarray(rows) - 1, 300:600])
        with pytest.raises(InputError) as err:
            f(counts.select(slice(0, 10)), out=first)
        assert err.value.problems[0].field == "out"
