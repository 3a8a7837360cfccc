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
so they vectorise. Memory: the four result arrays plus the input (read in place, also when it
is a column slice of a larger array); chunk the series with ``engine.iter_results`` to bound it
for very many series, and pass ``out=`` to reuse one set of result arrays across chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm

from healthwatch.errors import InputError, Problem
from healthwatch.jit import numba
from healthwatch.surveillance.series import Counts, DetectionResult, evaluable_range

__all__ = ["ears_c1", "ears_c2", "ears_c3"]

#: columns per parallel task: big enough to vectorise, small enough that the task's running sums
#: and the rows it touches stay in the L1/L2 cache
_BLOCK = 256

# The kernels are split into small row functions over one contiguous run of series. Numba
# compiles each with its array arguments as separate buffers, so LLVM vectorises their loops
# (packed sqrt/div); written inline in the parallel loop the same code stays scalar because
# LLVM cannot rule out that the outputs overlap the input. The row functions see only 1-D
# slices; the kernels slide down time and call them once per row and block of series.


@numba.njit(cache=True)
def _block_copy(x: np.ndarray, first: int, stop: int, lo: int, hi: int) -> np.ndarray:
    """Rows ``first..stop-1`` of columns ``lo..hi-1`` as a new C-contiguous array.

    One block (a year of 256 series is 0.7 MB) fits the core's L2 cache; copying it lets the
    row functions work on contiguous rows whatever the layout of ``x`` (a chunk of series is a
    column slice, whose rows numba cannot prove contiguous, and strided loads do not vectorise).
    """
    out = np.empty((stop - first, hi - lo))
    for k in range(first, stop):
        out[k - first, :] = x[k, lo:hi]
    return out


@numba.njit(cache=True, error_model="numpy")
def _window_add(row: np.ndarray, s1: np.ndarray, s2: np.ndarray, nmiss: np.ndarray) -> None:
    """Add one row of counts to the running sums (a missing count is counted in ``nmiss``)."""
    for j in range(s1.shape[0]):
        v = row[j]
        ok = v == v
        v0 = v if ok else 0.0
        s1[j] += v0
        s2[j] += v0 * v0
        nmiss[j] += 0.0 if ok else 1.0


@numba.njit(cache=True, error_model="numpy")
def _window_slide(
    add: np.ndarray, drop: np.ndarray, s1: np.ndarray, s2: np.ndarray, nmiss: np.ndarray
) -> None:
    """Move the window one day: add row ``add``, remove row ``drop``.

    Counts are integers, so the sums stay exact in float64 and the order of the updates does
    not change a bit of the result.
    """
    for j in range(s1.shape[0]):
        v = add[j]
        w = drop[j]
        v_ok = v == v
        w_ok = w == w
        v0 = v if v_ok else 0.0
        w0 = w if w_ok else 0.0
        s1[j] += v0 - w0
        s2[j] += v0 * v0 - w0 * w0
        nmiss[j] += (0.0 if v_ok else 1.0) - (0.0 if w_ok else 1.0)


@numba.njit(inline="always")
def _mean_sigma(
    s1: float, s2: float, nmiss: float, b: float, min_sigma: float
) -> tuple[float, float]:
    """Baseline mean and ``max(sd, min_sigma)`` from the running sums; NaN if a count is missing.

    ``baseline * s2 - s1 ** 2`` is exact for integer counts, so mean and sd equal R's two-pass
    ``mean``/``sd`` to the last bit. The max keeps NaN, as R's ``max`` does.
    """
    mean = s1 / b
    sd = np.sqrt((b * s2 - s1 * s1) / (b * (b - 1.0)))
    if nmiss > 0:
        mean = np.nan
        sd = np.nan
    sigma = sd if (sd >= min_sigma or sd != sd) else min_sigma
    return mean, sigma


@numba.njit(cache=True, error_model="numpy")
def _c12_row(
    y: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
    nmiss: np.ndarray,
    b: float,
    z: float,
    min_sigma: float,
    expected: np.ndarray,
    upper: np.ndarray,
    score: np.ndarray,
    alarm: np.ndarray,
) -> None:
    """C1/C2 outputs of one time point for one block of series."""
    for j in range(y.shape[0]):
        mean, sigma = _mean_sigma(s1[j], s2[j], nmiss[j], b, min_sigma)
        u = mean + z * sigma
        v = y[j]
        expected[j] = mean
        upper[j] = u
        score[j] = (v - mean) / sigma
        alarm[j] = v > u


