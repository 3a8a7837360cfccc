"""Farrington (1996) and farringtonFlexible against R surveillance (golden files and live),
plus the reference-window construction, bad input and chunking."""

from __future__ import annotations

import numpy as np
import pytest
from _golden import assert_covers, assert_matches, load_cases, run_case, run_r_script

from healthwatch.errors import InputError
from healthwatch.surveillance import Counts
from healthwatch.surveillance.farrington import (
    farrington,
    farrington_flexible,
    reference_design,
)

FAMILY = "farrington"
CASES = load_cases(FAMILY)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_r_golden(case):
    assert_matches(run_case(case), case)


def test_golden_coverage():
    assert_covers(CASES, ("farrington", "farrington_flexible"))
    for method in ("farrington", "farrington_flexible"):
        cases = [c for c in CASES if c.method == method]
        assert any(np.isnan(c.counts.observed[c.range - 1]).any() for c in cases)
        assert any((c.counts.observed == 0).any() for c in cases)
    flex = [c for c in CASES if c.method == "farrington_flexible"]
    methods = {c.control.get("threshold_method", "delta") for c in flex}
    assert methods == {"delta", "nbPlugin", "muan"}
    assert {c.control.get("powertrans", "2/3") for c in CASES} == {"2/3", "1/2", "none"}
    assert any(c.control.get("population_offset") for c in flex)
    assert any(c.counts.freq == 12 for c in CASES)
    # R's results contain alarms and cells where limit54 suppressed the bound
    assert sum(int(np.nansum(c.alarm)) for c in CASES) > 10
    assert any(np.isnan(c.upperbound).any() for c in flex)


@pytest.mark.r
@pytest.mark.slow
def test_matches_r_live(tmp_path):
    run_r_script(FAMILY, tmp_path)
    live = load_cases(FAMILY, tmp_path)
    assert len(live) == len(CASES)
    for case in live:
        assert_matches(run_case(case), case)


# -- reference windows (as observed from R's algo.farrington.data.glm) -------------------------


def test_reference_windows_noperiods_1():
    d = reference_design(300, freq=52, b=4, w=3, past_weeks_not_included=3)
    expected = np.concatenate([np.arange(300 - 52 * i - 3, 300 - 52 * i + 4) for i in (4, 3, 2, 1)])
    assert d.idx.tolist() == expected.tolist()
    assert d.n_levels == 1 and (d.level == 0).all()
    # past_weeks_not_included cuts into the last window / adds part of the current one
    assert reference_design(300, freq=52, b=4, w=3, past_weeks_not_included=50).idx.size == 26
    d0 = reference_design(300, freq=52, b=4, w=3, past_weeks_not_included=0)
    assert d0.idx.size == 31 and d0.idx[-1] == 299


def _runs(level):
    out, start = [], 0
    for i in range(1, level.size + 1):
        if i == level.size or level[i] != level[start]:
            out.append((int(level[start]), i - start))
            start = i
    return out


def test_reference_blocks_noperiods():
    d = reference_design(300, freq=52, b=4, w=3, no_periods=10, past_weeks_not_included=26)
    assert d.idx[0] == 89 and d.idx[-1] == 273 and d.idx.size == 185
    runs = _runs(d.level)
    assert runs[0] == (0, 7)  # window around 300 - 4*52
    assert [n for _, n in runs[1:10]] == [5] * 9  # gap of 45 weeks in 9 blocks
    # uneven gaps: the first blocks are one longer (R: 23+22 for 2 blocks, 5+4*10 for 11)
    d3 = reference_design(300, freq=52, b=4, w=3, no_periods=3, past_weeks_not_included=3)
    assert [n for _, n in _runs(d3.level)[:3]] == [7, 23, 22]
    d12 = reference_design(300, freq=52, b=4, w=3, no_periods=12, past_weeks_not_included=3)
    assert [n for _, n in _runs(d12.level)[:12]] == [7, 5] + [4] * 10
    dm = reference_design(100, freq=12, b=3, w=1, no_periods=4, past_weeks_not_included=1)
    assert [n for _, n in _runs(dm.level)] == [3] * 12


# -- bad input -----------------------------------------------------------------------------------


