"""The fused numba kernel behind :mod:`healthwatch.surveillance.farrington`.

One call handles a block of series over all evaluated weeks: for every (series, week) it
gathers the reference counts, fits the quasi-Poisson GLM ``y ~ factor(level) (+ trend)`` by
IRLS exactly as R's ``glm.fit`` (start ``mu = y + 0.1``, stop when the relative change of the
deviance is below ``epsilon`` or after ``maxit`` iterations), reweights with Anscombe residuals,
refits, tests the trend, falls back to the fit without trend and computes the bound. Doing all
of it in one compiled pass, with the series spread over the cores (``prange``), avoids the
``(series, n)`` numpy temporaries of a step-by-step batched version, which cost more than the
fits themselves.

The design is a factor plus one linear trend, so ``X'WX`` is an "arrow" matrix: the normal
equations, the covariance and the hat values need O(n + K) work per iteration (Schur
complement of the trend), not dense p x p algebra. The reference weeks are sorted by factor
level (the fit does not depend on their order), so each level is one contiguous run.

Everything here mirrors :func:`healthwatch.surveillance.glm.fit_quasipoisson_levels` and the
reference implementation in ``farrington.py``; the golden files from R check both.
"""

from __future__ import annotations

import math

import numpy as np

from healthwatch.jit import numba

__all__ = ["DELTA", "MUAN", "NB_PLUGIN", "farrington_block", "nb_quantile_or_flag"]

