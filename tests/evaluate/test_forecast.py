"""Forecast intervals: calibrated on simulated series, honest on real ones (dslabs gapminder)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from healthwatch.evaluate.forecast import forecast


def test_interval_covers_about_80_percent_of_simulated_random_walks() -> None:
    """Random walks with a constant drift (the simplest case the model covers): the 80 % interval
    covers at least 80 % and is not absurdly wide. It is conservative here (about 96 %) because
    it also allows the pace to shift, which real series do (85.6 % on real data)."""
    rng = np.random.default_rng(7)
    n, fit, ahead = 4000, 10, 5
    steps = rng.normal(-0.03, 0.02, (n, fit + ahead))
    series = 10 * np.exp(np.cumsum(steps, axis=1))
    years = np.arange(2011, 2011 + fit)
    inside = []
    for h in range(1, ahead + 1):
        fc = forecast(years, series[:, :fit], 2010 + fit + h)
        actual = series[:, fit + h - 1]
        inside.append((actual >= fc.low) & (actual <= fc.high))
    coverage = float(np.mean(inside))
    assert 0.80 <= coverage <= 0.98, coverage


def test_gaps_too_few_points_and_probability() -> None:
    years = np.arange(2016, 2024)
    v = np.array(
        [
            [3.9, np.nan, 3.62, 3.55, np.nan, 3.31, 3.2, 3.12],  # gaps
            [np.nan] * 6 + [3.2, 3.1],  # two reports: no forecast
            [-1.0, -0.5, 0.0, 0.4, 1.1, 1.4, 2.0, 2.6],  # crosses zero: natural scale
        ]
    )
    fc = forecast(years, v, 2025)
    assert fc.low[0] < fc.value[0] < fc.high[0] < 3.12
    assert np.isnan(fc.value[1])
    assert not fc.log_scale[2] and fc.value[2] == pytest.approx(
        2.6 + 2 * 0.6
    )  # median of last 4 changes
    p_low = fc.probability_within(np.array([np.nan] * 3), np.array([3.0, 3.0, 3.0]))
    p_all = fc.probability_within(np.array([np.nan] * 3), np.array([np.nan] * 3))
    assert 0.5 < p_low[0] < 1.0 and p_all[0] == pytest.approx(1.0) and np.isnan(p_low[1])


def _dslabs() -> bool:
    if shutil.which("Rscript") is None:
        return False
    out = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('dslabs', quietly = TRUE))"],
        capture_output=True,
        timeout=120,
    )
    return out.returncode == 0


@pytest.mark.r
@pytest.mark.skipif(not _dslabs(), reason="R package dslabs (Debian r-cran-dslabs) not installed")
def test_backtest_on_real_series_covers_70_to_90_percent() -> None:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "forecast_backtest.py"
    spec = importlib.util.spec_from_file_location("forecast_backtest", path)
    assert spec is not None and spec.loader is not None
    bt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bt)
    frame = bt.load_gapminder()
    for column in ("life_expectancy", "infant_mortality"):
        r = bt.backtest(frame, column, 10)
        assert 0.70 <= r["coverage"] <= 0.90, (column, r)
