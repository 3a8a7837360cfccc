"""Quasi-Poisson GLMs fitted to thousands of series at once, step for step as R's ``glm.fit``.

Farrington-type detectors fit one small log-linear model per series and time point. Fitting them
one at a time (as R does) is what makes R slow, so here every fit runs over a whole block of
series at once. Two entry points:

- :func:`fit_quasipoisson`: any design matrix, shared by all series (``(n, p)``) or one per
  series (``(N, n, p)``), batched with numpy. The reusable, general piece.
- :func:`fit_quasipoisson_levels`: the design Farrington methods use (a factor with ``K`` levels
  plus an optional linear time trend), fitted by a numba kernel in O(n) per iteration using the
  arrow-shaped normal equations. ``farrington_kernel`` fuses the same fit with the rest of the
  Farrington procedure for speed; this function is the reusable, separately tested form.

Both follow ``glm.fit`` exactly: start from ``mu = y + 0.1`` (``eta = log(mu)``, ignoring the
offset), iterate weighted least squares, stop when ``|dev - dev_old| / (|dev| + 0.1) < epsilon``
(1e-8) or after ``maxit`` (25) iterations. As in R, the working weights, the hat values and the
unscaled covariance come from the *last* iteration's weights (computed from the previous ``mu``),
and the fitted values from the final coefficients; matching this detail is what keeps results
within 1e-6 of R. Missing responses (NaN) and zero prior weights are left out of the fit, like
``na.omit`` rows; they count neither in the residual degrees of freedom nor in the dispersion.

>>> import numpy as np
>>> X = np.column_stack([np.ones(6), np.arange(6.0)])
>>> y = np.array([[1, 3, 2, 5, 4, 6.0]])
>>> fit = fit_quasipoisson(X, y)
>>> bool(fit.converged[0]), round(float(fit.coef[0, 1]), 4)  # R: coef(glm(y ~ x, quasipoisson))
(True, 0.2637)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from healthwatch.jit import numba

__all__ = [
    "LevelsFit",
    "QuasiPoissonFit",
    "fit_quasipoisson",
    "fit_quasipoisson_levels",
]


@dataclass
class QuasiPoissonFit:
    """Result of :func:`fit_quasipoisson` for N series with n observations and p coefficients.

    coef (N, p); mu, eta, hat, working_weights (N, n) (NaN where an observation was left out);
    cov_unscaled (N, p, p) = (X'WX)^-1; df_residual (N,); dispersion (N,) as ``summary.glm``
    (working weights times squared working residuals over df); pearson_dispersion (N,)
    (prior weight times squared Pearson residuals over df); converged, iterations (N,).
    """

    coef: np.ndarray
    mu: np.ndarray
    eta: np.ndarray
    hat: np.ndarray
    working_weights: np.ndarray
    cov_unscaled: np.ndarray
    df_residual: np.ndarray
    dispersion: np.ndarray
    pearson_dispersion: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray

    def se_eta(self, x0: np.ndarray, dispersion: np.ndarray | None = None) -> np.ndarray:
        """Standard error of the linear predictor at covariates ``x0`` ((p,) or (N, p))."""
        x0 = np.broadcast_to(np.asarray(x0, dtype=np.float64), self.coef.shape)
        var = np.einsum("si,sij,sj->s", x0, self.cov_unscaled, x0)
        disp = self.dispersion if dispersion is None else dispersion
        return np.sqrt(var * disp)


def _poisson_deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return np.sum(w * 2.0 * (ylog - (y - mu)), axis=-1)


def fit_quasipoisson(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    *,
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> QuasiPoissonFit:
    """Fit ``y ~ X`` (log link, quasi-Poisson) for every row of ``y`` (N, n) at once.

    ``X`` is (n, p) shared by all series or (N, n, p). NaN in ``y`` or zero ``weights`` drop an
    observation. Series stop iterating individually when they converge, as separate ``glm.fit``
    calls would. The design must have full column rank on the kept observations.
    """
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    N, _n = y.shape
    Xb = np.asarray(X, dtype=np.float64)
    if Xb.ndim == 2:
        Xb = np.broadcast_to(Xb, (N, *Xb.shape))
    p = Xb.shape[-1]
    pw = np.ones_like(y) if weights is None else np.broadcast_to(weights, y.shape).astype(float)
    off = np.zeros_like(y) if offset is None else np.broadcast_to(offset, y.shape).astype(float)
    good = np.isfinite(y) & (pw > 0)
    yy = np.where(good, y, 0.0)
    pw = np.where(good, pw, 0.0)
    eta = np.log(yy + 0.1)
    mu = np.exp(eta)
    devold = _poisson_deviance(yy, mu, pw)
    active = np.ones(N, dtype=bool)
    converged = np.zeros(N, dtype=bool)
    iterations = np.zeros(N, dtype=np.int64)
    coef = np.zeros((N, p))
    ww = np.zeros_like(y)
    xtwx = np.zeros((N, p, p))
    for _ in range(maxit):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        Xa = Xb[a]
        w_a = pw[a] * mu[a]
        z_a = eta[a] - off[a] + (yy[a] - mu[a]) / mu[a]
        A = np.einsum("sni,sn,snj->sij", Xa, w_a, Xa)
        rhs = np.einsum("sni,sn->si", Xa, w_a * z_a)
        beta = np.linalg.solve(A, rhs[..., None])[..., 0]
        ww[a] = w_a
        xtwx[a] = A
        coef[a] = beta
        eta[a] = np.einsum("sni,si->sn", Xa, beta) + off[a]
        mu[a] = np.exp(eta[a])
        dev = _poisson_deviance(yy[a], mu[a], pw[a])
        iterations[a] += 1
        done = np.abs(dev - devold[a]) / (np.abs(dev) + 0.1) < epsilon
        converged[a[done]] = True
        active[a[done]] = False
        devold[a] = dev
    cov = np.linalg.inv(xtwx)
    hat = ww * np.einsum("sni,sij,snj->sn", Xb, cov, Xb)
    df = good.sum(axis=1) - p
    with np.errstate(divide="ignore", invalid="ignore"):
        wres2 = np.where(good, ww * ((yy - mu) / mu) ** 2, 0.0)
        pres2 = np.where(good, pw * (yy - mu) ** 2 / mu, 0.0)
        dispersion = wres2.sum(axis=1) / df
        pearson = pres2.sum(axis=1) / df
    nan = np.where(good, 1.0, np.nan)
    return QuasiPoissonFit(
        coef=coef,
        mu=mu * nan,
        eta=eta * nan,
        hat=hat * nan,
        working_weights=ww * nan,
        cov_unscaled=cov,
        df_residual=df,
        dispersion=dispersion,
        pearson_dispersion=pearson,
        converged=converged,
        iterations=iterations,
    )


# -- fast path: factor levels + linear trend -------------------------------------------------


@dataclass
class LevelsFit:
    """Result of :func:`fit_quasipoisson_levels` for N series.

    mu, hat, working_weights (N, n), NaN where left out; eta0 (N,): the linear predictor at the
    prediction point; var_eta0 (N,): its unscaled variance x0'(X'WX)^-1 x0; trend_coef and
    trend_var (N,): the trend coefficient and its unscaled variance (NaN without trend);
    df_residual, dispersion (``summary.glm``), pearson_dispersion, converged, iterations (N,).
    """

    mu: np.ndarray
    hat: np.ndarray
    working_weights: np.ndarray
    eta0: np.ndarray
    var_eta0: np.ndarray
    trend_coef: np.ndarray
    trend_var: np.ndarray
    df_residual: np.ndarray
    dispersion: np.ndarray
    pearson_dispersion: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "arcp", "reassoc"})
def _solve_levels(
    S0: np.ndarray,
    S1: np.ndarray,
    S2: float,
    T0: np.ndarray,
    T1: float,
    trend: bool,
    beta: np.ndarray,
) -> tuple[float, float]:
    """Solve the arrow-shaped normal equations; return (trend coefficient, Schur complement)."""
    K = S0.shape[0]
    if trend:
        schur = S2
        num = T1
        for k in range(K):
            if S0[k] > 0:
                schur -= S1[k] * S1[k] / S0[k]
                num -= S1[k] * T0[k] / S0[k]
        bt = num / schur
    else:
        schur = np.nan
        bt = 0.0
    for k in range(K):
        beta[k] = (T0[k] - S1[k] * bt) / S0[k] if S0[k] > 0 else np.nan
    return bt, schur


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "arcp", "reassoc"})
def _fit_levels_one(
    y: np.ndarray,
    pw: np.ndarray,
    off: np.ndarray,
    level: np.ndarray,
    tt: np.ndarray,
    K: int,
    level0: int,
    off0: float,
    trend: bool,
    maxit: int,
    epsilon: float,
    mu: np.ndarray,
    hat: np.ndarray,
    ww: np.ndarray,
    out: np.ndarray,
) -> None:
    n = y.shape[0]
    eta = np.empty(n)
    ylogy = np.zeros(n)  # y log y, so the deviance needs no log inside the iterations
    good = np.empty(n, dtype=np.bool_)
    n_good = 0
    devold = 0.0
    for i in range(n):
        g = np.isfinite(y[i]) and pw[i] > 0
        good[i] = g
        if g:
            n_good += 1
            eta[i] = np.log(y[i] + 0.1)
            mu[i] = y[i] + 0.1
            d = -(y[i] - mu[i])
            if y[i] > 0:
                ylogy[i] = y[i] * np.log(y[i])
                d += y[i] * np.log(y[i] / mu[i])
            devold += pw[i] * 2.0 * d
        else:
            eta[i] = np.nan
            mu[i] = np.nan
    S0 = np.zeros(K)
    S1 = np.zeros(K)
    T0 = np.zeros(K)
    beta = np.zeros(K)
    S2 = 0.0
    T1 = 0.0
    bt = 0.0
    schur = np.nan
    converged = False
    it = 0
    while it < maxit:
        it += 1
        S0[:] = 0.0
        S1[:] = 0.0
        T0[:] = 0.0
        S2 = 0.0
        T1 = 0.0
        for i in range(n):
            if not good[i]:
                continue
            w = pw[i] * mu[i]
            wz = w * (eta[i] - off[i]) + pw[i] * (y[i] - mu[i])  # w * working response
            ww[i] = w
            k = level[i]
            S0[k] += w
            T0[k] += wz
            if trend:
                S1[k] += w * tt[i]
                S2 += w * tt[i] * tt[i]
                T1 += wz * tt[i]
        bt, schur = _solve_levels(S0, S1, S2, T0, T1, trend, beta)
        dev = 0.0
        for i in range(n):
            if not good[i]:
                continue
            e = off[i] + beta[level[i]] + bt * tt[i]
            m = np.exp(e)
            eta[i] = e
            mu[i] = m
            dev += pw[i] * 2.0 * (ylogy[i] - y[i] * e - y[i] + m)
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        devold = dev
    rank = 1 if trend else 0
    for k in range(K):
        if S0[k] > 0:
            rank += 1
    df = n_good - rank
    wr2 = 0.0
    pr2 = 0.0
    for i in range(n):
        if not good[i]:
            hat[i] = np.nan
            ww[i] = np.nan
            continue
        k = level[i]
        q = 1.0 / S0[k]
        if trend:
            c = S1[k] / S0[k] - tt[i]
            q += c * c / schur
        hat[i] = ww[i] * q
        r = y[i] - mu[i]
        wr2 += ww[i] * (r / mu[i]) ** 2
        pr2 += pw[i] * r * r / mu[i]
    q0 = 1.0 / S0[level0] if S0[level0] > 0 else np.nan
    if trend:
        c0 = S1[level0] / S0[level0]
        q0 += c0 * c0 / schur
    out[0] = off0 + beta[level0]
    out[1] = q0
    out[2] = bt if trend else np.nan
    out[3] = 1.0 / schur if trend else np.nan
    out[4] = df
    out[5] = wr2 / df if df > 0 else np.nan
    out[6] = pr2 / df if df > 0 else np.nan
    out[7] = 1.0 if converged else 0.0
    out[8] = it


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _fit_levels_many(
    y: np.ndarray,
    pw: np.ndarray,
    off: np.ndarray,
    level: np.ndarray,
    tt: np.ndarray,
    K: int,
    level0: int,
    off0: np.ndarray,
    trend: bool,
    maxit: int,
    epsilon: float,
    mu: np.ndarray,
    hat: np.ndarray,
    ww: np.ndarray,
    out: np.ndarray,
) -> None:
    for s in numba.prange(y.shape[0]):
        _fit_levels_one(
            y[s],
            pw[s],
            off[s],
            level,
            tt,
            K,
            level0,
            off0[s],
            trend,
            maxit,
            epsilon,
            mu[s],
            hat[s],
            ww[s],
            out[s],
        )


def fit_quasipoisson_levels(
    y: np.ndarray,
    level: np.ndarray,
    time: np.ndarray,
    *,
    n_levels: int,
    trend: bool,
    level0: int = 0,
    time0: float = 0.0,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    offset0: np.ndarray | None = None,
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> LevelsFit:
    """Fit ``y ~ factor(level) (+ time)`` (+ offset) to every row of ``y`` (N, n).

    The factor has ``n_levels`` levels coded 0..K-1 (``level``, shape (n,), shared by all
    series) and ``time`` (n,) is the trend covariate. The fit is the same as R's
    ``glm(y ~ 1 + factor + time, quasipoisson)`` (treatment contrasts span the same space).
    ``level0``, ``time0`` and ``offset0`` (N,) describe the point to predict.
    """
    y = np.ascontiguousarray(np.atleast_2d(y), dtype=np.float64)
    N, _n = y.shape
    pw = np.ones_like(y) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    off = np.zeros_like(y) if offset is None else np.ascontiguousarray(offset, dtype=np.float64)
    off0_arr = np.zeros(N) if offset0 is None else np.ascontiguousarray(offset0, dtype=np.float64)
    tt = np.ascontiguousarray(np.asarray(time, dtype=np.float64) - time0)
    lev = np.ascontiguousarray(level, dtype=np.int64)
    mu = np.empty_like(y)
    hat = np.empty_like(y)
    ww = np.empty_like(y)
    out = np.empty((N, 9))
    _fit_levels_many(
        y,
        pw,
        off,
        lev,
        tt,
        int(n_levels),
        int(level0),
        off0_arr,
        bool(trend),
        int(maxit),
        float(epsilon),
        mu,
        hat,
        ww,
        out,
    )
    return LevelsFit(
        mu=mu,
        hat=hat,
        working_weights=ww,
        eta0=out[:, 0],
        var_eta0=out[:, 1],
        trend_coef=out[:, 2],
        trend_var=out[:, 3],
        df_residual=out[:, 4],
        dispersion=out[:, 5],
        pearson_dispersion=out[:, 6],
        converged=out[:, 7] > 0,
        iterations=out[:, 8].astype(np.int64),
    )