DELTA, NB_PLUGIN, MUAN = 0, 1, 2
_FASTMATH = {"contract", "arcp"}  # no reassociation: results must not depend on alignment
_NB_TOL = 1e-9  # a cdf this close to q is left to scipy, whose rounding decides the quantile
_QUANTILE_MAX_STEPS = 20_000
_U0, _U1 = np.uint64(0), np.uint64(1)


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
def _solve(S0, S1, T0, S2, T1, trend, beta):
    """Solve the arrow-shaped normal equations; return (trend coefficient, Schur complement)."""
    K = S0.shape[0]
    bt = 0.0
    schur = np.nan
    if trend:
        schur = S2
        num = T1
        for k in range(K):
            if S0[k] > 0:
                a = S1[k] / S0[k]
                schur -= a * S1[k]
                num -= a * T0[k]
        bt = num / schur
    for k in range(K):
        beta[k] = (T0[k] - S1[k] * bt) / S0[k] if S0[k] > 0 else np.nan
    return bt, schur


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
def _unit_terms(v, ylogy, ly01, dev0, o, t):
    """What a count ``v`` adds, at unit weight and R's start ``mu = y + 0.1``, to the sums.

    (1, start deviance, y log y - y - y offset, w, w t, w t^2, w z, w z t, y, y t) with
    ``w = y + 0.1`` and ``w z = w (log(y + 0.1) - offset) - 0.1`` (ignoring the offset in the
    start, as R does); ``ylogy``, ``ly01`` and ``dev0`` are the count's entries of the tables.
    """
    w = v + 0.1
    wz = w * (ly01 - o) + (v - w)
    c = ylogy - v - v * o
    return (1.0, dev0, c, w, w * t, w * t * t, wz, wz * t, v, v * t)


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
def _irls(g, pw, scale, exc, n_exc, trend, has_off, maxit, epsilon, sc):
    """Fit one reference set by IRLS; return (bt, schur, df, dispersion, converged, pr2).

    ``pr2`` is the sum of the squared Pearson residuals with the prior weights (NaN if one is
    0), which the flexible method's trend test uses after the reweighted fit.

    ``g`` holds the ``n = seg[-1]`` finite reference counts of one series and week, sorted by
    level (level ``k`` is ``seg[k]:seg[k+1]``); ``pw`` are prior weights (0 leaves a count out),
    equal to ``scale`` except at the ``n_exc`` positions ``exc``.
    Fills ``sc``: the final fitted values, the last iteration's working weights (R's
    convention), and the per-level sums and coefficients of the last solve.

    With ``u = eta - offset = beta_k + bt * t`` linear within a level, the right-hand sides
    ``sum w z``, ``sum w z t`` and the deviance reduce to per-level constants plus the sums of
    ``w``, ``w t`` and ``w t^2``, so a pass over the counts only computes ``mu`` and these three
    sums. Within a level (no offset) ``mu`` of the next count is the previous one times
    ``exp(bt * gap)``, the gap in weeks between them taking only a few values (``gaps``), so
    a pass calls ``exp`` once per level and gap instead of once per count.
    """
    y, off, tt, pos, row, gap_idx, gaps, n_gaps, seg, _off0, L = g
    mu, ww, ww_next, S0, S1, T0, beta, S0n, S1n, T0n, PY, PYT, step = sc
    K = seg.shape[0] - 1
    n = seg[K]
    # R's start mu = y + 0.1: the sums are the unit-weight ones of the gather, scaled
    devold = C = S2 = T1 = 0.0  # C: sum pw (y log y - y - y offset), fixed by the data
    for k in range(K):
        S0[k] = scale * L[3, k]
        S1[k] = scale * L[4, k] if trend else 0.0
        T0[k] = scale * L[6, k]
        PY[k] = scale * L[8, k]
        PYT[k] = scale * L[9, k]
        devold += scale * L[1, k]
        C += scale * L[2, k]
        S2 += scale * L[5, k]
        T1 += scale * L[7, k]
    n_good = n
    for e in range(n_exc):  # ... corrected where the prior weight is not ``scale``
        i = exc[e]
        k = 0
        while seg[k + 1] <= i:
            k += 1
        d = pw[i] - scale
        n_good -= pw[i] <= 0
        tp = pos[i]
        t = _unit_terms(y[i], row[1][tp], row[2][tp], row[3][tp], off[i], tt[i])
        S0[k] += d * t[3]
        if trend:
            S1[k] += d * t[4]
        T0[k] += d * t[6]
        PY[k] += d * t[8]
        PYT[k] += d * t[9]
        devold += d * t[1]
        C += d * t[2]
        S2 += d * t[5]
        T1 += d * t[7]
    converged = False
    it = 0
    bt = 0.0
    schur = np.nan
    while it < maxit:
        it += 1
        bt, schur = _solve(S0, S1, T0, S2, T1, trend, beta)
        for j in range(n_gaps):
            step[j] = math.exp(bt * gaps[j]) if gaps[j] != 0 else 1.0
        lin = 0.0  # sum pw y u - sum w, so that the deviance is 2 (C - lin)
        S2 = 0.0
        T1 = 0.0
        for k in range(K):
            s0 = s1 = s2 = 0.0
            lo = np.uint64(seg[k])  # unsigned: no negative-index wraparound in the loop
            hi = np.uint64(seg[k + 1])
            if S0[k] > 0 and hi > lo:  # else only left-out counts: keep them
                b = beta[k]
                m = math.exp(off[lo] + b + bt * tt[lo])
                for i in range(lo, hi):
                    if has_off:
                        m = math.exp(off[i] + b + bt * tt[i])
                    elif i > lo:
                        m = m * step[gap_idx[i]]
                    t = tt[i]
                    mu[i] = m
                    w = pw[i] * m
                    ww_next[i] = w
                    s0 += w
                    s1 += w * t
                    s2 += w * t * t
                lin += b * PY[k] + bt * PYT[k] - s0
                T0n[k] = b * s0 + bt * s1 + PY[k] - s0
                T1 += b * s1 + bt * s2 + PYT[k] - s1
                S2 += s2
            else:
                for i in range(seg[k], seg[k + 1]):
                    mu[i] = y[i] + 0.1
                    ww_next[i] = 0.0
                T0n[k] = 0.0
            S0n[k] = s0
            S1n[k] = s1 if trend else 0.0
        dev = 2.0 * (C - lin)
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        devold = dev
        if it < maxit:  # the sums of this pass feed the next solve
            for i in range(n):  # a loop: a slice assignment here made the kernel 7 % slower
                ww[i] = ww_next[i]
            S0[:] = S0n
            S1[:] = S1n
            T0[:] = T0n
    if it == 1:  # the only solve used the start weights
        for i in range(n):
            ww[i] = pw[i] * (y[i] + 0.1)
    rank = 1 if trend else 0
    for k in range(K):
        if S0[k] > 0:
            rank += 1
    df = n_good - rank
    wr2 = 0.0  # R's dispersion: working weights
    pr2 = 0.0  # the same with the prior weights (summary.glm of a weighted fit), for the refit
    for i in range(n):
        r = (y[i] - mu[i]) / mu[i]
        wr2 += ww[i] * r * r
        if pw[i] > 0:
            pr2 += pw[i] * r * r
        else:
            pr2 = np.nan
    dispersion = wr2 / df if df > 0 else np.nan
    return bt, schur, df, dispersion, converged, pr2


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
def _anscombe_weights(g, sc, bt, schur, trend, phi, threshold, pw, exc):
    """Fill ``pw`` with the Anscombe down-weights of the counts (all weight 1 before).

    Standardised Anscombe residuals ``s = 1.5 (y^(2/3) mu^(-1/6) - mu^(1/2)) /
    sqrt(phi (1 - h))`` above ``threshold`` get weight ``s^-2``, the others 1; all are then
    scaled to sum to the number of counts. ``h`` are the hat values of the arrow design. By
    concavity of ``y^(2/3)`` the Anscombe residual is at most the Pearson residual
    ``(y - mu) / sqrt(mu phi (1 - h))``, so (for a positive threshold) only the few counts whose
    Pearson residual exceeds it need the powers. Returns the number of down-weighted counts
    (their positions go to ``exc``) and the scale ``gamma`` of the others.
    """
    y, off, tt, pos, row, seg = g[0], g[1], g[2], g[3], g[4], g[8]
    y23 = row[4]
    mu, ww, _wn, S0, S1, _T0, beta = sc[:7]
    K = seg.shape[0] - 1
    n = seg[K]
    total = 0.0
    n_down = 0
    screen = threshold > 0
    thr2 = threshold * threshold * (1.0 - 1e-10)  # margins: screened counts are surely below,
    # also after rounding (hat values near 1 are computed in full, as the reference does)
    ischur = 1.0 / schur if trend else 0.0
    for k in range(K):
        inv = 1.0 / S0[k]
        c1 = S1[k] * inv
        for i in range(np.uint64(seg[k]), np.uint64(seg[k + 1])):
            raw = 1.0
            c = c1 - tt[i]
            den = phi * (1.0 - ww[i] * (inv + c * c * ischur))  # phi (1 - hat)
            d = y[i] - mu[i]
            # the Anscombe residual never exceeds the Pearson one (y^(2/3) is concave)
            pearson_above = (d > 0.0) & (d * d > thr2 * mu[i] * den)
            if (not screen) | (not den > 1e-4) | pearson_above:
                eta = off[i] + beta[k] + bt * tt[i]
                s = 1.5 * (y23[pos[i]] * math.exp(-eta / 6.0) - math.sqrt(mu[i]))
                s = s / math.sqrt(den)
                if s > threshold:
                    raw = 1.0 / (s * s)
            pw[i] = raw
            total += raw
            if raw != 1.0:
                exc[n_down] = i
                n_down += 1
    gamma = n / total
    for i in range(n):
        pw[i] *= gamma
    return n_down, gamma


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
def _fit_stage(g, trend, fit_args, pw, exc, sc):
    """R's fit of one model (with or without trend): fit, reweight, refit, trend test.

    ``g`` are the gathered reference arrays, ``fit_args`` = (has_off, reweight, classic,
    weights threshold, maxit, epsilon, crit), ``pw``, ``exc`` and ``sc`` scratch arrays. Returns
    (eta0, var_eta0, phi, se_dispersion, trend_ok, converged): ``trend_ok`` is the t-test of
    the trend (``|t| > crit[df]``, i.e. p below the threshold).
    """
    has_off, reweight, classic, threshold, maxit, epsilon, crit = fit_args
    seg = g[8]
    off0 = g[9]
    S0 = sc[3]
    S1 = sc[4]
    beta = sc[6]
    n = seg[seg.shape[0] - 1]
    pw[:n] = 1.0
    bt, schur, df, disp, converged, pr2 = _irls(
        g, pw, 1.0, exc, 0, trend, has_off, maxit, epsilon, sc
    )
    phi = disp if not disp < 1.0 else 1.0
    se_disp = disp
    if reweight:
        # all weights 1 (gamma is then exactly 1): the refit would repeat the fit exactly
        n_down, gamma = _anscombe_weights(g, sc, bt, schur, trend, phi, threshold, pw, exc)
        if n_down > 0:
            bt, schur, df, disp, conv2, pr2 = _irls(
                g, pw, gamma, exc, n_down, trend, has_off, maxit, epsilon, sc
            )
        else:  # no refit: the weights stay 1, the residuals those of the first fit
            conv2 = converged
        converged = converged and conv2
        phi = disp if not disp < 1.0 else 1.0
        # R's flexible model keeps the prior weights where glm has working weights
        se_disp = disp if classic else pr2 / df
    q0 = 1.0 / S0[0] if S0[0] > 0 else np.nan
    trend_ok = False
    if trend:
        c0 = S1[0] / S0[0]
        q0 += c0 * c0 / schur
        tstat = bt / math.sqrt((1.0 / schur) * se_disp)
        dfi = int(df)
        trend_ok = 0 < dfi < crit.shape[0] and abs(tstat) > crit[dfi]
    eta0 = off0 + beta[0]
    return eta0, q0, phi, se_disp, trend_ok, converged


