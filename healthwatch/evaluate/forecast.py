"""Forecast each region's indicator to the target year, with an interval and P(meeting the target).

The model: a random walk with drift, fitted on the log scale for positive series (rates,
ratios, years of life) and on the natural scale otherwise, with a robust drift.

Why this model for 5–15 annual points:

* It is the standard model for short annual health series (the Lee–Carter mortality index is
  forecast this way) and it has one parameter besides the noise, so five points are enough.
* Its forecast continues the compound annual growth rate the other methods use (Open SDG, UNSD
  both measure progress by CAGR), so forecast and status speak the same language.
* Its interval grows with the horizon as the series' own year-to-year variability says
  (σ²·h from the innovations plus σ²·h²/m from the uncertainty of the drift estimated from m
  differences), which keeps the interval honest where a straight-line regression with
  independent errors is far too narrow for trending series.
* Robustness: the drift is the median of the last four annual changes — the recent pace, which
  one odd year cannot move (the mean of the changes is the end-to-end slope, moved by an odd
  first or last year; the pace of fifteen years ago forecasts worse: in the backtest the
  recent median cut the error of infant-mortality forecasts from 4.7 % to 3.6 %).
* The interval: σ is the spread of the annual changes (on the working scale); the variance h
  years ahead is σ²·h (the year-to-year noise) + σ²·h²·(1 + 1/k): the drift estimated from k
  changes is uncertain (σ²/k) and the pace itself shifts between periods by about one typical
  annual deviation (σ²). Without that last term the 80 % interval covered only 55 % of held-out
  values (the pace of real series changes). A Student t quantile with m-1 degrees of freedom
  allows for the small sample.

``benchmarks/forecast_backtest.py`` checks the intervals on real annual series (life expectancy
and infant mortality of 185 countries, shipped by R's ``dslabs``): the 80 % interval must cover
70–90 % of held-out values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from healthwatch.jit import numba

FloatArray = NDArray[np.float64]

#: How many of the latest annual changes the drift is the median of.
RECENT = 4

#: Smallest innovation scale on the working scale, so that a perfectly smooth (interpolated)
#: series still gets an interval: 0.2 % a year on the log scale.
MIN_SIGMA_LOG = 0.002


@dataclass
class Forecast:
    """Forecast of N series for one horizon each: point value, interval and what it rests on."""

    year: FloatArray
    value: FloatArray
    low: FloatArray
    high: FloatArray
    level: float
    drift: FloatArray  #: per year on the working scale (log: relative change per year)
    sigma: FloatArray  #: innovation sd per year on the working scale
    df: FloatArray
    log_scale: NDArray[np.bool_]
    sd_h: FloatArray  #: predictive sd at the horizon on the working scale
    centre: FloatArray  #: predictive centre on the working scale

    def probability_within(self, low: FloatArray, high: FloatArray) -> FloatArray:
        """P(low <= x_T <= high) under the predictive t distribution (NaN bounds are open)."""

        def cdf(bound: FloatArray, default: float) -> FloatArray:
            b = np.asarray(bound, dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(self.log_scale, np.log(np.where(b > 0, b, np.nan)), b)
                w = np.where(self.log_scale & (b <= 0), -np.inf, w)
                z = (w - self.centre) / self.sd_h
            out = stats.t.cdf(z, self.df)
            return np.where(np.isnan(b), default, out)

        p = cdf(high, 1.0) - cdf(low, 0.0)
        return np.where(np.isnan(self.centre), np.nan, np.clip(p, 0.0, 1.0))


@numba.njit(cache=True)
def _fit_rows(
    years: FloatArray, v: FloatArray, recent: int, min_sigma_log: float
) -> tuple[FloatArray, FloatArray, NDArray[np.int64], FloatArray, FloatArray, NDArray[np.bool_]]:
    """Per row: robust drift, innovation sd, number of reports, last year and working value.

    One pass per row (numba): the reports are taken in year order, on the log scale when all
    are positive; rates are changes per year between successive reports; the drift is the
    median of the last ``recent`` rates; sigma is the root mean square of the one-year-scaled
    innovations (dw - drift*dy)/sqrt(dy) with m-1 degrees of freedom, floored.
    """
    n, y = v.shape
    drift = np.full(n, np.nan)
    sigma = np.full(n, np.nan)
    count = np.zeros(n, dtype=np.int64)
    t_last = np.full(n, np.nan)
    w_last = np.full(n, np.nan)
    positive = np.ones(n, dtype=np.bool_)
    ty = np.empty(y)
    wv = np.empty(y)
    rates = np.empty(y)
    dys = np.empty(y)
    dws = np.empty(y)
    buf = np.empty(recent)
    for i in range(n):
        k = 0
        pos = True
        total = 0.0
        for j in range(y):
            x = v[i, j]
            if not np.isnan(x):
                ty[k] = years[j]
                wv[k] = x
                total += abs(x)
                if x <= 0:
                    pos = False
                k += 1
        count[i] = k
        positive[i] = pos
        if k == 0:
            continue
        if pos:
            for a in range(k):
                wv[a] = np.log(wv[a])
        t_last[i] = ty[k - 1]
        w_last[i] = wv[k - 1]
        m = k - 1
        if m < 1:
            continue
        for a in range(m):
            dys[a] = ty[a + 1] - ty[a]
            dws[a] = wv[a + 1] - wv[a]
            rates[a] = dws[a] / dys[a]
        r = min(recent, m)
        for a in range(r):
            buf[a] = rates[m - r + a]
        part = np.sort(buf[:r])
        d = 0.5 * (part[(r - 1) // 2] + part[r // 2])
        drift[i] = d
        ss = 0.0
        for a in range(m):
            e = (dws[a] - d * dys[a]) / np.sqrt(dys[a])
            ss += e * e
        sd = np.sqrt(ss / max(m - 1, 1))
        floor = min_sigma_log if pos else min_sigma_log * total / k
        sigma[i] = max(sd, floor)
    return drift, sigma, count, t_last, w_last, positive


def forecast(
    years: NDArray[np.int64],
    values: FloatArray,
    target_year: NDArray[np.int64] | int,
    level: float = 0.8,
    min_points: int = 3,
) -> Forecast:
    """Forecast N series (rows of ``values`` over ``years``; NaN = no report) to ``target_year``.

    Series with fewer than ``min_points`` reports get NaN. Gaps are handled: an annual change
    over a k-year gap counts as k years of drift with k times the variance.
    """
    year_f: FloatArray = np.asarray(years, dtype=float)
    v = np.ascontiguousarray(values, dtype=float)
    n = v.shape[0]
    drift, sigma, count, t_last, w_last, positive = _fit_rows(year_f, v, RECENT, MIN_SIGMA_LOG)
    m = count - 1
    T = np.broadcast_to(np.asarray(target_year, dtype=float), (n,))
    h = np.maximum(T - t_last, 0.0)
    centre = w_last + drift * h
    k = np.clip(m, 1, RECENT)
    sd_h = sigma * np.sqrt(h + h**2 * (1.0 + 1.0 / k))
    df = np.maximum(m - 1, 1).astype(float)
    # t quantiles for the few distinct degrees of freedom only (ppf is slow per element)
    uniq, inverse = np.unique(df, return_inverse=True)
    q = stats.t.ppf(0.5 + level / 2, uniq)[inverse]
    lo_w, hi_w = centre - q * sd_h, centre + q * sd_h
    back = np.where(positive, np.exp(centre), centre)
    lo = np.where(positive, np.exp(lo_w), lo_w)
    hi = np.where(positive, np.exp(hi_w), hi_w)
    enough = count >= max(min_points, 2)
    nanify = lambda a: np.where(enough, a, np.nan)  # noqa: E731
    return Forecast(
        year=T.astype(float),
        value=nanify(back),
        low=nanify(lo),
        high=nanify(hi),
        level=level,
        drift=nanify(drift),
        sigma=nanify(sigma),
        df=df,
        log_scale=positive,
        sd_h=nanify(sd_h),
        centre=nanify(centre),
    )
