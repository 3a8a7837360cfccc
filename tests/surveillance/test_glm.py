"""The batched quasi-Poisson GLM against statsmodels, and its fast factor+trend path."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from healthwatch.surveillance.glm import fit_quasipoisson, fit_quasipoisson_levels


def _data(n_series=6, n=40, seed=11):
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    level = (np.arange(n) // 7) % 3
    mu = np.exp(1.0 + 0.02 * t + np.array([0.0, 0.5, -0.4])[level])
    y = rng.negative_binomial(3, 3 / (3 + mu), size=(n_series, n)).astype(float)
    return t, level, y


def test_matches_statsmodels_per_series():
    t, _level, y = _data()
    X = np.column_stack([np.ones_like(t), t])
    w = np.random.default_rng(2).uniform(0.5, 2.0, size=y.shape)
    fit = fit_quasipoisson(X, y, weights=w)
    assert fit.converged.all()
    for s in range(y.shape[0]):
        ref = sm.GLM(y[s], X, family=sm.families.Poisson(), var_weights=w[s]).fit(
            scale="X2", tol=1e-12
        )
        np.testing.assert_allclose(fit.coef[s], ref.params, rtol=1e-6)
        np.testing.assert_allclose(fit.mu[s], ref.mu, rtol=1e-6)
        np.testing.assert_allclose(fit.pearson_dispersion[s], ref.scale, rtol=1e-6)
        # like glm.fit, hat values use the last iteration's weights (from the previous mu),
        # statsmodels the converged ones: equal to about 1e-5
        np.testing.assert_allclose(fit.hat[s], ref.get_hat_matrix_diag(), rtol=1e-4)
        assert fit.df_residual[s] == ref.df_resid
        # standard error of the linear predictor at a new point
        x0 = np.array([1.0, 45.0])
        se_ref = np.sqrt(x0 @ ref.cov_params() @ x0)
        assert fit.se_eta(x0, fit.pearson_dispersion)[s] == pytest.approx(se_ref, rel=1e-4)


def test_missing_values_are_left_out():
    t, _, y = _data(n_series=2)
    X = np.column_stack([np.ones_like(t), t])
    y_na = y.copy()
    y_na[0, [3, 17]] = np.nan
    full = fit_quasipoisson(
        X[[i for i in range(t.size) if i not in (3, 17)]], np.delete(y[:1], [3, 17], axis=1)
    )
    fit = fit_quasipoisson(X, y_na)
    np.testing.assert_allclose(fit.coef[0], full.coef[0], rtol=1e-12)
    assert fit.df_residual[0] == t.size - 2 - 2 and fit.df_residual[1] == t.size - 2
    assert np.isnan(fit.mu[0, 3]) and np.isfinite(fit.mu[1, 3])


def test_levels_path_equals_general_path():
    t, level, y = _data()
    y[2, level == 2] = 0  # a level with only zeros: coefficient runs off to -inf, like R
    w = np.random.default_rng(4).uniform(0.5, 2.0, size=y.shape)
    off = np.log(np.random.default_rng(5).uniform(1e4, 2e4, size=y.shape))
    dummies = np.eye(3)[level]
    for trend in (True, False):
        X = np.column_stack([dummies, t]) if trend else dummies
        gen = fit_quasipoisson(X, y, weights=w, offset=off)
        fast = fit_quasipoisson_levels(
            y,
            level,
            t,
            n_levels=3,
            trend=trend,
            level0=1,
            time0=t[-1] + 3,
            weights=w,
            offset=off,
            offset0=off[:, -1],
        )
        np.testing.assert_array_equal(gen.iterations, fast.iterations)
        np.testing.assert_allclose(fast.mu, gen.mu, rtol=1e-7)
        np.testing.assert_allclose(fast.hat, gen.hat, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(fast.dispersion, gen.dispersion, rtol=1e-7)
        x0 = np.r_[0.0, 1.0, 0.0, 0.0] if trend else np.r_[0.0, 1.0, 0.0]
        if trend:
            x0[3] = 0.0  # time0 is the origin of the fast path's time axis
            np.testing.assert_allclose(fast.trend_coef, gen.coef[:, 3], rtol=1e-7)
            np.testing.assert_allclose(fast.trend_var, gen.cov_unscaled[:, 3, 3], rtol=1e-6)
        eta0_gen = gen.coef @ np.r_[0.0, 1.0, 0.0, t[-1] + 3][: gen.coef.shape[1]]
        np.testing.assert_allclose(fast.eta0 - off[:, -1], eta0_gen, rtol=1e-7)
    assert fast.iterations[2] > fast.iterations[0]


def test_all_zero_series_stops_like_glm_fit():
    y = np.zeros((1, 20))
    fit = fit_quasipoisson_levels(
        y, np.zeros(20, dtype=int), np.arange(20.0), n_levels=1, trend=False
    )
    # eta falls by one per iteration from log(0.1); R's glm.fit converges after 22 steps
    assert fit.converged[0]
    assert fit.eta0[0] == pytest.approx(np.log(0.1) - fit.iterations[0])
    nonconv = fit_quasipoisson_levels(
        y, np.zeros(20, dtype=int), np.arange(20.0), n_levels=1, trend=False, maxit=5
    )
    assert not nonconv.converged[0] and nonconv.iterations[0] == 5
