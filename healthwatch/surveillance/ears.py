"""EARS C1, C2 and C3 (R ``surveillance::earsC``), vectorised over series with numba.

The CDC's Early Aberration Reporting System compares each day's count with the mean and
standard deviation of a short moving baseline (Fricker, Hegler and Dunfee 2008, Stat Med
27:3407; Salmon, Schumacher and Höhle 2016, J Stat Softw 70(10)):

- C1: baseline ``t-baseline .. t-1``; ``U = mean + z * max(sd, min_sigma)``.
- C2: the same with a two-day guard band, baseline ``t-baseline-2 .. t-3``.
- C3: ``C3(t) = sum_{i=t-2..t} max(0, C2(i) - 1)``; see :func:`ears_c3` for R's upper bound
  (which differs from its documentation) and the ``r_compatible`` switch.

``z`` is the one-sided ``1 - alpha`` normal quantile and ``sd`` the sample standard deviation
(divisor ``baseline - 1``). An alarm is raised when the count exceeds the upper bound (as R
does; so a count equal to a constant baseline does not alarm). Missing counts (NaN) in a
baseline make that time point's bound NaN, as in R; a missing count at ``t`` gives a bound but
no alarm (``alarm`` is False and ``score`` NaN there).

The kernel reads each baseline directly (two passes: mean, then squared deviations) so the
figures agree with R's ``mean``/``sd`` to the last bits; it walks time points in the outer loop
and series in the inner loop, so the inner loop runs over contiguous memory and vectorises.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from scipy.stats import norm

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance.series import Counts, DetectionResult, resolve_range

__all__ = ["ears_c1", "ears_c2", "ears_c3"]

#: columns per parallel task: big enough to vectorise, small enough to stay in cache
_BLOCK = 512


@numba.njit(parallel=True, cache=True, fastmath=False)
def _baseline_stats(
    x: np.ndarray, rows: np.ndarray, baseline: int, lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample sd of ``x[r-lag-baseline+1 .. r-lag]`` for each 0-based row ``r``."""
    n_rows = rows.shape[0]
    n = x.shape[1]
    mean = np.empty((n_rows, n))
    sd = np.empty((n_rows, n))
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        lo = b * _BLOCK
        hi = min(n, lo + _BLOCK)
        acc = np.empty(hi - lo)
        for i in range(n_rows):
            last = rows[i] - lag
            first = last - baseline + 1
            acc[:] = 0.0
            for k in range(first, last + 1):
                for j in range(lo, hi):
                    acc[j - lo] += x[k, j]
            for j in range(lo, hi):
                mean[i, j] = acc[j - lo] / baseline
            acc[:] = 0.0
            for k in range(first, last + 1):
                for j in range(lo, hi):
                    d = x[k, j] - mean[i, j]
                    acc[j - lo] += d * d
            for j in range(lo, hi):
                sd[i, j] = np.sqrt(acc[j - lo] / (baseline - 1))
    return mean, sd


def _check(baseline: int, min_sigma: float, alpha: float) -> None:
    problems = []
    if int(baseline) != baseline or baseline < 2:
        problems.append(
            Problem(
                f"baseline must be an integer >= 2 (a standard deviation needs two counts), "
                f"got {baseline}",
                f"baseline 必须为不小于 2 的整数（计算标准差至少需要两个计数），实际为 {baseline}",
                field="baseline",
            )
        )
    if not min_sigma >= 0:
        problems.append(
            Problem(
                f"min_sigma must be >= 0, got {min_sigma}",
                f"min_sigma 必须不小于 0，实际为 {min_sigma}",
                field="min_sigma",
            )
        )
    if not 0 < alpha < 1:
        problems.append(
            Problem(
                f"alpha must lie strictly between 0 and 1, got {alpha}",
                f"alpha 必须位于 0 和 1 之间（不含端点），实际为 {alpha}",
                field="alpha",
            )
        )
    if problems:
        raise InputError(problems)


def _range(counts: Counts, range: Any, first: int, method: str) -> np.ndarray:
    if counts.n_times < first:
        raise InputError(
            [
                Problem(
                    f"{method} needs at least {first} time points for its first evaluation "
                    f"(baseline plus guard days), the series have {counts.n_times}; "
                    "use a shorter baseline or a longer history",
                    f"{method} 第一次评估至少需要 {first} 个时间点（基线加间隔），序列只有 "
                    f"{counts.n_times} 个；请缩短 baseline 或提供更长的历史数据",
                    field="range",
                )
            ]
        )
    rng = resolve_range(counts, range, first)
    if rng[0] < first:
        raise InputError(
            [
                Problem(
                    f"{method} can evaluate t >= {first} only (it needs the counts of the "
                    f"baseline before t); range starts at t={rng[0]}",
                    f"{method} 只能评估 t >= {first} 的时间点（需要 t 之前的基线计数）；"
                    f"range 从 t={rng[0]} 开始",
                    field="range",
                )
            ]
        )
    return rng