@numba.njit(cache=True, error_model="numpy")
def _c2_exceedance_row(
    y: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
    nmiss: np.ndarray,
    b: float,
    min_sigma: float,
    mean_out: np.ndarray,
    sigma_out: np.ndarray,
    ex_out: np.ndarray,
) -> None:
    """C2's mean, sigma and exceedance ``max(0, C2 - 1)`` (NaN kept) of one time point."""
    for j in range(y.shape[0]):
        mean, sigma = _mean_sigma(s1[j], s2[j], nmiss[j], b, min_sigma)
        mean_out[j] = mean
        sigma_out[j] = sigma
        ex = (y[j] - mean) / sigma - 1.0
        ex_out[j] = ex if (ex >= 0.0 or ex != ex) else 0.0


@numba.njit(cache=True, error_model="numpy")
def _c3_row(
    y: np.ndarray,
    mean: np.ndarray,
    sigma: np.ndarray,
    ex0: np.ndarray,
    ex1: np.ndarray,
    ex2: np.ndarray,
    z: float,
    r_compatible: bool,
    expected: np.ndarray,
    upper: np.ndarray,
    score: np.ndarray,
    alarm: np.ndarray,
) -> None:
    """C3 outputs of one time point from today's (ex0) and the two previous exceedances."""
    for j in range(y.shape[0]):
        previous = ex2[j] + ex1[j]
        c3 = previous + ex0[j]
        m = mean[j]
        s = sigma[j]
        v = y[j]
        expected[j] = m
        score[j] = c3
        if r_compatible:
            u = v + s * (z - previous)
            u = u if (u >= 0.0 or u != u) else 0.0
            upper[j] = u
            alarm[j] = v > u
        else:
            u = m + s * (1.0 + z - previous)
            u = u if (u >= 0.0 or u != u) else 0.0
            upper[j] = 0.0 if previous >= z else u
            alarm[j] = c3 >= z


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
    running sums, so the cost per cell does not grow with ``baseline``. ``x`` may be a column
    slice of a larger array (a chunk of series): it is read in place, not copied.
    """
    n = x.shape[1]
    b = float(baseline)
    for blk in numba.prange((n + _BLOCK - 1) // _BLOCK):
        lo = blk * _BLOCK
        hi = min(n, lo + _BLOCK)
        w = hi - lo
        s1, s2, nmiss = np.zeros(w), np.zeros(w), np.zeros(w)
        first = start - lag - baseline + 1
        xb = _block_copy(x, first, stop, lo, hi)  # xb[k - first] is row k
        for k in range(first, first + baseline):
            _window_add(xb[k - first], s1, s2, nmiss)
        for r in range(start, stop):
            i = r - start
            if r > start:
                _window_slide(xb[r - lag - first], xb[r - lag - baseline - first], s1, s2, nmiss)
            _c12_row(
                xb[r - first], s1, s2, nmiss, b, z, min_sigma,
                expected[i, lo:hi], upper[i, lo:hi], score[i, lo:hi], alarm[i, lo:hi],
            )  # fmt: skip


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
    b = float(baseline)
    for blk in numba.prange((n + _BLOCK - 1) // _BLOCK):
        lo = blk * _BLOCK
        hi = min(n, lo + _BLOCK)
        w = hi - lo
        s1, s2, nmiss = np.zeros(w), np.zeros(w), np.zeros(w)
        mean, sigma = np.empty(w), np.empty(w)
        # exceedances max(0, C2 - 1) of today, yesterday and the day before, rotated each day
        ex = np.zeros((3, w))
        first = start - 2 - 3 - baseline + 1
        xb = _block_copy(x, first, stop, lo, hi)  # xb[k - first] is row k
        for k in range(first, first + baseline):
            _window_add(xb[k - first], s1, s2, nmiss)
        for r in range(start - 2, stop):
            i = r - start
            if r > start - 2:
                _window_slide(xb[r - 3 - first], xb[r - 3 - baseline - first], s1, s2, nmiss)
            today = ex[(r - start + 3) % 3]
            _c2_exceedance_row(xb[r - first], s1, s2, nmiss, b, min_sigma, mean, sigma, today)
            if i >= 0:
                _c3_row(
                    xb[r - first], mean, sigma, today, ex[(i + 2) % 3], ex[(i + 1) % 3], z,
                    r_compatible, expected[i, lo:hi], upper[i, lo:hi], score[i, lo:hi],
                    alarm[i, lo:hi],
                )  # fmt: skip


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
    return evaluable_range(
        counts,
        range,
        first,
        method=method,
        need_en="the baseline days and guard days before t; use a shorter baseline or a longer "
        "history",
        need_zh="t 之前的基线天数加间隔；请缩短 baseline 或提供更长的历史数据",
    )


def _input(counts: Counts) -> np.ndarray:
    """The counts as the kernels read them, without a copy where possible.

    A column slice of a C-ordered array (what ``Counts.select`` gives the engine for a chunk of
    series) has contiguous rows and is read in place; anything else is made C-contiguous.
    """
    x = counts.observed
    if x.dtype == np.float64 and (x.flags.c_contiguous or x.strides[1] == x.itemsize):
        return x
    return np.ascontiguousarray(x, dtype=np.float64)


def _outputs(
    shape: tuple[int, int], out: DetectionResult | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """expected, upperbound, score, alarm: new arrays, or the arrays of ``out`` to overwrite."""
    if out is None:
        return np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape, dtype=np.bool_)
    arrays = (out.expected, out.upperbound, out.score, out.alarm)
    dtypes = (np.float64, np.float64, np.float64, np.bool_)
    if not all(
        a.shape == shape and a.dtype == d and a.flags.c_contiguous and a.flags.writeable
        for a, d in zip(arrays, dtypes, strict=True)
    ):
        raise InputError(
            [
                Problem(
                    f"out must be an EARS result with {shape[0]} time points x {shape[1]} series "
                    "(from an earlier call on a batch of the same size); pass out=None otherwise",
                    f"out 必须是 {shape[0]} 个时间点 × {shape[1]} 条序列的 EARS 结果"
                    "（来自同样大小批次的上一次调用）；否则请传 out=None",
                    field="out",
                )
            ]
        )
    return arrays


def _run(
    method: str,
    counts: Counts,
    range: Any,
    baseline: int,
    min_sigma: float,
    alpha: float,
    r_compatible: bool = True,
    out: DetectionResult | None = None,
) -> DetectionResult:
    _check(baseline, min_sigma, alpha)
    first = baseline + {"ears_c1": 1, "ears_c2": 3, "ears_c3": 5}[method]
    rng = _range(counts, range, first, method)
    x = _input(counts)
    # Compute the contiguous span of rows covering the range (the usual case is the range
    # itself), then pick the requested rows.
    start, stop = int(rng[0]) - 1, int(rng[-1])
    contiguous = len(rng) == stop - start
    result_shape = (len(rng), x.shape[1])
    expected, upper, score, alarm = _outputs(result_shape, out if contiguous else None)
    if not contiguous:
        span = (stop - start, x.shape[1])
        expected, upper, score = np.empty(span), np.empty(span), np.empty(span)
        alarm = np.empty(span, dtype=np.bool_)
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
    if not contiguous:
        pick = rng - 1 - start
        span_arrays = (expected, upper, score, alarm)
        targets = _outputs(result_shape, out)
        for src, dst in zip(span_arrays, targets, strict=True):
            np.take(src, pick, axis=0, out=dst)
        expected, upper, score, alarm = targets
        observed = observed[pick]
    control: dict[str, Any] = {"baseline": baseline, "min_sigma": min_sigma, "alpha": alpha}
    if method == "ears_c3":
        control["r_compatible"] = r_compatible
    return DetectionResult(
        method=method,
        t=rng,
        dates=counts.dates_of(rng),
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
    out: DetectionResult | None = None,
) -> DetectionResult:
    """EARS C1 (R ``earsC(method = "C1")``): baseline ``t-baseline .. t-1``.

    The default range starts at ``t = baseline + 1``. ``expected`` is the baseline mean, ``score``
    the C1 statistic ``(y - mean) / max(sd, min_sigma)``.

    out: a result of an earlier call with the same number of time points and series; its
      arrays are overwritten instead of allocating new ones (for streaming many batches of
      series: fresh result memory costs more to fault in than EARS costs to compute). The
      earlier result is then no longer valid. Applies to C2 and C3 alike.
    """
    return _run("ears_c1", counts, range, baseline, min_sigma, alpha, out=out)


def ears_c2(
    counts: Counts,
    *,
    range: Any = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    alpha: float = 0.001,
    out: DetectionResult | None = None,
) -> DetectionResult:
    """EARS C2 (R ``earsC(method = "C2")``): baseline ``t-baseline-2 .. t-3``.

    The default range starts at ``t = baseline + 3``.
    """
    return _run("ears_c2", counts, range, baseline, min_sigma, alpha, out=out)


def ears_c3(
    counts: Counts,
    *,
    range: Any = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    alpha: float = 0.025,
    r_compatible: bool = True,
    out: DetectionResult | None = None,
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
    return _run("ears_c3", counts, range, baseline, min_sigma, alpha, r_compatible, out)
