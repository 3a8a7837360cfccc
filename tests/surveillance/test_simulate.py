"""Simulated series follow their design: baseline moments, outbreak placement, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from healthwatch.errors import InputError
from healthwatch.surveillance.simulate import (
    DailyDesign,
    noufaily_scenarios,
    simulate_daily,
    simulate_noufaily,
)


def test_42_scenarios_cross_sets_trend_and_harmonics() -> None:
    sc = noufaily_scenarios()
    assert len(sc) == 42 and [s.number for s in sc] == list(range(1, 43))
    assert {(s.parameter_set, s.trend, s.m) for s in sc} == {
        (p, tr, m) for p in range(1, 8) for tr in (False, True) for m in (0, 1, 2)
    }
    s = sc[5]  # set 1, trend, m = 2
    assert (s.parameter_set, s.trend, s.m, s.theta, s.phi) == (1, True, 2, 0.1, 1.5)
    t = np.array([10.0])
    eta = (
        0.1
        + 0.0025 * 10
        + sum(
            0.6 * np.cos(2 * np.pi * j * 10 / 52) + 0.6 * np.sin(2 * np.pi * j * 10 / 52)
            for j in (1, 2)
        )
    )
    assert s.mean(t)[0] == pytest.approx(np.exp(eta))
    with pytest.raises(InputError):
        simulate_noufaily(43, 2)


@pytest.mark.parametrize("number", [12, 27, 37])
def test_baseline_mean_and_variance_match_design(number: int) -> None:
    """Over many replicates the outbreak-free baseline has mean mu(t) and variance phi*mu(t)."""
    sc = noufaily_scenarios()[number - 1]
    sim = simulate_noufaily(number, 4000, seed=11, current_outbreak=False)
    y = sim.counts.observed[:300]  # before any outbreak can start (week 313)
    assert sim.counts.state is not None and not sim.counts.state[:300].any()
    mu = sc.mean(np.arange(1, 301, dtype=float))
    # pooled over weeks: relative error of mean and of variance/(phi mu)
    assert np.mean(y.mean(axis=1) / mu) == pytest.approx(1.0, abs=0.01)
    assert np.mean(y.var(axis=1, ddof=1) / (sc.phi * mu)) == pytest.approx(1.0, abs=0.03)


def test_poisson_scenario_has_variance_equal_mean() -> None:
    sc = noufaily_scenarios()[12]  # set 3: phi = 1
    assert sc.phi == 1.0
    y = simulate_noufaily(sc, 3000, seed=2, current_outbreak=False).counts.observed[:300]
    mu = sc.mean(np.arange(1, 301, dtype=float))
    assert np.mean(y.var(axis=1, ddof=1) / mu) == pytest.approx(1.0, abs=0.03)


def test_outbreak_placement_and_state() -> None:
    n = 500
    with_now = simulate_noufaily(34, n, seed=5)
    without = simulate_noufaily(34, n, seed=5, current_outbreak=False)
    ob = with_now.outbreaks
    past, now = ob[~ob.current], ob[ob.current]
    assert len(past) == 4 * n and len(now) == n
    assert past.start.between(313, 575).all() and now.start.between(576, 624).all()
    assert sorted(past.k.unique()) == [2, 3, 5, 10]
    assert (now.k.to_numpy() == 1 + np.arange(n) % 10).all()
    # same baseline and past outbreaks; the difference is exactly the current outbreak's cases
    diff = with_now.counts.observed - without.counts.observed
    assert (diff >= 0).all()
    assert np.array_equal(diff[:575], np.zeros_like(diff[:575]))
    col_cases = diff.sum(axis=0)
    assert (col_cases <= now.cases.to_numpy()).all()  # cases past week 624 are cut
    assert col_cases.sum() >= 0.95 * now.cases.sum()
    # the state covers start..end of each outbreak with cases, and nothing before week 313
    st = with_now.counts.state
    assert st is not None
    assert not st[:312].any()
    for _, row in now[now.cases > 0].head(50).iterrows():
        assert st[row.start - 1 : row.end, row.column].all()
    # the mean size is k x baseline sd at the start week (Poisson mean)
    sc = noufaily_scenarios()[33]
    sd = np.sqrt(sc.phi * sc.mean(now.start.to_numpy(dtype=float)))
    assert now.cases.mean() == pytest.approx((now.k * sd).mean(), rel=0.05)
    # reproducible
    again = simulate_noufaily(34, n, seed=5)
    assert np.array_equal(again.counts.observed, with_now.counts.observed)


def test_outbreak_spread_is_lognormal_in_weeks() -> None:
    """With sdlog 0.5 about half the cases come in the start week, ~92% within one week."""
    sim = simulate_noufaily(37, 400, seed=9, k_current=10)
    base = simulate_noufaily(37, 400, seed=9, k_current=10, current_outbreak=False)
    now = sim.outbreaks[sim.outbreaks.current]
    diff = sim.counts.observed - base.counts.observed
    at_start = diff[now.start.to_numpy() - 1, now.column.to_numpy()].sum()
    next_week = diff[np.minimum(now.start.to_numpy(), 623), now.column.to_numpy()].sum()
    total = diff.sum()
    assert at_start / total == pytest.approx(0.5, abs=0.03)
    assert (at_start + next_week) / total == pytest.approx(0.92, abs=0.03)


def test_daily_design_has_day_of_week_effect() -> None:
    d = DailyDesign(theta=2.0, beta=0.0, gamma1=0.0, gamma2=0.0, phi=1.0, first_weekday=0)
    sim = simulate_daily(400, design=d, seed=4, current_outbreak=False)
    y = sim.counts.observed[:360]
    assert sim.counts.freq == 365 and sim.counts.epoch is not None
    assert str(sim.counts.epoch[0]) == "2020-01-06"  # a Monday
    by_day = np.array([y[i::7].mean() for i in range(7)])
    dow = np.log(np.asarray(d.dow))
    expected = np.exp(2.0 + dow - dow.mean())
    np.testing.assert_allclose(by_day, expected, rtol=0.02)
    with_now = simulate_daily(400, design=d, seed=4)
    now = with_now.outbreaks[with_now.outbreaks.current]
    lo, hi = with_now.evaluation
    assert now.start.between(lo, hi).all()
    with pytest.raises(InputError):
        simulate_daily(2, n_days=400)