def _result(
    method: str,
    counts: Counts,
    rng: np.ndarray,
    expected: np.ndarray,
    upper: np.ndarray,
    score: np.ndarray,
    control: dict[str, Any],
) -> DetectionResult:
    observed = counts.observed[rng - 1]
    with np.errstate(invalid="ignore"):
        alarm = observed > upper
    return DetectionResult(
        method=method,
        t=rng,
        names=list(counts.names),
        expected=expected,
        upperbound=upper,
        alarm=alarm,
        score=score,
        observed=observed,
        control=control,
    )


def _c_stat(y: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (y - mean) / sd


def _c12(
    counts: Counts, range: Any, baseline: int, min_sigma: float, alpha: float, lag: int
) -> DetectionResult:
    method = "ears_c1" if lag == 1 else "ears_c2"
    _check(baseline, min_sigma, alpha)
    rng = _range(counts, range, baseline + lag, method)
    x = np.ascontiguousarray(counts.observed)
    mean, sd = _baseline_stats(x, (rng - 1).astype(np.int64), int(baseline), lag)
    sigma = np.maximum(sd, min_sigma) if min_sigma > 0 else sd
    z = float(norm.ppf(1 - alpha))
    upper = mean + z * sigma
    score = _c_stat(x[rng - 1], mean, sigma)
    control = {"baseline": baseline, "min_sigma": min_sigma, "alpha": alpha}
    return _result(method, counts, rng, mean, upper, score, control)


def ears_c1(
    counts: Counts,
    *,
    range: Any = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    alpha: float = 0.001,
) -> DetectionResult:
    """EARS C1 (R ``earsC(method = "C1")``): baseline ``t-baseline .. t-1``.

    The default range starts at ``t = baseline + 1``. ``expected`` is the baseline mean, ``score``
    the C1 statistic ``(y - mean) / max(sd, min_sigma)``.
    """
    return _c12(counts, range, baseline, min_sigma, alpha, lag=1)


def ears_c2(
    counts: Counts,
    *,
    range: Any = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    alpha: float = 0.001,
) -> DetectionResult:
    """EARS C2 (R ``earsC(method = "C2")``): baseline ``t-baseline-2 .. t-3``.

    The default range starts at ``t = baseline + 3``.
    """
    return _c12(counts, range, baseline, min_sigma, alpha, lag=3)


def ears_c3(
    counts: Counts,
    *,
    range: Any = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    alpha: float = 0.025,
    r_compatible: bool = True,
) -> DetectionResult:
    """EARS C3 (R ``earsC(method = "C3")``): sum of the exceedances of C2 over three days.

    The default range starts at ``t = baseline + 5``. ``score`` is C3; ``expected`` the C2
    baseline mean at ``t``. ``min_sigma`` floors the C2 standard deviations as in C2.

    R (surveillance 1.20.3) computes the upper bound as ``max(0, y(t) + sd2(t) (z - P))`` with
    ``P = sum_{i=t-2..t-1} max(0, C2(i) - 1)``, i.e. with the observed count where its
    documentation has the baseline mean, and alarms when ``y(t) > U``: the alarm then depends on
    ``P > z`` only (or, once U is clipped at 0, on any case). ``r_compatible=True`` (default)
    reproduces this exactly. ``r_compatible=False`` alarms when ``C3(t) >= z`` and reports as
    upper bound the smallest count that does so: ``mean2 + sd2 (1 + z - P)`` (0 when P >= z).
    """
    _check(baseline, min_sigma, alpha)
    rng = _range(counts, range, baseline + 5, "ears_c3")
    x = np.ascontiguousarray(counts.observed)
    # C2 at t-2, t-1, t for every evaluated t: one kernel call over the union of those rows.
    rows = np.unique(np.concatenate([rng - 3, rng - 2, rng - 1])).astype(np.int64)
    mean, sd = _baseline_stats(x, rows, int(baseline), 3)
    sigma = np.maximum(sd, min_sigma) if min_sigma > 0 else sd
    excess = np.maximum(_c_stat(x[rows], mean, sigma) - 1.0, 0.0)  # NaN stays NaN
    pos = np.searchsorted(rows, rng - 1)
    z = float(norm.ppf(1 - alpha))
    previous = excess[pos - 2] + excess[pos - 1]
    score = previous + excess[pos]
    control = {
        "baseline": baseline,
        "min_sigma": min_sigma,
        "alpha": alpha,
        "r_compatible": r_compatible,
    }
    if r_compatible:
        # R: U = max(0, y(t) + sd2(t) (z - previous)), alarm y(t) > U.
        with np.errstate(invalid="ignore"):
            upper = np.maximum(x[rng - 1] + sigma[pos] * (z - previous), 0.0)
        return _result("ears_c3", counts, rng, mean[pos], upper, score, control)
    # The count at t that makes C3(t) reach z: any count when the two previous days already do.
    with np.errstate(invalid="ignore"):
        needed = mean[pos] + sigma[pos] * (1.0 + z - previous)
    upper = np.where(previous >= z, 0.0, np.maximum(needed, 0.0))
    res = _result("ears_c3", counts, rng, mean[pos], upper, score, control)
    with np.errstate(invalid="ignore"):
        res.alarm = score >= z
    return res
