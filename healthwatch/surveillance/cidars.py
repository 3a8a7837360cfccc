"""China's CIDARS early-warning methods (Yang W et al., WPSAR 2011;2(1):10-15).

:func:`cidars_fixed` — fixed threshold: a single case signals at once (plague, cholera, SARS,
polio, human highly pathogenic avian influenza, pulmonary anthrax, pneumonia of unknown cause).

:func:`cidars_mpm` — the moving percentile method (the temporal model run daily for county
counts), defined here exactly:

- **current window**: the sum of the ``window`` time points ending at ``t``:
  ``C(t) = x(t-6) + .. + x(t)`` for daily data (``window = 7``; weekly data use ``window = 1``);
- **baseline**: for each of the previous ``years`` years ``i = 1..years`` and each block offset
  ``j = -2..2``, the sum of the window of the same length ending at ``t - i*freq + 7*j`` (weekly
  data: ``t - i*freq + j``): the same period, the two before it and the two after it, i.e. the
  5-week block around the same time of year. That is ``5 * years`` values (15 for 3 years).
  A year is ``freq`` time points (365 days or 52 weeks): calendar drift of leap years is
  ignored, as a fixed lag keeps the method vectorised and reproducible;
- **threshold**: the ``percentile``-th percentile of the baseline values with the linear
  interpolation definition (R's ``quantile`` type 7, numpy's default, Excel's
  ``PERCENTILE.INC``): with the ``n`` values sorted ``v_0 <= .. <= v_{n-1}``, ``h = (n-1) p/100``,
  ``P = v_floor(h) + (h - floor(h)) (v_floor(h)+1 - v_floor(h))``;
- **signal** when ``C(t) > P`` (strictly above).

Per-disease percentiles (the optima reported for CIDARS): chickenpox P75, mumps P80, influenza
P75, rubella P45, hand-foot-and-mouth disease P75, scarlet fever P80; choose one with
``disease=`` (English or Chinese name) or give ``percentile=`` directly; with neither, P80.

Missing counts: a baseline window containing a missing day is left out of the percentile (the
remaining values are used; none left gives NaN); a current window containing a missing day
gives a NaN score and no signal.

Result: ``score`` is ``C(t)``, ``upperbound`` the percentile ``P``, ``expected`` the median of
the baseline values (same interpolation), ``observed`` the count at ``t``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance.series import Counts, DetectionResult, evaluable_range, resolve_range

__all__ = ["DISEASE_PERCENTILES", "cidars_fixed", "cidars_mpm", "percentile_linear"]

#: optimal percentiles reported for the moving percentile method, by disease
DISEASE_PERCENTILES: dict[str, float] = {
    "chickenpox": 75,
    "mumps": 80,
    "influenza": 75,
    "rubella": 45,
    "hfmd": 75,
    "scarlet_fever": 80,
}

_ALIASES: dict[str, str] = {
    "varicella": "chickenpox",
    "水痘": "chickenpox",
    "流行性腮腺炎": "mumps",
    "腮腺炎": "mumps",
    "流行性感冒": "influenza",
    "流感": "influenza",
    "flu": "influenza",
    "风疹": "rubella",
    "hand_foot_and_mouth_disease": "hfmd",
    "hand_foot_mouth_disease": "hfmd",
    "手足口病": "hfmd",
    "猩红热": "scarlet_fever",
}

#: percentile used when neither ``percentile`` nor ``disease`` is given
DEFAULT_PERCENTILE = 80.0

#: time points evaluated per step (bounds the (5*years, rows, series) baseline array)
_ROWS_PER_STEP = 64


def percentile_linear(values: np.ndarray, q: float, axis: int = 0) -> np.ndarray:
    """Type-7 percentile ``q`` (0..100) along ``axis``, ignoring NaN (all-NaN gives NaN)."""
    v = np.sort(np.moveaxis(values, axis, 0), axis=0)  # NaN sort last
    n = np.sum(~np.isnan(v), axis=0)
    h = (np.maximum(n, 1) - 1) * (q / 100.0)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    v_lo = np.take_along_axis(v, lo[None], axis=0)[0]
    v_hi = np.take_along_axis(v, hi[None], axis=0)[0]
    out = v_lo + (h - lo) * (v_hi - v_lo)
    return np.where(n > 0, out, np.nan)


def _disease_percentile(disease: str | None, percentile: float | None) -> float:
    if percentile is not None:
        if not 0 <= percentile <= 100:
            raise InputError(
                [
                    Problem(
                        f"percentile must lie in 0..100, got {percentile}",
                        f"percentile 必须位于 0..100 之间，实际为 {percentile}",
                        field="percentile",
                    )
                ]
            )
        return float(percentile)
    if disease is None:
        return DEFAULT_PERCENTILE
    key = disease.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, _ALIASES.get(disease.strip(), key))
    if key not in DISEASE_PERCENTILES:
        known = ", ".join(DISEASE_PERCENTILES)
        raise InputError(
            [
                Problem(
                    f"no default percentile for disease {disease!r}; known: {known}; "
                    "or pass percentile= directly",
                    f"疾病 {disease!r} 没有默认百分位数；已知：{known}；或直接指定 percentile=",
                    field="disease",
                )
            ]
        )
    return float(DISEASE_PERCENTILES[key])


def _window_sums(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of the ``window`` rows ending at each row (NaN before the first full window or when
    the window holds a missing count)."""
    missing = np.isnan(x)
    zero = np.zeros((1, x.shape[1]))
    csum = np.concatenate([zero, np.cumsum(np.where(missing, 0.0, x), axis=0)])
    cmiss = np.concatenate([zero, np.cumsum(missing, axis=0)])
    out = np.full(x.shape, np.nan)
    out[window - 1 :] = csum[window:] - csum[:-window]
    has_missing = (cmiss[window:] - cmiss[:-window]) > 0
    out[window - 1 :][has_missing] = np.nan
    return out


