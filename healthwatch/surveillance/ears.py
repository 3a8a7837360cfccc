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

The numba kernels slide the baseline window down time with running sums of the counts and their
squares (exact in float64 for integer counts, so the figures agree with R's ``mean``/``sd`` to
the last bits), blocks of series run in parallel, and the inner loops run over contiguous series
so they vectorise. Memory: the four result arrays plus the input; chunk the series (see
``Counts.select``) to bound it for very many series.
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


@numba.njit(inline="always")
def _max_keep_nan(a: float, b: float) -> float:
    """max(a, b) that returns NaN when ``a`` is NaN (as numpy's ``maximum`` and R's ``max``)."""
    return a if (a >= b or a != a) else b


@numba.njit(inline="always")
def _window_add(
    x: np.ndarray, k: int, lo: int, sign: float, s1: np.ndarray, s2: np.ndarray, nmiss: np.ndarray
) -> None:
    """Add (sign 1) or remove (sign -1) row ``k`` of columns ``lo..`` to the running sums."""
    for j in range(s1.shape[0]):
        v = x[k, lo + j]
        if v != v:
            nmiss[j] += sign
        else:
            s1[j] += sign * v
            s2[j] += sign * (v * v)


@numba.njit(inline="always")
def _window_mean_sd(s1: float, s2: float, nmiss: float, baseline: int) -> tuple[float, float]:
    """Mean and sample sd from the running sums; NaN when the window holds a missing count.

    Counts are integers, so the sums and ``baseline * s2 - s1 ** 2`` are exact in float64 and
    the result equals R's two-pass ``mean``/``sd`` up to the last bit.
    """
    if nmiss > 0:
        return np.nan, np.nan
    var = (baseline * s2 - s1 * s1) / (baseline * (baseline - 1.0))
    return s1 / baseline, np.sqrt(var)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _c12_kernel(
    x: np.ndarray,
    start: int,
    stop: int,
    baseline: int,
    lag: int,
    z: float,
    min_sigma: float,
    expected: np.ndarray,
    upper: np.ndarray,
    score: np.ndarray,
    alarm: np.ndarray,
) -> None:
    """C1 (lag 1) or C2 (lag 3) for 0-based rows ``start..stop-1``, written into the outputs.

    Each parallel task takes a block of series and slides the baseline window down time with
    running sums, so the cost per cell does not grow with ``baseline``.
    """
    n = x.shape[1]
    for blk in numba.prange((n + _BLOCK - 1) // _BLOCK):
        lo = blk * _BLOCK
        w = min(n, lo + _BLOCK) - lo
        s1, s2, nmiss = np.zeros(w), np.zeros(w), np.zeros(w)
        first = start - lag - baseline + 1
        for k in range(first, first + baseline - 1):
            _window_add(x, k, lo, 1.0, s1, s2, nmiss)
        for r in range(start, stop):
            i = r - start
            _window_add(x, r - lag, lo, 1.0, s1, s2, nmiss)
            for jj in range(w):
                j = lo + jj
                mean, sd = _window_mean_sd(s1[jj], s2[jj], nmiss[jj], baseline)
                sigma = _max_keep_nan(sd, min_sigma)
                u = mean + z * sigma
                y = x[r, j]
                expected[i, j] = mean
                upper[i, j] = u
                score[i, j] = (y - mean) / sigma
                alarm[i, j] = y > u
            _window_add(x, r - lag - baseline + 1, lo, -1.0, s1, s2, nmiss)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _c3_kernel(
    x: np.ndarray,
    start: int,
    stop: int,
    baseline: int,
    z: float,
    min_sigma: float,
    r_compatible: bool,
    expected: np.ndarray,
    upper: np.ndarray,
    score: np.ndarray,
    alarm: np.ndarray,
) -> None:
    """C3 for 0-based rows ``start..stop-1``; C2 runs from ``start-2`` to feed the three-day sum."""
    n = x.shape[1]
    for blk in numba.prange((n + _BLOCK - 1) // _BLOCK):
        lo = blk * _BLOCK
        w = min(n, lo + _BLOCK) - lo
        s1, s2, nmiss = np.zeros(w), np.zeros(w), np.zeros(w)
        ex1 = np.zeros(w)  # max(0, C2 - 1) one day back
        ex2 = np.zeros(w)  # two days back
        first = start - 2 - 3 - baseline + 1
        for k in range(first, first + baseline - 1):
            _window_add(x, k, lo, 1.0, s1, s2, nmiss)
        for r in range(start - 2, stop):
            i = r - start
            _window_add(x, r - 3, lo, 1.0, s1, s2, nmiss)
            for jj in range(w):
                j = lo + jj
                mean, sd = _window_mean_sd(s1[jj], s2[jj], nmiss[jj], baseline)
                sigma = _max_keep_nan(sd, min_sigma)
                y = x[r, j]
                ex = _max_keep_nan((y - mean) / sigma - 1.0, 0.0)
                if i >= 0:
                    previous = ex2[jj] + ex1[jj]
                    c3 = previous + ex
                    expected[i, j] = mean
                    score[i, j] = c3
                    if r_compatible:
                        u = _max_keep_nan(y + sigma * (z - previous), 0.0)
                        upper[i, j] = u
                        alarm[i, j] = y > u
                    else:
                        if previous >= z:
                            upper[i, j] = 0.0
                        else:
                            upper[i, j] = _max_keep_nan(mean + sigma * (1.0 + z - previous), 0.0)
                        alarm[i, j] = c3 >= z
                ex2[jj] = ex1[jj]
                ex1[jj] = ex
            _window_add(x, r - 3 - baseline + 1, lo, -1.0, s1, s2, nmiss)


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


def _run(
    method: str,
    counts: Counts,
    range: Any,
    baseline: int,
    min_sigma: float,
    alpha: float,
    r_compatible: bool = True,
) -> DetectionResult:
    _check(baseline, min_sigma, alpha)
    first = baseline + {"ears_c1": 1, "ears_c2": 3, "ears_c3": 5}[method]
    rng = _range(counts, range, first, method)
    x = np.ascontiguousarray(counts.observed)
    # Compute the contiguous span of rows covering the range (the usual case is the range
    # itself), then pick the requested rows.
    start, stop = int(rng[0]) - 1, int(rng[-1])
    shape = (stop - start, x.shape[1])
    expected, upper, score = np.empty(shape), np.empty(shape), np.empty(shape)
    alarm = np.empty(shape, dtype=np.bool_)
    z = float(norm.ppf(1 - alpha))
    if method == "ears_c3":
        _c3_kernel(
            x, start, stop, int(baseline), z, float(min_sigma), r_compatible,
            expected, upper, score, alarm,
        )  # fmt: skip
    else:
        lag = 1 if method == "ears_c1" else 3
        _c12_kernel(
            x, start, stop, int(baseline), lag, z, float(min_sigma), expected, upper, score, alarm
        )
    observed = x[start:stop]
    if len(rng) != stop - start:
        pick = rng - 1 - start
        expected, upper, score = expected[pick], upper[pick], score[pick]
        alarm, observed = alarm[pick], observed[pick]
    control: dict[str, Any] = {"baseline": baseline, "min_sigma": min_sigma, "alpha": alpha}
    if method == "ears_c3":
        control["r_compatible"] = r_compatible
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
    return _run("ears_c1", counts, range, baseline, min_sigma, alpha)


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
    return _run("ears_c2", counts, range, baseline, min_sigma, alpha)


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
    return _run("ears_c3", counts, range, baseline, min_sigma, alpha, r_compatible)
