"""Count data regression charts (Höhle & Paul 2008): GLR detectors for Poisson and negative
binomial counts, as R ``surveillance``'s ``glrpois``/``glrnb``.

In control the counts follow ``mu0_t`` (Poisson, or negative binomial with variance
``mu0 + alpha mu0^2``); out of control the intercept shifts, ``mu1_t = mu0_t exp(kappa)`` from an
unknown change point ``k`` on. After each time point ``n`` the generalised likelihood ratio

    GLR(n) = max_{k} sup_{kappa} sum_{t=k..n} log f(x_t; mu0_t e^kappa) - log f(x_t; mu0_t)

is compared with ``c_arl``; ``kappa >= 0`` for ``dir="inc"``, ``kappa <= 0`` for ``dir="dec"``.
After an alarm at ``N`` the chart restarts at ``N + 1``. With ``theta`` given the GLR becomes
the recursive likelihood-ratio CUSUM ``S_n = max(0, S_{n-1} + LLR(x_n; theta))``, reset to 0
after an alarm.

``ret="value"`` (R's effective default, although its documentation lists "cases" first)
reports GLR(n) (or S_n) as upper bound; ``ret="cases"`` the number of cases at
time ``n`` that would have made the chart alarm.

``mu0=None`` fits, per series, a log-linear model with ``S`` harmonics of period ``freq`` (and
optionally a linear trend) to the counts before ``range`` — a Poisson GLM for ``glrpois``, and
for ``glrnb`` a negative binomial GLM whose ``alpha`` is estimated by maximum likelihood when
``alpha=None``. The fits are batched over all series (:mod:`healthwatch.surveillance._glm`-free:
one IRLS over a shared design matrix), the recursions run in numba, parallel over series.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import gammaln

from healthwatch.errors import InputError, Problem
from healthwatch.jit import numba
from healthwatch.surveillance.series import Counts, DetectionResult, resolve_range

__all__ = ["fit_loglinear_baseline", "glrnb", "glrpois"]

_NOT_FOUND = 1e99  # R's value when no count up to x_max alarms


def _problem(en: str, zh: str, field: str) -> InputError:
    return InputError([Problem(en, zh, field=field)])


# -- numba kernels ---------------------------------------------------------------------------


# -- reductions whose order does not depend on how many series are in a batch -------------------
# numpy's sums and BLAS products may add terms in a different order for a different number of
# columns (pairwise summation for a single column, blocked kernels for matrices), which moves the
# last bits and can move a fit's stopping iteration. These loops add in one fixed order, so a
# series gets the same answer alone, in a chunk or on a Dask worker.


@numba.njit(cache=True)
def _colsum(a: np.ndarray) -> np.ndarray:
    """Column sums of a (n, N) array, adding rows in order."""
    n, m = a.shape
    out = np.zeros(m)
    for i in range(n):
        for j in range(m):
            out[j] += a[i, j]
    return out


@numba.njit(cache=True)
def _linear(design: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``design @ beta`` for design (n, p) and beta (p, N), summing over p in order."""
    n, p = design.shape
    m = beta.shape[1]
    out = np.zeros((n, m))
    for i in range(n):
        for k in range(p):
            d = design[i, k]
            for j in range(m):
                out[i, j] += d * beta[k, j]
    return out