@numba.njit(cache=True, nogil=True, error_model="numpy")
def nb_quantile_or_flag(q, mu, phi):
    """``qnbinom(q, size = mu/(phi-1), mu = mu)`` (Poisson when ``phi <= 1``), or -1.

    Sums the probabilities from 0 with the pmf recurrence; returns -1 (ask scipy) when the
    start underflows, the search is long, or the cdf ends within ``1e-9`` of ``q`` (where the
    last bits of rounding decide, so scipy's own answer is the reference). NaN for non-finite input.
    """
    if not (math.isfinite(mu) and math.isfinite(phi)):
        return np.nan
    if mu <= 0.0:
        return -1.0
    if phi <= 1.0:
        log_p0 = -mu
        ratio_a, ratio_b = 0.0, mu  # pmf(k+1) = pmf(k) * (k*a + b) / (k + 1)
    else:
        size = mu / (phi - 1.0)
        log_p0 = -size * math.log(phi)
        odds = 1.0 - 1.0 / phi
        ratio_a, ratio_b = odds, size * odds
    if log_p0 < -600.0:
        return -1.0
    pmf = math.exp(log_p0)
    cdf = pmf
    k = 0
    prev = -1.0
    while cdf < q:
        if k >= _QUANTILE_MAX_STEPS:
            return -1.0
        pmf *= (k * ratio_a + ratio_b) / (k + 1)
        k += 1
        prev = cdf
        cdf += pmf
    if abs(cdf - q) < _NB_TOL or abs(prev - q) < _NB_TOL:
        return -1.0
    return float(k)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _bound(method, classic, mu, eta0, var_eta0, phi, se_disp, z, power, q):
    """Upper bound of the count: delta method on ``y**power``, nbPlugin or muan."""
    if method == DELTA:
        var_mu = mu * mu * var_eta0 * (phi if classic else se_disp)
        tau = phi + var_mu / mu
        sd = math.sqrt(power * power * mu ** (2.0 * power - 1.0) * tau)
        base = mu**power + z * sd
        return base ** (1.0 / power), mu
    if method == NB_PLUGIN:
        return nb_quantile_or_flag(q, mu, phi), mu
    se_eta = math.sqrt(var_eta0 * se_disp)
    mu_q = math.exp(eta0 + z * se_eta) if se_eta > 0 else np.nan
    return nb_quantile_or_flag(q, mu_q, phi), mu_q


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
def _gather(r, row, offs, has_off, design, ga, gap_idx, gaps, seg, L):
    """Copy the finite reference counts of one series at week ``r`` into ``ga``.

    ``row`` are the series' rows of the count tables, ``offs`` its log populations (if
    ``has_off``).

    ``ga`` receives the counts, their offsets, their times relative to the predicted week and
    their positions in the series (the other per-count tables are read from there when needed).
    ``gaps[gap_idx[m]]`` is the number of weeks between count ``m`` and count ``m - 1`` of the
    same level (0 for the first of a level); ``seg`` receives the level boundaries and ``L``
    the per-level sums of :func:`_unit_terms` (the start of every unit-weight fit), summed in
    the same pass. Returns the largest reference count, the offset of the predicted week and
    the number of distinct gaps.
    """
    ref_t, ref_lev, n_ref, t_pos, tc = design
    y, off, tt, pos = ga
    # row views and unsigned indices: no negative-index wraparound in the loop
    Y, YLOGY, LY01, DEV0 = row[0], row[1], row[2], row[3]
    refs, levs = ref_t[r], ref_lev[r]
    seg[:] = 0
    L[:, :] = 0.0
    m = _U0
    ymax = -np.inf
    prev_lev = -1
    prev_tp = _U0
    n_gaps = 0
    count = 0
    t_now = tc[t_pos[r]]
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = 0.0
    for j in range(np.uint64(n_ref[r])):
        tp = np.uint64(refs[j])
        v = Y[tp]
        if not math.isfinite(v):
            continue
        lev = levs[j]
        o = offs[tp] if has_off else 0.0
        t = tc[tp] - t_now
        y[m] = v
        off[m] = o
        tt[m] = t
        pos[m] = tp
        if lev != prev_lev:
            if prev_lev >= 0:
                _store_sums(L, prev_lev, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9)
                seg[prev_lev + 1] = count
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = 0.0
            count = 0
            gap = 0.0
        else:
            gap = tc[tp] - tc[prev_tp]
        gi = 0
        while gi < n_gaps and gaps[gi] != gap:
            gi += 1
        if gi == n_gaps:
            gaps[gi] = gap
            n_gaps += 1
        gap_idx[m] = gi
        u = _unit_terms(v, YLOGY[tp], LY01[tp], DEV0[tp], o, t)
        a0 += u[0]
        a1 += u[1]
        a2 += u[2]
        a3 += u[3]
        a4 += u[4]
        a5 += u[5]
        a6 += u[6]
        a7 += u[7]
        a8 += u[8]
        a9 += u[9]
        prev_lev = lev
        prev_tp = tp
        count += 1
        ymax = max(ymax, v)
        m += _U1
    if prev_lev >= 0:
        _store_sums(L, prev_lev, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9)
        seg[prev_lev + 1] = count
    for k in range(seg.shape[0] - 1):
        seg[k + 1] += seg[k]
    off0 = offs[t_pos[r]] if has_off else 0.0
    return ymax, off0, n_gaps