def _counts(n=300, k=2, seed=3):
    rng = np.random.default_rng(seed)
    return Counts.from_array(rng.poisson(4, size=(n, k)), freq=52, names=["a", "b"][:k])


def test_short_history_is_a_clear_error():
    c = _counts()
    with pytest.raises(InputError) as err:
        farrington_flexible(c, range=[200], b=4, w=3)
    text = str(err.value)
    assert "t=212" in text and "b=4" in text and "w=3" in text and "'a'" in text
    # the first evaluable time point works, and is the default start of the range
    assert farrington_flexible(c, b=4, w=3).t[0] == 212
    with pytest.raises(InputError, match="t=56"):
        farrington(c, range=[40], b=3, w=3)


def test_invalid_parameters():
    c = _counts()
    with pytest.raises(InputError, match="threshold_method"):
        farrington_flexible(c, b=4, threshold_method="quantile")
    with pytest.raises(InputError, match="powertrans"):
        farrington(c, b=4, powertrans="1/3")
    with pytest.raises(InputError, match="no_periods"):
        farrington_flexible(c, b=4, w=3, no_periods=50)
    with pytest.raises(InputError, match="population"):
        farrington_flexible(c, b=4, population_offset=True)


def test_missing_counts_give_no_bound_and_no_alarm():
    c = _counts()
    obs = c.observed.copy()
    obs[290, 0] = np.nan
    res = farrington_flexible(Counts.from_array(obs, freq=52), range="285:300", b=4)
    rows = np.flatnonzero(np.isin(res.t, [291, 292, 293, 294]))
    assert np.isnan(res.upperbound[rows, 0]).all() and not res.alarm[rows, 0].any()
    assert np.isfinite(res.upperbound[:, 1]).all()


def test_chunking_gives_identical_results():
    c = _counts(k=2)
    wide = Counts.from_array(np.tile(c.observed, (1, 5)), freq=52)
    one = farrington_flexible(
        wide,
        range="250:300",
        b=4,
        no_periods=10,
        past_weeks_not_included=26,
        threshold_method="nbPlugin",
    )
    chunked = farrington_flexible(
        wide,
        range="250:300",
        b=4,
        no_periods=10,
        past_weeks_not_included=26,
        threshold_method="nbPlugin",
        chunk_size=3,
    )
    np.testing.assert_array_equal(one.upperbound, chunked.upperbound)
    np.testing.assert_array_equal(one.expected, chunked.expected)
    # identical columns give identical answers
    np.testing.assert_array_equal(one.upperbound[:, 0], one.upperbound[:, 2])


def test_alarm_on_obvious_outbreak():
    c = _counts(k=1)
    obs = c.observed.copy()
    obs[295, 0] = 40
    res = farrington(Counts.from_array(obs, freq=52), range="290:300", b=4)
    row = np.flatnonzero(res.t == 296)[0]
    assert res.alarm[row, 0] and res.score[row, 0] > 1
    assert res.alarm.sum() == 1


# -- the kernel's negative binomial quantile -----------------------------------------------------


def test_kernel_quantile_equals_scipy():
    from scipy import stats

    from healthwatch.surveillance.farrington_kernel import nb_quantile_or_flag

    rng = np.random.default_rng(5)
    mu = np.exp(rng.uniform(np.log(1e-3), np.log(700.0), 4000))
    phi = np.where(rng.random(4000) < 0.2, 1.0, 1.0 + np.exp(rng.uniform(-8, 3, 4000)))
    for q in (0.9, 0.95, 0.99):
        got = np.array([nb_quantile_or_flag(q, m, p) for m, p in zip(mu, phi, strict=True)])
        size = mu / np.maximum(phi - 1.0, 1e-300)
        ref = np.where(phi <= 1.0, stats.poisson.ppf(q, mu), stats.nbinom.ppf(q, size, 1.0 / phi))
        asked = got == -1.0
        assert asked.mean() < 0.02  # scipy is asked only where the kernel cannot decide
        np.testing.assert_array_equal(got[~asked], ref[~asked])
    assert np.isnan(nb_quantile_or_flag(0.95, np.nan, 2.0))
    assert np.isnan(nb_quantile_or_flag(0.95, np.inf, 2.0))
    assert nb_quantile_or_flag(0.95, 0.0, 2.0) == -1.0
