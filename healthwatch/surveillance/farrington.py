"""Farrington (1996) and the improved, flexible Farrington (Noufaily et al. 2013), on all series.

For every evaluated time point ``t`` and every series, a quasi-Poisson GLM is fitted to the
reference counts (``b`` years back, ``w`` weeks either side; with ``no_periods > 1`` all weeks of
those years in a zero-order spline factor), past outbreaks are down-weighted with Anscombe
residuals, the trend is kept only when it is justified, and an upper bound of the predictive
distribution is compared with the count. Parameters and defaults are those of R
``surveillance``'s ``algo.farrington`` and ``farringtonFlexible`` control lists in snake_case,
and the results equal R's (see ``docs/surveillance-farrington.md`` for every known difference).

Instead of one GLM at a time, each time point is one batched fit over a chunk of series
(:func:`healthwatch.surveillance.glm.fit_quasipoisson_levels`), so memory stays bounded by
``chunk_size`` series and time is linear in series x evaluated weeks x reference weeks.

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance.glm import LevelsFit, fit_quasipoisson_levels
from healthwatch.surveillance.series import Counts, DetectionResult, resolve_range

__all__ = ["farrington", "farrington_flexible", "reference_design"]

_POWERS = {"2/3": 2.0 / 3.0, "1/2": 0.5, "none": 1.0}
_THRESHOLDS = ("delta", "nbPlugin", "muan")
DEFAULT_CHUNK = 4096


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
    raise InputError(
        [
            Problem(
                f"{method}: series {name} is too short for b={b} years and w={w} weeks at "
                f"t={int(rng[0])}: the reference weeks reach back {b}*{counts.freq}+{w} time "
                f"points; the first time point that can be evaluated is t={first}. Start the "
                f"range at t>={first} or lower b or w.",
                f"{method}：序列 {name} 在 t={int(rng[0])} 处历史太短，b={b} 年、w={w} 周需要向前 "
                f"{b}*{counts.freq}+{w} 个时间点；最早可评估的时间点为 t={first}。请让 range 从 "
                f"t>={first} 开始，或减小 b 或 w。",
                field="range",
            )
        ]
    )


# -- the fitting steps -------------------------------------------------------------------------


@dataclass
class _Fit:
    mu0: np.ndarray
    eta0: np.ndarray
    var_eta0: np.ndarray  # unscaled
    phi: np.ndarray
    dispersion: np.ndarray
    trend_coef: np.ndarray
    trend_p: np.ndarray
    converged: np.ndarray


def _anscombe_weights(
    y: np.ndarray, fit: LevelsFit, phi: np.ndarray, threshold: float
) -> np.ndarray:
    """Down-weight reference counts with standardised Anscombe residuals above ``threshold``."""
    mu = fit.mu
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (
            1.5
            * (np.cbrt(y) ** 2 * mu ** (-1.0 / 6.0) - np.sqrt(mu))
            / np.sqrt(phi[:, None] * (1.0 - fit.hat))
        )
    good = np.isfinite(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(s > threshold, s**-2.0, 1.0)
    raw = np.where(good, raw, 0.0)
    gamma = good.sum(axis=1) / raw.sum(axis=1)
    return raw * gamma[:, None]


def _fit_once(
    y: np.ndarray,
    design: ReferenceDesign,
    t: int,
    trend: bool,
    *,
    offset: np.ndarray | None,
    offset0: np.ndarray | None,
    reweight: bool,
    weights_threshold: float,
    classic: bool = False,
) -> _Fit:
    kw: dict[str, Any] = dict(
        n_levels=design.n_levels,
        trend=trend,
        level0=0,
        time0=float(t),
        offset=offset,
        offset0=offset0,
    )
    fit = fit_quasipoisson_levels(y, design.level, design.idx.astype(float), **kw)
    phi = np.maximum(fit.dispersion, 1.0)
    se_disp = fit.dispersion
    converged = fit.converged
    if reweight:
        weights = _anscombe_weights(y, fit, phi, weights_threshold)
        fit = fit_quasipoisson_levels(
            y, design.level, design.idx.astype(float), weights=weights, **kw
        )
        phi = np.maximum(fit.dispersion, 1.0)
        if not classic:
            with np.errstate(invalid="ignore", divide="ignore"):
                r2 = np.where(np.isfinite(y), weights * ((y - fit.mu) / fit.mu) ** 2, 0.0)
            se_disp = r2.sum(axis=1) / fit.df_residual
        else:
            se_disp = fit.dispersion
        converged = converged & fit.converged
    else:
        se_disp = fit.dispersion
    if trend:
        with np.errstate(invalid="ignore", divide="ignore"):
            tstat = fit.trend_coef / np.sqrt(fit.trend_var * se_disp)
        trend_p = 2.0 * stats.t.sf(np.abs(tstat), fit.df_residual)
    else:
        trend_p = np.full(y.shape[0], np.nan)
    with np.errstate(over="ignore"):
        mu0 = np.exp(fit.eta0)
    return _Fit(
        mu0=mu0,
        eta0=fit.eta0,
        var_eta0=fit.var_eta0,
        phi=phi,
        dispersion=se_disp,
        trend_coef=fit.trend_coef,
        trend_p=trend_p,
        converged=converged,
    )


def _merge(a: _Fit, b: _Fit, use_b: np.ndarray) -> _Fit:
    out = {}
    for name in a.__dataclass_fields__:
        va, vb = getattr(a, name), getattr(b, name)
        out[name] = np.where(use_b, vb, va)
    return _Fit(**out)


def _fit_with_trend_choice(
    y: np.ndarray,
    design: ReferenceDesign,
    t: int,
    *,
    b: int,
    trend: bool,
    p_threshold_trend: float,
    offset: np.ndarray | None,
    offset0: np.ndarray | None,
    reweight: bool,
    weights_threshold: float,
    classic: bool,
) -> tuple[_Fit, np.ndarray]:
    """Fit with trend where asked and justified, else without; returns the fit and trend flags."""
    kw: dict[str, Any] = dict(
        offset=offset,
        offset0=offset0,
        reweight=reweight,
        weights_threshold=weights_threshold,
        classic=classic,
    )
    if not trend:
        fit = _fit_once(y, design, t, False, **kw)
        return fit, np.zeros(y.shape[0], dtype=bool)
    with_trend = _fit_once(y, design, t, True, **kw)
    with np.errstate(invalid="ignore"):
        ymax = np.nanmax(np.where(np.isfinite(y), y, -np.inf), axis=1)
        keep = (
            with_trend.converged
            & (with_trend.trend_p < p_threshold_trend)
            & (with_trend.mu0 <= ymax)
            & (b >= 3)
        )
    if keep.all():
        return with_trend, keep
    drop = np.flatnonzero(~keep)
    sub = _fit_once(
        y[drop],
        design,
        t,
        False,
        offset=None if offset is None else offset[drop],
        offset0=None if offset0 is None else offset0[drop],
        reweight=reweight,
        weights_threshold=weights_threshold,
        classic=classic,
    )
    full = {}
    for name in with_trend.__dataclass_fields__:
        arr = getattr(with_trend, name).copy()
        arr[drop] = getattr(sub, name)
        full[name] = arr
    return _Fit(**full), keep


# -- thresholds --------------------------------------------------------------------------------


def _delta_bound(mu: np.ndarray, var_mu: np.ndarray, phi: np.ndarray, z: float, power: float):
    """Upper bound of ``y`` from a normal approximation on ``y**power`` (delta method)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = phi + var_mu / mu
        sd = np.sqrt(power**2 * mu ** (2 * power - 1) * tau)
        return (mu**power + z * sd) ** (1.0 / power)