@numba.njit(cache=True)
def _normal_equations(
    wt: np.ndarray, z: np.ndarray, design: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """X'WX (N, p, p) and X'Wz (N, p) for every series, adding observations in order."""
    n, p = design.shape
    m = wt.shape[1]
    xtwx = np.zeros((m, p, p))
    xtwz = np.zeros((m, p))
    for j in range(m):
        for i in range(n):
            w = wt[i, j]
            if w == 0.0:
                continue
            for a in range(p):
                wa = w * design[i, a]
                xtwz[j, a] += wa * z[i, j]
                for b in range(a, p):
                    xtwx[j, a, b] += wa * design[i, b]
        for a in range(p):
            for b in range(a):
                xtwx[j, a, b] = xtwx[j, b, a]
    return xtwx, xtwz


@numba.njit(cache=True)
def _pois_root(total_mu: float, c: float, upper: bool) -> float:
    """X with X log(X/M) - X + M = c on the right (upper) or left branch of M; NaN if none."""
    m = total_mu
    if upper:
        x = m + math.sqrt(2.0 * c * m) + c + 1.0
        while x * math.log(x / m) - x + m < c:
            x *= 2.0
    else:
        if m <= c:
            return np.nan
        x = m * 1e-12
        # f is decreasing on (0, M): bisection then Newton polish
        lo, hi = 0.0, m
        for _ in range(200):
            x = 0.5 * (lo + hi)
            if x * math.log(x / m) - x + m > c:
                lo = x
            else:
                hi = x
            if hi - lo < 1e-13 * m:
                break
        return 0.5 * (lo + hi)
    for _ in range(100):
        f = x * math.log(x / m) - x + m - c
        step = f / math.log(x / m)
        x -= step
        if abs(step) < 1e-13 * x:
            break
    return x


@numba.njit(cache=True)
def _pois_window_value(xsum: float, msum: float, inc: bool) -> float:
    """sup_kappa of the Poisson log-likelihood ratio of one window; NaN where R has none."""
    if xsum == 0.0:
        if inc:
            return 0.0
        return np.nan  # R: 0 * log(0) is NaN, the window is skipped
    kap = math.log(xsum / msum)
    if (inc and kap <= 0.0) or ((not inc) and kap >= 0.0):
        return 0.0
    return xsum * kap - (math.exp(kap) - 1.0) * msum


@numba.njit(cache=True, parallel=True)
def glr_pois_kernel(
    x: np.ndarray, mu: np.ndarray, c: float, inc: bool, cases: bool, mtilde: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson intercept GLR over (T, N); returns (GLR value, upper bound, alarm)."""
    n_t, n_s = x.shape
    value = np.full((n_t, n_s), np.nan)
    upper = np.full((n_t, n_s), np.nan)
    alarm = np.zeros((n_t, n_s), dtype=np.bool_)
    for j in numba.prange(n_s):
        start = 0
        for n in range(n_t):
            if np.isnan(x[n, j]):
                continue
            best = 0.0
            bound = np.inf if inc else -np.inf
            zero_alarms = False
            xs = 0.0
            ms = 0.0
            xprev = 0.0
            last_k = n - mtilde + 1
            for k in range(n, start - 1, -1):
                if not np.isnan(x[k, j]):
                    xs += x[k, j]
                    ms += mu[k, j]
                    if k < n:
                        xprev += x[k, j]
                if k > last_k:
                    continue
                v = _pois_window_value(xs, ms, inc)
                if not np.isnan(v) and v > best:
                    best = v
                if cases:
                    if inc:
                        need = _pois_root(ms, c, True) - xprev
                        if need < bound:
                            bound = need
                    else:
                        # counts low..top at n make this window reach c (x sum 0 is skipped)
                        root = _pois_root(ms, c, False)
                        if not np.isnan(root):
                            top = math.floor(root - xprev)
                            low = 1.0 if xprev == 0.0 else 0.0
                            if top >= low:
                                if low == 0.0:
                                    zero_alarms = True
                                if top + 1.0 > bound:
                                    bound = top + 1.0
            value[n, j] = best
            if cases:
                if inc:
                    upper[n, j] = math.ceil(bound) if bound > 0.0 else 0.0
                else:
                    # R's rule, observed: counting up from 0, the first count that does not
                    # alarm; 0 when a count of 0 itself would not alarm
                    upper[n, j] = bound if zero_alarms and bound > 0.0 else 0.0
            else:
                upper[n, j] = best
            if best >= c:
                alarm[n, j] = True
                start = n + 1
    return value, upper, alarm


@numba.njit(cache=True)
def _nb_llr(
    x: np.ndarray, mu: np.ndarray, j: int, k0: int, n: int, alpha: float, kap: float
) -> float:
    r = 1.0 / alpha
    s = 0.0
    e = math.exp(kap)
    for t in range(k0, n + 1):
        xt = x[t, j]
        if np.isnan(xt):
            continue
        am = alpha * mu[t, j]
        s += xt * kap - (xt + r) * math.log((1.0 + am * e) / (1.0 + am))
    return s


@numba.njit(cache=True)
def _nb_score(
    x: np.ndarray, mu: np.ndarray, j: int, k0: int, n: int, alpha: float, kap: float
) -> tuple[float, float]:
    """First and second derivative of the NB log-likelihood ratio in kappa."""
    r = 1.0 / alpha
    g = 0.0
    hh = 0.0
    e = math.exp(kap)
    for t in range(k0, n + 1):
        xt = x[t, j]
        if np.isnan(xt):
            continue
        ame = alpha * mu[t, j] * e
        g += xt - (xt + r) * ame / (1.0 + ame)
        hh -= (xt + r) * ame / (1.0 + ame) ** 2
    return g, hh


@numba.njit(cache=True)
def _nb_window_value(
    x: np.ndarray, mu: np.ndarray, j: int, k0: int, n: int, alpha: float, inc: bool
) -> float:
    """sup_kappa of the negative binomial log-likelihood ratio over rows k0..n of series j."""
    xs = 0.0
    ms = 0.0
    for t in range(k0, n + 1):
        if not np.isnan(x[t, j]):
            xs += x[t, j]
            ms += mu[t, j]
    if alpha < 1e-8:
        # Poisson limit (alpha estimated as ~0): closed form, avoids 1/alpha cancellation
        if xs == 0.0 and not inc:
            return ms
        return _pois_window_value(xs, ms, inc)
    r = 1.0 / alpha

    g0, _ = _nb_score(x, mu, j, k0, n, alpha, 0.0)
    if (inc and g0 <= 0.0) or ((not inc) and g0 >= 0.0):
        return 0.0
    if (not inc) and xs == 0.0:
        # supremum at kappa -> -inf: sum of r log(1 + alpha mu)
        s = 0.0
        for t in range(k0, n + 1):
            if not np.isnan(x[t, j]):
                s += r * math.log(1.0 + alpha * mu[t, j])
        return s
    # bracket the root of the (decreasing) score
    if inc:
        lo = 0.0
        hi = max(1.0, 2.0 * math.log(max(xs, 1e-300) / ms) + 1.0)
        while _nb_score(x, mu, j, k0, n, alpha, hi)[0] > 0.0:
            lo = hi
            hi *= 2.0
    else:
        hi = 0.0
        lo = min(-1.0, 2.0 * math.log(xs / ms) - 1.0)
        while _nb_score(x, mu, j, k0, n, alpha, lo)[0] < 0.0:
            hi = lo
            lo *= 2.0
    kap = 0.5 * (lo + hi)
    for _ in range(200):
        g, hh = _nb_score(x, mu, j, k0, n, alpha, kap)
        if g > 0.0:
            lo = kap
        else:
            hi = kap
        nxt = kap - g / hh
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - kap) < 1e-14 * (1.0 + abs(kap)):
            kap = nxt
            break
        kap = nxt
    return _nb_llr(x, mu, j, k0, n, alpha, kap)


@numba.njit(cache=True)
def _nb_glr_at(
    x: np.ndarray,
    mu: np.ndarray,
    j: int,
    start: int,
    n: int,
    alpha: float,
    inc: bool,
    mtilde: int,
) -> float:
    best = 0.0
    for k in range(start, n - mtilde + 2):
        v = _nb_window_value(x, mu, j, k, n, alpha, inc)
        if v > best:
            best = v
    return best


@numba.njit(cache=True, parallel=True)
def glr_nb_kernel(
    x: np.ndarray,
    mu: np.ndarray,
    alpha: np.ndarray,
    c: float,
    inc: bool,
    cases: bool,
    mtilde: int,
    x_max: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Negative binomial intercept GLR over (T, N), ``alpha`` per series (N,)."""
    n_t, n_s = x.shape
    value = np.full((n_t, n_s), np.nan)
    upper = np.full((n_t, n_s), np.nan)
    alarm = np.zeros((n_t, n_s), dtype=np.bool_)
    for j in numba.prange(n_s):
        xw = x[:, j : j + 1].copy()
        mw = mu[:, j : j + 1].copy()
        start = 0
        for n in range(n_t):
            if np.isnan(x[n, j]):
                continue
            best = _nb_glr_at(xw, mw, 0, start, n, alpha[j], inc, mtilde)
            value[n, j] = best
            if not cases:
                upper[n, j] = best
            elif inc:
                # smallest count in 0..x_max that alarms (the GLR increases with x_n)
                obs = xw[n, 0]
                xw[n, 0] = x_max
                if _nb_glr_at(xw, mw, 0, start, n, alpha[j], inc, mtilde) < c:
                    upper[n, j] = 1e99
                else:
                    lo = -1.0
                    hi = x_max
                    while hi - lo > 1.0:
                        mid = math.floor(0.5 * (lo + hi))
                        xw[n, 0] = mid
                        if _nb_glr_at(xw, mw, 0, start, n, alpha[j], inc, mtilde) >= c:
                            hi = mid
                        else:
                            lo = mid
                    upper[n, j] = hi
                xw[n, 0] = obs
            if best >= c:
                alarm[n, j] = True
                start = n + 1
    return value, upper, alarm


@numba.njit(cache=True, parallel=True)
def lr_cusum_kernel(
    x: np.ndarray, mu: np.ndarray, alpha: np.ndarray, theta: float, c: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Likelihood-ratio CUSUM for a known shift ``theta`` (alpha 0: Poisson).

    Returns (S_n, cases needed at n, alarm); the sum restarts at 0 after an alarm.
    """
    n_t, n_s = x.shape
    value = np.full((n_t, n_s), np.nan)
    upper = np.full((n_t, n_s), np.nan)
    alarm = np.zeros((n_t, n_s), dtype=np.bool_)
    for j in numba.prange(n_s):
        s = 0.0
        a = alpha[j]
        for n in range(n_t):
            m = mu[n, j]
            if a > 0.0:
                lr = math.log((1.0 + a * m * math.exp(theta)) / (1.0 + a * m))
                slope = theta - lr
                const = -lr / a
            else:
                slope = theta
                const = -(math.exp(theta) - 1.0) * m
            upper[n, j] = (c - s - const) / slope
            xt = x[n, j]
            if np.isnan(xt):
                upper[n, j] = np.nan
                continue
            s = max(0.0, s + slope * xt + const)
            value[n, j] = s
            if s >= c:
                alarm[n, j] = True
                s = 0.0
    return value, upper, alarm


# -- in-control model ------------------------------------------------------------------------


def _design(t: np.ndarray, period: float, harmonics: int, trend: bool) -> np.ndarray:
    cols = [np.ones_like(t, dtype=np.float64)]
    if trend:
        cols.append(t.astype(np.float64))
    for s in range(1, harmonics + 1):
        cols.append(np.cos(2 * s * np.pi * t / period))
        cols.append(np.sin(2 * s * np.pi * t / period))
    return np.column_stack(cols)


#: ``glm.control()`` defaults, used by R's ``glm`` and by MASS's ``glm.nb`` (for its alternations
#: and for the Newton steps of ``theta.ml`` alike)
_GLM_EPSILON = 1e-8
_GLM_MAXIT = 25
#: ``theta.ml``'s documented tolerance on the Newton step: ``.Machine$double.eps^0.25``
_THETA_EPS = np.finfo(np.float64).eps ** 0.25


def _deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray, theta: np.ndarray | None) -> np.ndarray:
    """Per-series deviance (Poisson, or NB with known ``theta`` per series); rows with w=0 drop.

    One compiled pass adding the rows in order (as :func:`_colsum`), without the (n, N)
    temporaries of the array expression, which took most of a Poisson fit's time.
    """
    if theta is None:
        return _pois_deviance(y, mu, w)
    return _nb_deviance(y, mu, w, np.ascontiguousarray(theta, dtype=np.float64))


@numba.njit(cache=True, error_model="numpy")
def _pois_deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> np.ndarray:
    n, m = y.shape
    out = np.zeros(m)
    for i in range(n):
        for j in range(m):
            yy = y[i, j]
            mm = mu[i, j]
            d = (yy * math.log(yy / mm) if yy > 0 else 0.0) - (yy - mm)
            out[j] += w[i, j] * d
    return 2.0 * out


@numba.njit(cache=True, error_model="numpy")
def _nb_deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray, theta: np.ndarray) -> np.ndarray:
    n, m = y.shape
    out = np.zeros(m)
    for i in range(n):
        for j in range(m):
            yy = y[i, j]
            mm = mu[i, j]
            th = theta[j]
            d = yy * math.log(max(yy, 1.0) / mm) - (yy + th) * math.log((yy + th) / (mm + th))
            out[j] += w[i, j] * d
    return 2.0 * out


def _glm_fit(
    design: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    theta: np.ndarray | None,
    eta: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """IRLS for a log-link Poisson (``theta`` None) or NB(theta per series) GLM, every series at
    once, stopping each series exactly where R's ``glm.fit`` does.

    R's documented procedure (``?glm.control``): start from the family's ``mustart`` (Poisson
    ``y + 0.1``; MASS's negative binomial ``y + (y == 0)/6``) or from ``eta``; after each
    weighted least-squares step the deviance is compared with the previous one and the fit stops
    when ``|dev - dev_old| / (|dev| + 0.1) < epsilon`` (1e-8) or after ``maxit`` (25) steps.
    Stopping there, not at the exact MLE, is what makes the fitted means agree with R to 1e-9
    rather than 1e-5.

    design (n, p) shared; y, w (n, N) with w the 0/1 weight of observed rows. Returns
    (beta (p, N), eta (n, N)).
    """
    n_s = y.shape[1]
    p = design.shape[1]
    if theta is None and eta is None:
        # Poisson from R's start: one compiled pass per series, the series over the cores
        beta_t = np.empty((n_s, p))
        eta_t = np.empty((y.shape[1], y.shape[0]))
        _pois_irls(
            np.ascontiguousarray(design, dtype=np.float64),
            np.ascontiguousarray(y.T, dtype=np.float64),
            np.ascontiguousarray(w.T, dtype=np.float64),
            _GLM_MAXIT,
            _GLM_EPSILON,
            beta_t,
            eta_t,
        )
        return np.ascontiguousarray(beta_t.T), np.ascontiguousarray(eta_t.T)
    if eta is None:
        start = y + 0.1 if theta is None else y + (y == 0) / 6.0
        eta = np.log(start)
    eta = eta.copy()
    mu = np.exp(eta)
    dev_old = _deviance(y, mu, w, theta)
    beta = np.zeros((p, n_s))
    active = np.arange(n_s)
    for _ in range(_GLM_MAXIT):
        e, m, yy, ww = eta[:, active], mu[:, active], y[:, active], w[:, active]
        th = None if theta is None else theta[active]
        wt = ww * (m if th is None else m / (1.0 + m / th))
        z = e + (yy - m) / m
        xtwx, xtwz = _normal_equations(wt, z, design)
        b = np.linalg.solve(xtwx, xtwz[..., None])[..., 0].T
        e = _linear(design, np.ascontiguousarray(b))
        m = np.exp(e)
        dev = _deviance(yy, m, ww, th)
        beta[:, active] = b
        eta[:, active] = e
        mu[:, active] = m
        done = np.abs(dev - dev_old[active]) / (np.abs(dev) + 0.1) < _GLM_EPSILON
        dev_old[active] = dev
        active = active[~done]
        if active.size == 0:
            break
    return beta, eta


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _pois_irls(design, y, w, maxit, epsilon, beta_out, eta_out):
    """The Poisson branch of :func:`_glm_fit`, series by series (rows of ``y``, ``w``).

    The same steps in the same order as the array version (start ``y + 0.1``, weights ``w mu``,
    working response ``eta + (y - mu)/mu``, normal equations adding observations in order, a
    LAPACK solve, deviance rows in order, R's stopping rule), without (n, N) temporaries.
    """
    n_s, n = y.shape
    p = design.shape[1]
    for j in numba.prange(n_s):
        yj = y[j]
        wj = w[j]
        eta = np.empty(n)
        mu = np.empty(n)
        dev_old = 0.0
        for i in range(n):
            eta[i] = math.log(yj[i] + 0.1)
            mu[i] = math.exp(eta[i])
            d = (yj[i] * math.log(yj[i] / mu[i]) if yj[i] > 0 else 0.0) - (yj[i] - mu[i])
            dev_old += wj[i] * d
        dev_old *= 2.0
        xtwx = np.zeros((p, p))
        xtwz = np.zeros(p)
        b = np.zeros(p)
        for _it in range(maxit):
            xtwx[:] = 0.0
            xtwz[:] = 0.0
            for i in range(n):
                wt = wj[i] * mu[i]
                if wt == 0.0:
                    continue
                z = eta[i] + (yj[i] - mu[i]) / mu[i]
                for a in range(p):
                    wa = wt * design[i, a]
                    xtwz[a] += wa * z
                    for c in range(a, p):
                        xtwx[a, c] += wa * design[i, c]
            for a in range(p):
                for c in range(a):
                    xtwx[a, c] = xtwx[c, a]
            b = np.linalg.solve(xtwx, xtwz)
            dev = 0.0
            for i in range(n):
                e = 0.0
                for k in range(p):
                    e += design[i, k] * b[k]
                eta[i] = e
                mu[i] = math.exp(e)
                d = (yj[i] * math.log(yj[i] / mu[i]) if yj[i] > 0 else 0.0) - (yj[i] - mu[i])
                dev += wj[i] * d
            dev *= 2.0
            done = abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon
            dev_old = dev
            if done:
                break
        beta_out[j] = b
        eta_out[j] = eta


@numba.njit(cache=True)
def _digamma(x: float) -> float:
    """psi(x) for x > 0: recurrence up to 10, then the asymptotic series (error < 1e-14)."""
    r = 0.0
    while x < 10.0:
        r -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return (
        r
        + math.log(x)
        - 0.5 / x
        - f
        * (
            1.0 / 12
            - f
            * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132 - f * 691 / 32760))))
        )
    )


@numba.njit(cache=True)
def _trigamma(x: float) -> float:
    """psi'(x) for x > 0, as :func:`_digamma`."""
    r = 0.0
    while x < 10.0:
        r += 1.0 / (x * x)
        x += 1.0
    f = 1.0 / (x * x)
    return (
        r
        + 1.0 / x
        + 0.5 * f
        + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30 - f * 5 / 66))))
    )


@numba.njit(cache=True, parallel=True)
def _theta_ml_kernel(
    y: np.ndarray, mu: np.ndarray, w: np.ndarray, limit: int, eps: float
) -> np.ndarray:
    n_t, n_s = y.shape
    out = np.empty(n_s)
    for j in numba.prange(n_s):
        n = 0.0
        q = 0.0
        for i in range(n_t):
            if w[i, j] > 0.0:
                n += w[i, j]
                q += w[i, j] * (y[i, j] / mu[i, j] - 1.0) ** 2
        th = n / q if q > 0.0 else np.inf
        it = 1
        while it < limit and math.isfinite(th):
            th = abs(th)
            score = 0.0
            info = 0.0
            dg = _digamma(th)
            tg = _trigamma(th)
            log_th1 = math.log(th) + 1.0
            inv_th = 1.0 / th
            for i in range(n_t):
                wi = w[i, j]
                if wi > 0.0:
                    yi = y[i, j]
                    d = mu[i, j] + th
                    if yi < 16.0 and yi == math.floor(yi):
                        # psi(th + y) - psi(th) for a small integer y: a finite sum, exact
                        dpsi = 0.0
                        dtri = 0.0
                        for k in range(int(yi)):
                            q = 1.0 / (th + k)
                            dpsi += q
                            dtri += q * q
                    else:
                        dpsi = _digamma(th + yi) - dg
                        dtri = tg - _trigamma(th + yi)
                    inv_d = 1.0 / d
                    r = (yi + th) * inv_d
                    score += wi * (dpsi + log_th1 - math.log(d) - r)
                    info += wi * (dtri - inv_th + 2.0 * inv_d - r * inv_d)
            step = score / info
            th += step
            it += 1
            if not abs(step) > eps:
                break
        out[j] = max(th, 0.0)
    return out


def _theta_ml(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> np.ndarray:
    """MASS ``theta.ml`` as documented: from the moment estimate ``n / sum((y/mu - 1)^2)``,
    Newton steps on theta (score and observed information of the NB log-likelihood, means
    fixed) until the step is below ``.Machine$double.eps^0.25`` or ``limit`` (``maxit`` = 25)
    iterations are reached (then R warns "iteration limit reached": no overdispersion, theta
    running off to infinity); a negative theta becomes 0. Per series, numba, parallel.
    """
    y, mu, w = (np.ascontiguousarray(a) for a in (y, mu, w))
    return _theta_ml_kernel(y, mu, w, _GLM_MAXIT, _THETA_EPS)


def _nb_loglik(th: np.ndarray, y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> np.ndarray:
    """NB log-likelihood per series (the quantity whose change ``glm.nb`` monitors)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = (
            gammaln(th + y)
            - gammaln(th)
            - gammaln(y + 1.0)
            + th * np.log(th)
            + y * np.log(mu + (y == 0))
            - (th + y) * np.log(th + mu)
        )
    return _colsum(w * ll)


def _glm_nb(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MASS ``glm.nb`` as documented (``?glm.nb``, Venables & Ripley): a Poisson fit, then
    alternate ``theta.ml`` (means fixed) and an NB(theta) GLM fit started from the previous
    linear predictor, until the change of the log-likelihood (scaled by ``sqrt(2 df)``) plus the
    change of theta is below ``epsilon``, at most ``maxit`` alternations. Each series follows
    its own alternation count; all series are advanced together. Returns (beta, theta).
    """
    beta, eta = _glm_fit(design, y, w, None)
    mu = np.exp(eta)
    th = _theta_ml(y, mu, w)
    df = _colsum(w) - design.shape[1]
    d1 = np.sqrt(2.0 * np.maximum(1.0, df))
    lm = _nb_loglik(th, y, mu, w)
    lm0 = lm + 2.0 * d1
    delta = np.ones_like(th)
    active = np.arange(y.shape[1])
    for _ in range(_GLM_MAXIT):
        go = np.abs(lm0[active] - lm[active]) / d1[active] + np.abs(delta[active]) > _GLM_EPSILON
        active = active[go]
        if active.size == 0:
            break
        ya, wa = y[:, active], w[:, active]
        b, e = _glm_fit(design, ya, wa, th[active], eta[:, active])
        m = np.exp(e)
        t_new = _theta_ml(ya, m, wa)
        delta[active] = th[active] - t_new
        th[active] = t_new
        beta[:, active], eta[:, active] = b, e
        lm0[active] = lm[active]
        lm[active] = _nb_loglik(t_new, ya, m, wa)
    return beta, th


def fit_loglinear_baseline(
    y: np.ndarray,
    *,
    period: float,
    harmonics: int = 1,
    trend: bool = False,
    family: str = "poisson",
    alpha: float = 0.0,
    predict_t: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``log mu_t = b0 (+ b1 t) + sum_s (g_s cos(2 pi s t/period) + d_s sin(...))`` to the
    (n, N) baseline counts ``y`` (NaN left out, t = 1..n) for every series at once, stopping
    where R does.

    family "poisson" (R ``glm(family=poisson)``), "fixed" (NB with the given ``alpha``: R
    ``glm(family=negative.binomial(1/alpha))``) or "negbin" (theta and beta jointly, as MASS's
    ``glm.nb``). Returns (mu at ``predict_t`` (len, N), alpha = 1/theta per series; ``alpha``
    for "fixed", 0 for Poisson).
    """
    n = y.shape[0]
    t = np.arange(1, n + 1, dtype=np.float64)
    design = _design(t, period, harmonics, trend)
    ok = ~np.isnan(y)
    w = ok.astype(np.float64)
    y0 = np.where(ok, y, 0.0)
    n_s = y.shape[1]
    if family == "negbin":
        beta, theta = _glm_nb(design, y0, w)
        with np.errstate(divide="ignore"):
            out_alpha = 1.0 / theta
    elif family == "fixed":
        beta, _ = _glm_fit(design, y0, w, np.full(n_s, 1.0 / alpha))
        out_alpha = np.full(n_s, float(alpha))
    else:
        beta, _ = _glm_fit(design, y0, w, None)
        out_alpha = np.zeros(n_s)
    pt = t if predict_t is None else np.asarray(predict_t, dtype=np.float64)
    return np.exp(_linear(_design(pt, period, harmonics, trend), beta)), out_alpha


# -- public methods --------------------------------------------------------------------------


def _mu0(
    counts: Counts, rng: np.ndarray, mu0: Any, family: str, alpha: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """(len(range), N) in-control means and per-series alpha."""
    n_r, n_s = len(rng), counts.n_series
    fixed_alpha = np.full(n_s, 0.0 if alpha is None else float(alpha))
    if mu0 is None or isinstance(mu0, dict):
        opts = dict(mu0 or {})
        if opts.get("refit"):
            raise _problem(
                "mu0 refit=True (refitting after every alarm) is not supported; use refit=False",
                "不支持 mu0 refit=True（每次报警后重新拟合）；请使用 refit=False",
                "mu0",
            )
        first = int(rng[0])
        base = counts.observed[: first - 1]
        n_obs = (~np.isnan(base)).sum(axis=0) if base.size else np.zeros(n_s)
        harmonics = int(opts.get("S", 1))
        trend = bool(opts.get("trend", False))
        n_par = 1 + int(trend) + 2 * harmonics
        if base.shape[0] == 0 or np.any(n_obs < n_par + 1):
            raise _problem(
                f"mu0=None fits a model with {n_par} parameters to the counts before range; "
                f"each series needs at least {n_par + 1} counts before t={first}: start range "
                "later or give mu0",
                f"mu0=None 时用 range 之前的计数拟合含 {n_par} 个参数的模型；每条序列在 t={first} "
                f"之前至少需要 {n_par + 1} 个计数：请推后 range 或给出 mu0",
                "range",
            )
        if family == "negbin" and alpha is None:
            fam = "negbin"
        elif family == "negbin" and alpha is not None and alpha > 0:
            fam = "fixed"
        else:
            fam = "poisson"
        mu, est_alpha = fit_loglinear_baseline(
            base,
            period=counts.freq,
            harmonics=harmonics,
            trend=trend,
            family=fam,
            alpha=0.0 if alpha is None else float(alpha),
            predict_t=rng,
        )
        return mu, est_alpha
    arr = np.asarray(mu0, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n_r, float(arr))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] != n_r or arr.shape[1] not in (1, n_s):
        raise _problem(
            f"mu0 must have {n_r} values (one per time point in range) or shape ({n_r}, {n_s}), "
            f"got shape {np.shape(mu0)}",
            f"mu0 必须有 {n_r} 个值（range 中每个时间点一个）或形状为 ({n_r}, {n_s})，"
            f"实际为 {np.shape(mu0)}",
            "mu0",
        )
    return np.broadcast_to(arr, (n_r, n_s)).astype(np.float64), fixed_alpha


def _glr(
    method: str,
    counts: Counts,
    *,
    range: Any,
    c_arl: float,
    mu0: Any,
    alpha: float | None,
    mtilde: int,
    m: int,
    change: str,
    theta: float | None,
    dir: str,
    ret: str,
    x_max: float,
) -> DetectionResult:
    if change != "intercept":
        raise _problem(
            f"change={change!r} is not supported; healthwatch implements change='intercept'",
            f"不支持 change={change!r}；healthwatch 实现了 change='intercept'",
            "change",
        )
    if dir not in ("inc", "dec"):
        raise _problem("dir must be 'inc' or 'dec'", "dir 必须为 'inc' 或 'dec'", "dir")
    if ret not in ("cases", "value"):
        raise _problem("ret must be 'cases' or 'value'", "ret 必须为 'cases' 或 'value'", "ret")
    if int(mtilde) < 1:
        raise _problem("Mtilde must be >= 1", "Mtilde 必须 >= 1", "mtilde")
    if alpha is not None and alpha < 0:
        raise _problem("alpha must be >= 0", "alpha 必须 >= 0", "alpha")
    family = "negbin" if method == "glrnb" else "poisson"
    rng = resolve_range(counts, range, default_start=counts.freq + 1)
    x = np.ascontiguousarray(counts.observed[rng - 1])
    mu, alphas = _mu0(counts, rng, mu0, family, alpha)
    mu = np.ascontiguousarray(mu)
    inc = dir == "inc"
    cases = ret == "cases"
    if theta is not None:
        value, cases_needed, alarm = lr_cusum_kernel(x, mu, alphas, float(theta), float(c_arl))
        upper = cases_needed if cases else value
    elif np.all(alphas == 0):
        value, upper, alarm = glr_pois_kernel(x, mu, float(c_arl), inc, cases, int(mtilde))
    else:
        if cases and not inc:
            raise _problem(
                "glrnb with dir='dec' and ret='cases' is not supported; use ret='value'",
                "glrnb 在 dir='dec' 时不支持 ret='cases'；请使用 ret='value'",
                "ret",
            )
        value, upper, alarm = glr_nb_kernel(
            x, mu, alphas, float(c_arl), inc, cases, int(mtilde), float(x_max)
        )
    return DetectionResult(
        method=method,
        t=rng,
        dates=counts.dates_of(rng),
        names=list(counts.names),
        expected=mu,
        upperbound=upper,
        alarm=alarm,
        score=value,
        observed=x.copy(),
        control={
            "range": rng,
            "c_arl": c_arl,
            "alpha": alphas,
            "mtilde": mtilde,
            "m": m,
            "change": change,
            "theta": theta,
            "dir": dir,
            "ret": ret,
            "x_max": x_max,
        },
    )


def glrpois(
    counts: Counts,
    *,
    range: Any = None,
    c_arl: float = 5.0,
    mu0: Any = None,
    mtilde: int = 1,
    m: int = -1,
    change: str = "intercept",
    theta: float | None = None,
    dir: str = "inc",
    ret: str = "value",
    x_max: float = 1e4,
) -> DetectionResult:
    """Poisson GLR chart, as R's ``glrpois(sts, control=list(...))``.

    ``mu0``: None (Poisson GLM with one harmonic fitted to the counts before range), a dict
    ``{"S": 1, "trend": False}`` to choose the model, or the in-control means themselves
    (length ``len(range)`` or shape (len(range), N)). ``m`` (window limit) is ignored for the
    intercept chart, as in R. ``score`` is GLR(n), ``expected`` is mu0.

    Differs from R: missing counts are left out of the fit and skipped in the recursion (NaN
    bound and score, no alarm) where R stops; ``change="epi"`` is refused
    (docs/surveillance-cusum-glr.md).
    """
    return _glr(
        "glrpois",
        counts,
        range=range,
        c_arl=c_arl,
        mu0=mu0,
        alpha=0.0,
        mtilde=mtilde,
        m=m,
        change=change,
        theta=theta,
        dir=dir,
        ret=ret,
        x_max=x_max,
    )


def glrnb(
    counts: Counts,
    *,
    range: Any = None,
    c_arl: float = 5.0,
    mu0: Any = None,
    alpha: float | None = None,
    mtilde: int = 1,
    m: int = -1,
    change: str = "intercept",
    theta: float | None = None,
    dir: str = "inc",
    ret: str = "value",
    x_max: float = 1e4,
) -> DetectionResult:
    """Negative binomial GLR chart, as R's ``glrnb(sts, control=list(...))``.

    ``alpha`` is the dispersion (variance ``mu + alpha mu^2``); ``alpha=0`` makes this the
    Poisson chart. The default ``None`` estimates it, per series, by maximum likelihood together
    with the in-control model (as ``MASS::glm.nb``): that is what R does whenever a control list
    is given without ``alpha`` (and R needs one, for ``range``), although R's documentation
    shows ``alpha = 0`` as default. ``ret="cases"`` searches the smallest count up
    to ``x_max`` that alarms (1e99 if none).

    Differs from R: missing counts as for :func:`glrpois`; at a zero count ``ret="cases"``
    gives the real smallest alarming count where R answers 1e99; where a window's shift
    ``kappa`` exceeds about 5, R's search fails and returns 0, healthwatch the true supremum
    (docs/surveillance-cusum-glr.md).
    """
    return _glr(
        "glrnb",
        counts,
        range=range,
        c_arl=c_arl,
        mu0=mu0,
        alpha=alpha,
        mtilde=mtilde,
        m=m,
        change=change,
        theta=theta,
        dir=dir,
        ret=ret,
        x_max=x_max,
    )
