"""Farrington (1996) and the improved, flexible Farrington (Noufaily et al. 2013), on all series.

For every evaluated time point ``t`` and every series, a quasi-Poisson GLM is fitted to the
reference counts (``b`` years back, ``w`` weeks either side; with ``no_periods > 1`` all weeks of
those years in a zero-order spline factor), past outbreaks are down-weighted with Anscombe
residuals, the trend is kept only when it is justified, and an upper bound of the predictive
distribution is compared with the count. Parameters and defaults are those of R
``surveillance``'s ``algo.farrington`` and ``farringtonFlexible`` control lists in snake_case,
and the results equal R's (see ``docs/surveillance-farrington.md`` for every known difference).

Instead of one GLM at a time in an interpreter, one compiled kernel
(:mod:`healthwatch.surveillance.farrington_kernel`) runs the whole procedure for a block of
``chunk_size`` series over all evaluated weeks, the series spread over the cores, so memory
stays bounded by the block and time is linear in series x evaluated weeks x reference weeks.

>>> import numpy as np
>>> from healthwatch.surveillance import Counts
>>> rng = np.random.default_rng(1)
>>> c = Counts.from_array(rng.poisson(5, size=(300, 3)), freq=52)
>>> res = farrington_flexible(c, range="290:300", b=4, no_periods=10,
...                           past_weeks_not_included=26, threshold_method="nbPlugin")
>>> res.upperbound.shape
(11, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from healthwatch.errors import InputError, Problem
from healthwatch.jit import numba
from healthwatch.surveillance import calendar
from healthwatch.surveillance.farrington_kernel import farrington_block
from healthwatch.surveillance.series import Counts, DetectionResult, resolve_range

__all__ = ["farrington", "farrington_flexible", "reference_design"]

_POWERS = {"2/3": 2.0 / 3.0, "1/2": 0.5, "none": 1.0}
_THRESHOLDS = ("delta", "nbPlugin", "muan")
DEFAULT_CHUNK = 4096
_THREAD_BLOCK = 32  # series per work item handed to a thread


# -- reference time points -------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceDesign:
    """Reference time points of one evaluated time point, and their factor levels.

    idx: 1-based time points (oldest first); level: factor level of each (0 = the windows
    around the current week and its counterparts in past years); n_levels: number of levels.
    """

    idx: np.ndarray
    level: np.ndarray
    n_levels: int


def reference_design(
    t: int, *, freq: int, b: int, w: int, no_periods: int = 1, past_weeks_not_included: int
) -> ReferenceDesign:
    """The baseline of time point ``t`` (1-based) as R ``surveillance`` builds it (by index).

    All time points from ``t - b*freq - w`` to ``t - past_weeks_not_included - 1`` are candidates.
    Those within ``w`` of ``t - i*freq`` (i = 0..b) form the windows (level 0). With
    ``no_periods == 1`` only the windows are used; otherwise each gap between two windows
    (``freq - 2w - 1`` points) is cut into ``no_periods - 1`` consecutive blocks of near-equal
    length, the first blocks one longer when the gap does not divide evenly.
    """
    lo = t - b * freq - w
    hi = t - past_weeks_not_included - 1
    idx = np.arange(lo, hi + 1, dtype=np.int64)
    off = (idx - t) % freq
    window = (off <= w) | (off >= freq - w)
    if no_periods == 1:
        idx = idx[window]
        return ReferenceDesign(idx, np.zeros(idx.size, dtype=np.int64), 1)
    gap = freq - 2 * w - 1
    k = no_periods - 1
    q, r = divmod(gap, k)
    g = off - w - 1
    big = r * (q + 1)
    block = np.where(g < big, g // (q + 1), r + (g - big) // max(q, 1))
    level = np.where(window, 0, 1 + block).astype(np.int64)
    return ReferenceDesign(idx, level, no_periods)


def _problem(en: str, zh: str, field: str) -> Problem:
    return Problem(en, zh, field=field)


def _validate(
    counts: Counts,
    *,
    b: int,
    w: int,
    alpha: float,
    limit54: Sequence[int],
    powertrans: str,
    no_periods: int = 1,
    past_weeks_not_included: int = 0,
    threshold_method: str = "delta",
) -> None:
    problems: list[Problem] = []
    freq = counts.freq
    if not isinstance(b, int | np.integer) or b < 1:
        problems.append(
            _problem(
                f"b must be an integer >= 1, got {b!r}",
                f"b 必须为不小于 1 的整数，实际为 {b!r}",
                "b",
            )
        )
    if not isinstance(w, int | np.integer) or w < 0 or 2 * w + 1 > freq:
        problems.append(
            _problem(
                f"w must be an integer with 0 <= 2w+1 <= freq ({freq}), got {w!r}",
                f"w 必须为整数且 0 <= 2w+1 <= freq（{freq}），实际为 {w!r}",
                "w",
            )
        )
    if not 0 < alpha < 1:
        problems.append(
            _problem(
                f"alpha must lie in (0, 1), got {alpha}",
                f"alpha 必须位于 (0, 1)，实际为 {alpha}",
                "alpha",
            )
        )
    if len(limit54) != 2 or limit54[1] < 1:
        problems.append(
            _problem(
                "limit54 must be (cases, weeks) with weeks >= 1",
                "limit54 必须为 (病例数, 周数)，且周数 >= 1",
                "limit54",
            )
        )
    if powertrans not in _POWERS:
        problems.append(
            _problem(
                f"powertrans must be one of 2/3, 1/2, none; got {powertrans!r}",
                f"powertrans 必须为 2/3、1/2 或 none，实际为 {powertrans!r}",
                "powertrans",
            )
        )
    if threshold_method not in _THRESHOLDS:
        problems.append(
            _problem(
                f"threshold_method must be delta, nbPlugin or muan; got {threshold_method!r}",
                f"threshold_method 必须为 delta、nbPlugin 或 muan，实际为 {threshold_method!r}",
                "threshold_method",
            )
        )
    if not isinstance(no_periods, int | np.integer) or no_periods < 1:
        problems.append(
            _problem(
                f"no_periods must be an integer >= 1, got {no_periods!r}",
                f"no_periods 必须为不小于 1 的整数，实际为 {no_periods!r}",
                "no_periods",
            )
        )
    elif isinstance(w, int | np.integer) and no_periods - 1 > freq - 2 * w - 1:
        problems.append(
            _problem(
                f"no_periods={no_periods} needs at least {no_periods - 1} weeks between two "
                f"windows, but freq - 2w - 1 = {freq - 2 * w - 1}; lower no_periods or w",
                f"no_periods={no_periods} 需要两个窗口之间至少 {no_periods - 1} 周，但 "
                f"freq - 2w - 1 = {freq - 2 * w - 1}；请减小 no_periods 或 w",
                "no_periods",
            )
        )
    if past_weeks_not_included < 0:
        problems.append(
            _problem(
                "past_weeks_not_included must be >= 0",
                "past_weeks_not_included 必须 >= 0",
                "past_weeks_not_included",
            )
        )
    if problems:
        raise InputError(problems)


def _check_history(
    counts: Counts, rng: np.ndarray, first: int, b: int, w: int, method: str
) -> None:
    if rng[0] >= first:
        return
    name = counts.names[0] if counts.n_series == 1 else f"{counts.names[0]!r} and all others"
    if counts.calendar:
        back_en = f"{b} calendar year(s) and {w} periods"
        back_zh = f"按日历向前 {b} 年再加 {w} 个周期"
    else:
        back_en = f"{b}*{counts.freq}+{w} time points"
        back_zh = f"{b}*{counts.freq}+{w} 个时间点"
    if first > counts.n_times:
        where_en, where_zh = (
            "no time point of the series can be evaluated",
            "序列中没有可评估的时间点",
        )
    else:
        where_en = f"the first time point that can be evaluated is t={first}"
        where_zh = f"最早可评估的时间点为 t={first}"
    raise InputError(
        [
            Problem(
                f"{method}: series {name} is too short for b={b} years and w={w} weeks at "
                f"t={int(rng[0])}: the reference weeks reach back {back_en}; {where_en}. "
                f"Start the range at t>={first} or lower b or w.",
                f"{method}：序列 {name} 在 t={int(rng[0])} 处历史太短，b={b} 年、w={w} 周需要向前 "
                f"{back_zh}；{where_zh}。请让 range 从 t>={first} 开始，或减小 b 或 w。",
                field="range",
            )
        ]
    )


# -- thresholds --------------------------------------------------------------------------------


def _nb_quantile(q: float, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``qnbinom(q, size = mu/(phi-1), mu = mu)``, Poisson where ``phi <= 1`` (scipy).

    The kernel computes nearly all quantiles itself and leaves to this function only those it
    cannot settle exactly (see ``farrington_kernel.nb_quantile_or_flag``).
    """
    from scipy import stats  # only here: importing scipy.stats takes longer than most runs

    out = np.full(mu.shape, np.nan)
    ok = np.isfinite(mu) & np.isfinite(phi)
    pois = ok & (phi <= 1.0)
    nb = ok & (phi > 1.0)
    if pois.any():
        out[pois] = stats.poisson.ppf(q, mu[pois])
    if nb.any():
        size = mu[nb] / (phi[nb] - 1.0)
        out[nb] = stats.nbinom.ppf(q, size, 1.0 / phi[nb])
    return out