def _nb_quantile(q: float, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``qnbinom(q, size = mu/(phi-1), mu = mu)``, Poisson where ``phi <= 1``."""
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
    out = {k: np.full((R, N), np.nan) for k in ("expected", "upperbound", "score", "phi", "trend")}
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
    z = stats.norm.ppf(1 - alpha / 2) if classic else stats.norm.ppf(1 - alpha)
    power = _POWERS[powertrans]
    _cases, weeks = int(limit54[0]), int(limit54[1])
    # sum of the last `weeks` counts including the current one (NaN if any is missing)
    csum = np.vstack([np.zeros((1, N)), np.cumsum(np.nan_to_num(obs), axis=0)])
    cnan = np.vstack([np.zeros((1, N)), np.cumsum(np.isnan(obs), axis=0)])
    for r, t in enumerate(rng):
        design = reference_design(
            int(t),
            freq=counts.freq,
            b=b,
            w=w,
            no_periods=no_periods,
            past_weeks_not_included=past_weeks_not_included,
        )
        exists = design.idx >= 1
        idx0 = design.idx[exists] - 1
        design = ReferenceDesign(design.idx[exists], design.level[exists], design.n_levels)
        lo = max(int(t) - weeks, 0)
        last = np.where(cnan[int(t)] - cnan[lo] > 0, np.nan, csum[int(t)] - csum[lo])
        for c0 in range(0, N, chunk_size):
            cols = slice(c0, min(c0 + chunk_size, N))
            y = obs[idx0, cols].T
            offset = offset0 = None
            if population_offset:
                offset = log_pop[idx0, cols].T
                offset0 = log_pop[int(t) - 1, cols]
            fit, kept = _fit_with_trend_choice(
                y,
                design,
                int(t),
                b=b,
                trend=trend,
                p_threshold_trend=p_threshold_trend,
                offset=offset,
                offset0=offset0,
                reweight=reweight,
                weights_threshold=weights_threshold,
                classic=classic,
            )
            mu = fit.mu0
            if threshold_method == "delta":
                if classic:
                    var_mu = mu**2 * fit.var_eta0 * fit.phi
                else:
                    var_mu = mu**2 * fit.var_eta0 * fit.dispersion
                upper = _delta_bound(mu, var_mu, fit.phi, z, power)
            elif threshold_method == "nbPlugin":
                upper = _nb_quantile(1 - alpha, mu, fit.phi)
            else:
                se_eta = np.sqrt(fit.var_eta0 * fit.dispersion)
                with np.errstate(over="ignore", invalid="ignore"):
                    mu_q = np.exp(stats.norm.ppf(1 - alpha, fit.eta0, se_eta))
                upper = _nb_quantile(1 - alpha, mu_q, fit.phi)
            out["expected"][r, cols] = mu
            out["upperbound"][r, cols] = upper
            out["phi"][r, cols] = fit.phi
            out["trend"][r, cols] = kept
        yt = obs[int(t) - 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            out["score"][r] = (yt - out["expected"][r]) / (
                out["upperbound"][r] - out["expected"][r]
            )
        out.setdefault("last", np.full((R, N), np.nan))[r] = last
    return out


def _result(
    method: str, counts: Counts, rng: np.ndarray, out: dict[str, np.ndarray], control: dict
) -> DetectionResult:
    return DetectionResult(
        method=method,
        t=rng,
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
    rng = resolve_range(counts, range, b * counts.freq - w)
    # like R, reference weeks before the start are left out; one full past year is required
    _check_history(counts, rng, counts.freq + w + 1, b, w, "farrington")
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
    first = b * counts.freq + w + 1
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