def cidars_mpm(
    counts: Counts,
    *,
    range: Any = None,
    percentile: float | None = None,
    disease: str | None = None,
    years: int = 3,
) -> DetectionResult:
    """CIDARS moving percentile method (see the module docstring for the exact definition).

    R's surveillance package has no counterpart; the definition follows Yang et al. (2011).

    Daily data (``freq=365``) use 7-day windows and 7-day block steps; weekly data (``freq=52``)
    one-week windows and one-week steps. The default range starts at the first time point with
    a full baseline: ``years*freq + 2*step + window``.
    """
    p = _disease_percentile(disease, percentile)
    if counts.freq not in (365, 52):
        raise InputError(
            [
                Problem(
                    f"the moving percentile method needs daily (freq=365) or weekly (freq=52) "
                    f"counts, got freq={counts.freq}",
                    f"移动百分位数法需要日（freq=365）或周（freq=52）数据，实际 freq={counts.freq}",
                    field="freq",
                )
            ]
        )
    if int(years) != years or years < 1:
        raise InputError(
            [
                Problem(
                    f"years must be an integer >= 1 (CIDARS uses 3 or 5), got {years}",
                    f"years 必须为不小于 1 的整数（CIDARS 使用 3 或 5），实际为 {years}",
                    field="years",
                )
            ]
        )
    window, step = (7, 7) if counts.freq == 365 else (1, 1)
    first = int(years) * counts.freq + 2 * step + window
    rng = evaluable_range(
        counts,
        range,
        first,
        method=f"the moving percentile method (years={years})",
        method_zh=f"移动百分位数法（years={years}）",
        need_en=f"{years} years of history plus the block around the same period",
        need_zh=f"{years} 年历史加同期前后区块",
    )
    sums = _window_sums(counts.observed, window)
    year = np.arange(1, int(years) + 1)[:, None]
    lags = (year * counts.freq - np.arange(-2, 3)[None, :] * step).reshape(-1)
    shape = (len(rng), counts.n_series)
    upper, expected = np.empty(shape), np.empty(shape)
    for lo in np.arange(0, len(rng), _ROWS_PER_STEP):
        rows = rng[lo : lo + _ROWS_PER_STEP] - 1
        base = sums[rows[None, :] - lags[:, None]]  # (5*years, rows, series)
        upper[lo : lo + len(rows)] = percentile_linear(base, p)
        expected[lo : lo + len(rows)] = percentile_linear(base, 50.0)
    score = sums[rng - 1]
    with np.errstate(invalid="ignore"):
        alarm = score > upper
    return DetectionResult(
        method="cidars_mpm",
        t=rng,
        dates=counts.dates_of(rng),
        names=list(counts.names),
        expected=expected,
        upperbound=upper,
        alarm=alarm,
        score=score,
        observed=counts.observed[rng - 1],
        control={"percentile": p, "disease": disease, "years": years},
    )


def cidars_fixed(counts: Counts, *, range: Any = None, threshold: int = 1) -> DetectionResult:
    """CIDARS fixed threshold: signal as soon as ``threshold`` cases (default one) occur.

    ``upperbound`` is ``threshold - 1`` (a signal is a count above it), ``score`` the count;
    a missing count gives no signal. R's surveillance package has no counterpart: the method is
    defined from Yang et al. (2011), see the module docstring.
    """
    if int(threshold) != threshold or threshold < 1:
        raise InputError(
            [
                Problem(
                    f"threshold must be an integer >= 1 (cases), got {threshold}",
                    f"threshold 必须为不小于 1 的整数（病例数），实际为 {threshold}",
                    field="threshold",
                )
            ]
        )
    rng = resolve_range(counts, range, 1)
    observed = counts.observed[rng - 1]
    upper = np.full(observed.shape, float(threshold) - 1.0)
    with np.errstate(invalid="ignore"):
        alarm = observed >= threshold
    return DetectionResult(
        method="cidars_fixed",
        t=rng,
        dates=counts.dates_of(rng),
        names=list(counts.names),
        expected=np.zeros(observed.shape),
        upperbound=upper,
        alarm=alarm,
        score=observed.copy(),
        observed=observed,
        control={"threshold": threshold},
    )