# -- the core loop -----------------------------------------------------------------------------


def _week_designs(
    counts: Counts,
    rng: np.ndarray,
    *,
    classic: bool,
    b: int,
    w: int,
    no_periods: int,
    past_weeks_not_included: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Reference positions (0-based, sorted by level), their levels and counts, per week.

    By position (``t - i*freq``) for series without dates, by calendar for dated ones (see
    :mod:`healthwatch.surveillance.calendar`). Reference weeks before the start of the series
    are left out. Returns ``(ref_t, ref_lev, n_ref, n_levels)`` with ``ref_t`` and ``ref_lev``
    padded to the longest week.
    """
    designs = []
    for t in rng:
        if counts.calendar:
            assert counts.epoch is not None
            if classic:
                pos = calendar.classic_reference(
                    counts.epoch, int(t) - 1, b=b, w=w, freq=counts.freq
                )
                idx0 = np.sort(pos[pos >= 0])
                lev = np.zeros(idx0.size, dtype=np.int64)
                designs.append((idx0, lev, 1))
                continue
            found = calendar.flexible_reference(
                counts.epoch,
                int(t) - 1,
                b=b,
                w=w,
                no_periods=no_periods,
                past_weeks_not_included=past_weeks_not_included,
                freq=counts.freq,
            )
            assert found is not None  # the range was checked by _first_evaluable
            idx0, lev = found
            order = np.argsort(lev, kind="stable")
            designs.append((idx0[order], lev[order], no_periods))
            continue
        d = reference_design(
            int(t),
            freq=counts.freq,
            b=b,
            w=w,
            no_periods=no_periods,
            past_weeks_not_included=past_weeks_not_included,
        )
        exists = d.idx >= 1
        order = np.argsort(d.level[exists], kind="stable")
        designs.append((d.idx[exists][order] - 1, d.level[exists][order], d.n_levels))
    n_ref = np.array([len(d[0]) for d in designs], dtype=np.int64)
    width = max(int(n_ref.max()), 1)
    ref_t = np.zeros((rng.size, width), dtype=np.int64)
    ref_lev = np.zeros((rng.size, width), dtype=np.int64)
    for r, (idx0, lev, _k) in enumerate(designs):
        ref_t[r, : idx0.size] = idx0
        ref_lev[r, : lev.size] = lev
    return ref_t, ref_lev, n_ref, designs[0][2]


def _first_evaluable(
    counts: Counts, *, classic: bool, b: int, w: int, no_periods: int, pw: int
) -> int:
    """The first 1-based time point whose baseline is complete (see ``_check_history``).

    By position: ``freq + w + 1`` for farrington (one full past year; older years may be cut)
    and ``b*freq + w + 1`` for farrington_flexible. By calendar the same, with the actual
    positions of the dates one (or ``b``) years back: a 53-week year in between moves it.
    """
    if not counts.calendar:
        return counts.freq + w + 1 if classic else b * counts.freq + w + 1
    assert counts.epoch is not None
    epoch = counts.epoch
    # the earliest date with a reference point one (b) years back inside the series
    years = 1 if classic else b
    start = max(int(np.searchsorted(epoch, calendar.shift_years(epoch[:1], years)[0])), 0)
    for k in range(max(start - 2, 0), counts.n_times):
        if classic:
            pos = calendar.classic_reference(epoch, k, b=1, w=w, freq=counts.freq)
            if np.all(pos >= 0):
                return k + 1
        elif (
            calendar.flexible_reference(
                epoch,
                k,
                b=b,
                w=w,
                no_periods=no_periods,
                past_weeks_not_included=pw,
                freq=counts.freq,
            )
            is not None
        ):
            return k + 1
    return counts.n_times + 1


def _count_tables(y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-count quantities the kernel needs, computed once per count instead of once per fit.

    ``y`` is (series, time); returns y, y log y, log(y + 0.1), the Poisson deviance at R's start
    ``mu = y + 0.1`` and ``y^(2/3)`` (for the Anscombe residuals), all C-contiguous.
    """
    y = np.ascontiguousarray(y, dtype=np.float64)
    # the same operations in the same order as the formulas in the comments, written into the
    # four tables instead of fresh temporaries: on a province's series each temporary is
    # megabytes of new memory to fault in, which cost more than the arithmetic
    positive = y > 0
    ylogy = np.where(positive, y, 1.0)
    ly01 = np.add(y, 0.1)
    dev0 = np.empty_like(y)
    y23 = np.cbrt(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.log(ylogy, out=ylogy)
        np.multiply(y, ylogy, out=ylogy)
        ylogy[~positive] = 0.0  # ylogy = where(y > 0, y log y, 0)
        np.log(ly01, out=ly01)  # ly01 = log(y + 0.1)
        np.multiply(y, ly01, out=dev0)
        np.subtract(ylogy, dev0, out=dev0)
        np.add(dev0, 0.1, out=dev0)
        np.multiply(dev0, 2.0, out=dev0)  # dev0 = 2 (ylogy - y ly01 + 0.1)
    np.square(y23, out=y23)  # y23 = cbrt(y) ** 2
    return y, ylogy, ly01, dev0, y23


def _normal_quantile(p: float, threshold_method: str) -> float:
    """``qnorm(p)`` for the bound; NaN for nbPlugin, whose bound is a quantile of its own.

    nbPlugin never uses ``z``, and importing scipy.special for it would cost a whole
    ``surveil detect`` process about a quarter of a second.
    """
    if threshold_method == "nbPlugin":
        return math.nan
    from scipy import special

    return float(special.ndtri(p))  # = scipy.stats.norm.ppf, bit for bit


def _trend_critical_values(p_threshold: float, n_max: int) -> np.ndarray:
    """``|t|`` above which the trend's two-sided p-value is below ``p_threshold``, per df.

    ``p < p_threshold`` exactly when ``|t| > qt(1 - p_threshold/2, df)``; df 0 gives NaN (no
    trend test, as R's NaN p-value).
    """
    if p_threshold == 1.0:
        # p < 1 exactly when t != 0 (the t distribution's median), whatever the df: no need
        # to import scipy.special, a quarter of a second of a whole `surveil detect` process
        crit = np.zeros(n_max + 1)
    else:
        from scipy import special

        df = np.arange(n_max + 1, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            crit = -special.stdtrit(df, p_threshold / 2.0)  # = scipy.stats.t.isf, bit for bit
    crit[0] = np.nan
    return np.ascontiguousarray(crit, dtype=np.float64)


def _run(
    counts: Counts,
    rng: np.ndarray,
    *,
    classic: bool,
    b: int,
    w: int,
    reweight: bool,
    weights_threshold: float,
    alpha: float,
    trend: bool,
    p_threshold_trend: float,
    limit54: Sequence[int],
    powertrans: str,
    population_offset: bool,
    no_periods: int,
    past_weeks_not_included: int,
    threshold_method: str,
    chunk_size: int,
) -> dict[str, np.ndarray]:
    obs = counts.observed
    _T, N = obs.shape
    R = rng.size
    if population_offset:
        if counts.population is None:
            raise InputError(
                [
                    _problem(
                        "population_offset=True needs counts.population",
                        "population_offset=True 需要 counts.population（人口数）",
                        "population",
                    )
                ]
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            log_pop = np.log(counts.population)
    z = _normal_quantile(1 - alpha / 2 if classic else 1 - alpha, threshold_method)
    ref_t, ref_lev, n_ref, n_levels = _week_designs(
        counts,
        rng,
        classic=classic,
        b=b,
        w=w,
        no_periods=no_periods,
        past_weeks_not_included=past_weeks_not_included,
    )
    settings = (
        bool(trend),
        bool(reweight),
        bool(classic),
        _THRESHOLDS.index(threshold_method),
        int(b),
        float(weights_threshold),
        25,
        1e-8,
        float(z),
        float(_POWERS[powertrans]),
        float(1 - alpha),
    )
    crit = _trend_critical_values(p_threshold_trend, ref_t.shape[1])
    # the trend covariate: positions, or R's days / first step for dated monthly series
    tc = calendar.time_coordinate(counts.epoch if not classic else None, _T, counts.freq)
    design = (ref_t, ref_lev, n_ref, np.ascontiguousarray(rng - 1, dtype=np.int64), tc)
    res = np.empty((6, R, N))
    for c0 in range(0, N, chunk_size):
        cols = slice(c0, min(c0 + chunk_size, N))
        tables = _count_tables(obs[:, cols].T)
        off_tab = np.ascontiguousarray(log_pop[:, cols].T) if population_offset else tables[0]
        whole = cols.start == 0 and cols.stop == N  # one chunk: the kernel fills res itself
        block = res if whole else np.empty((6, R, tables[0].shape[0]))
        # hand out series to the threads in small blocks, so that a core slowed down by other
        # work does not hold the other one up (numba's default splits the range in halves)
        previous = numba.set_parallel_chunksize(_THREAD_BLOCK)
        try:
            farrington_block(
                tables, off_tab, population_offset, design, n_levels, settings, crit, block
            )
        finally:
            numba.set_parallel_chunksize(previous)
        if not whole:
            res[:, :, cols] = block
    expected, upper, phi, kept, mu_q, ask_scipy = res
    ask = ask_scipy > 0
    if ask.any():
        upper[ask] = _nb_quantile(1 - alpha, mu_q[ask], phi[ask])
    _cases, weeks = int(limit54[0]), int(limit54[1])
    # sum of the last `weeks` counts including the current one (NaN if any is missing), from
    # cumulative sums over the rows the evaluated weeks reach back to only
    top = max(int(rng.min()) - weeks, 0)
    part = obs[top : int(rng.max())]
    csum = np.vstack([np.zeros((1, N)), np.cumsum(np.nan_to_num(part), axis=0)])
    cnan = np.vstack([np.zeros((1, N)), np.cumsum(np.isnan(part), axis=0)])
    lo = np.maximum(rng - weeks, 0) - top
    last = np.where(cnan[rng - top] - cnan[lo] > 0, np.nan, csum[rng - top] - csum[lo])
    yt = obs[rng - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (yt - expected) / (upper - expected)
    return {
        "expected": expected,
        "upperbound": upper,
        "score": score,
        "phi": phi,
        "trend": kept,
        "last": last,
    }


def _result(
    method: str, counts: Counts, rng: np.ndarray, out: dict[str, np.ndarray], control: dict
) -> DetectionResult:
    return DetectionResult(
        method=method,
        t=rng,
        dates=counts.dates_of(rng),
        names=list(counts.names),
        expected=out["expected"],
        upperbound=out["upperbound"],
        alarm=out["alarm"],
        score=out["score"],
        observed=counts.observed[rng - 1],
        control=control,
    )


def farrington(
    counts: Counts,
    *,
    range: Any = None,
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    verbose: bool = False,
    alpha: float = 0.05,
    trend: bool = True,
    limit54: Sequence[int] = (5, 4),
    powertrans: str = "2/3",
    fit_fun: str = "algo.farrington.fitGLM.fast",
    chunk_size: int = DEFAULT_CHUNK,
) -> DetectionResult:
    """Farrington et al. (1996) as R's ``algo.farrington`` / ``farrington``, on all series.

    Two-sided ``alpha`` (the bound is the upper end of a 1-alpha interval), Anscombe
    reweighting with threshold 1, trend kept when p < 0.05, b >= 3 and the prediction does not
    exceed the largest reference count. As in R: ``upperbound`` is 0 (no alarm) when fewer than
    ``limit54[0]`` cases were seen in the last ``limit54[1]`` weeks, NaN when one of those
    weeks is missing; reference weeks before the series start are left out (R warns). The
    default range starts at ``b*freq - w`` like R's.
    """
    _validate(counts, b=b, w=w, alpha=alpha, limit54=limit54, powertrans=powertrans)
    first = _first_evaluable(counts, classic=True, b=b, w=w, no_periods=1, pw=w)
    rng = resolve_range(counts, range, max(b * counts.freq - w, first))
    # like R, reference weeks before the start are left out; one full past year is required
    _check_history(counts, rng, first, b, w, "farrington")
    out = _run(
        counts,
        rng,
        classic=True,
        b=b,
        w=w,
        reweight=reweight,
        weights_threshold=1.0,
        alpha=alpha,
        trend=trend,
        p_threshold_trend=0.05,
        limit54=limit54,
        powertrans=powertrans,
        population_offset=False,
        no_periods=1,
        past_weeks_not_included=w,
        threshold_method="delta",
        chunk_size=chunk_size,
    )
    low = out["last"] < limit54[0]
    missing = np.isnan(out["last"])
    out["upperbound"] = np.where(low, 0.0, out["upperbound"])
    out["upperbound"][missing] = np.nan
    with np.errstate(invalid="ignore"):
        out["alarm"] = (out["score"] > 1) & ~low & ~missing
    control = dict(
        b=b,
        w=w,
        reweight=reweight,
        alpha=alpha,
        trend=trend,
        limit54=tuple(limit54),
        powertrans=powertrans,
        phi=out["phi"],
        trend_kept=out["trend"].astype(bool),
    )
    return _result("farrington", counts, rng, out, control)


def farrington_flexible(
    counts: Counts,
    *,
    range: Any = None,
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    weights_threshold: float = 2.58,
    verbose: bool = False,
    glm_warnings: bool = True,
    alpha: float = 0.05,
    trend: bool = True,
    p_threshold_trend: float = 0.05,
    limit54: Sequence[int] = (5, 4),
    powertrans: str = "2/3",
    fit_fun: str = "algo.farrington.fitGLM.flexible",
    population_offset: bool = False,
    no_periods: int = 1,
    past_weeks_not_included: int | None = None,
    threshold_method: str = "delta",
    chunk_size: int = DEFAULT_CHUNK,
) -> DetectionResult:
    """The improved Farrington method as R's ``farringtonFlexible``, on all series at once.

    One-sided ``alpha``. ``upperbound`` and ``expected`` are NaN (and no alarm is raised) when
    fewer than ``limit54[0]`` cases were seen in the last ``limit54[1]`` weeks (or one of them
    is missing), as in R. Time points before ``b*freq + w + 1`` raise an :class:`InputError`
    that names the first time point that can be evaluated (the default range starts there).
    """
    pw = w if past_weeks_not_included is None else int(past_weeks_not_included)
    _validate(
        counts,
        b=b,
        w=w,
        alpha=alpha,
        limit54=limit54,
        powertrans=powertrans,
        no_periods=no_periods,
        past_weeks_not_included=pw,
        threshold_method=threshold_method,
    )
    first = _first_evaluable(counts, classic=False, b=b, w=w, no_periods=no_periods, pw=pw)
    rng = resolve_range(counts, range, first)
    _check_history(counts, rng, first, b, w, "farrington_flexible")
    out = _run(
        counts,
        rng,
        classic=False,
        b=b,
        w=w,
        reweight=reweight,
        weights_threshold=weights_threshold,
        alpha=alpha,
        trend=trend,
        p_threshold_trend=p_threshold_trend,
        limit54=limit54,
        powertrans=powertrans,
        population_offset=population_offset,
        no_periods=no_periods,
        past_weeks_not_included=pw,
        threshold_method=threshold_method,
        chunk_size=chunk_size,
    )
    with np.errstate(invalid="ignore"):
        low = ~(out["last"] >= limit54[0])
    out["upperbound"] = np.where(low, np.nan, out["upperbound"])
    out["expected"] = np.where(low, np.nan, out["expected"])
    with np.errstate(invalid="ignore"):
        # R compares the count with the bound (not the score): with nbPlugin/muan the bound
        # can fall below the expected count, and a count above it still alarms
        out["alarm"] = (counts.observed[rng - 1] > out["upperbound"]) & ~low
    control = dict(
        b=b,
        w=w,
        reweight=reweight,
        weights_threshold=weights_threshold,
        alpha=alpha,
        trend=trend,
        p_threshold_trend=p_threshold_trend,
        limit54=tuple(limit54),
        powertrans=powertrans,
        population_offset=population_offset,
        no_periods=no_periods,
        past_weeks_not_included=pw,
        threshold_method=threshold_method,
        phi=out["phi"],
        trend_kept=out["trend"].astype(bool),
    )
    return _result("farrington_flexible", counts, rng, out, control)