@numba.njit(cache=True, nogil=True)
def _store_sums(L, k, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9):
    """``L[:, k]``: the sums of :func:`_unit_terms` over the counts of level ``k``."""
    L[0, k] = a0
    L[1, k] = a1
    L[2, k] = a2
    L[3, k] = a3
    L[4, k] = a4
    L[5, k] = a5
    L[6, k] = a6
    L[7, k] = a7
    L[8, k] = a8
    L[9, k] = a9


@numba.njit(cache=True, nogil=True)
def _scratch(n_max, K):
    """Work arrays of one series: gathered counts, fit state, prior weights, gaps, levels."""
    ga = (
        np.empty(n_max),  # y
        np.empty(n_max),  # offset
        np.empty(n_max),  # time relative to the predicted week
        np.empty(n_max, dtype=np.int64),  # position in the series
    )
    sc = (
        np.empty(n_max),  # mu
        np.empty(n_max),  # working weights of the last solve
        np.empty(n_max),  # working weights for the next solve
        np.empty(K),  # S0: sum w per level
        np.empty(K),  # S1: sum w t per level
        np.empty(K),  # T0: sum w z per level
        np.empty(K),  # beta
        np.empty(K),  # S0, S1, T0 for the next solve
        np.empty(K),
        np.empty(K),
        np.empty(K),  # sum pw y per level
        np.empty(K),  # sum pw y t per level
        np.empty(n_max),  # exp(bt * gap) per distinct gap
    )
    ints = (
        np.empty(n_max, dtype=np.uint64),  # gap index per count
        np.empty(n_max),  # distinct gaps
        np.empty(n_max, dtype=np.int64),  # positions of down-weighted counts
        np.empty(K + 1, dtype=np.int64),  # level boundaries
    )
    return ga, sc, np.empty(n_max), ints, np.empty((10, K))


@numba.njit(cache=True, parallel=True, error_model="numpy")
def farrington_block(tables, off_tab, has_off, design, K, settings, crit, out):
    """Run the whole Farrington procedure for every series of a block and every week.

    ``tables`` = (y, y log y, log(y + 0.1), the deviance at the start, y^(2/3)), each
    (series, time) with 0-based time; ``off_tab`` the log population (series, time) if
    ``has_off``. ``design`` = (ref_t, ref_lev, n_ref, t_pos, tc): week ``r`` is time
    position ``t_pos[r]``, ``tc`` the trend covariate of each position (the position itself,
    or R's days / first step for dated monthly series); its ``n_ref[r]`` reference
    positions ``ref_t[r]`` are sorted by factor level
    ``ref_lev[r]`` (``K`` levels, 0 = windows). ``settings`` = (trend, reweight, classic,
    threshold method, b, weights threshold, maxit, epsilon, z, power, quantile level).
    ``crit[df]`` is the critical |t| of the trend test. ``out`` (6, weeks, series) receives
    expected, upper bound, phi, trend kept, the mean the quantile was asked for and whether
    scipy must compute the quantile (bound -1 from here).
    """
    trend, reweight, classic, method, b, threshold, maxit, epsilon, z, power, q = settings
    use_trend = trend and b >= 3  # with b < 3 R always drops the trend
    fit_args = (has_off, reweight, classic, threshold, maxit, epsilon, crit)
    for s in numba.prange(tables[0].shape[0]):
        ga, sc, pw, (gap_idx, gaps, exc, seg), L = _scratch(design[0].shape[1], K)
        row = (tables[0][s], tables[1][s], tables[2][s], tables[3][s], tables[4][s])
        offs = off_tab[s]
        for r in range(design[3].shape[0]):
            ymax, off0, n_gaps = _gather(r, row, offs, has_off, design, ga, gap_idx, gaps, seg, L)
            g = (*ga, row, gap_idx, gaps, n_gaps, seg, off0, L)
            kept = False
            eta0, v0, phi, se_disp, ok, conv = _fit_stage(g, use_trend, fit_args, pw, exc, sc)
            if use_trend:
                kept = conv and ok and math.exp(eta0) <= ymax
                if not kept:
                    eta0, v0, phi, se_disp, ok, conv = _fit_stage(g, False, fit_args, pw, exc, sc)
            mu0 = math.exp(eta0)
            upper, mu_q = _bound(method, classic, mu0, eta0, v0, phi, se_disp, z, power, q)
            out[0, r, s] = mu0
            out[1, r, s] = upper
            out[2, r, s] = phi
            out[3, r, s] = 1.0 if kept else 0.0
            out[4, r, s] = mu_q
            out[5, r, s] = 1.0 if (method != DELTA and upper == -1.0) else 0.0
