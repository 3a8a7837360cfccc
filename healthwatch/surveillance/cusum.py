"""CUSUM for counts (Rossi et al. 1999), as R ``surveillance``'s ``algo.cusum``/``cusum``.

Each count ``x_t`` is standardised against an in-control mean ``m_t`` into ``z_t`` (the
transformation ``trans``) and accumulated one-sided, ``S_t = max(0, S_{t-1} + z_t - k)``; an alarm
is raised when ``S_t >= h``. Like R, the sum is *not* reset after an alarm: alarms continue until
the sum falls back below ``h``. The upper bound is the count that would have made ``S_t`` reach
``h`` given ``S_{t-1}``, i.e. the transformation inverted at ``z = h + k - S_{t-1}``.

The transformations (``m`` the in-control mean, ``alpha`` the negative binomial dispersion so that
the variance is ``m + alpha m^2``):

- ``standard``: ``z = (x - m) / sqrt(m)``; its upper bound is rounded up to a whole count, >= 0.
- ``rossi``: ``z = (x - 3m + 2 sqrt(x m)) / (2 sqrt(m))``.
- ``anscombe``: ``z = 3/2 (x^(2/3) - m^(2/3)) / m^(1/6)``.
- ``anscombe2nd``: ``z = (x^(2/3) - (m^(2/3) - m^(-1/3)/9)) / (2/3 m^(1/6))`` (Pierce & Schafer).
- ``pearsonNegBin``: ``z = (x - m) / sqrt(m + alpha m^2)``.
- ``anscombeNegBin``: ``z = (A(x) - A(m)) / (m (1 + alpha m))^(1/6)`` with the negative binomial
  Anscombe transform ``A(y) = int_0^y u^(-1/3) (1 + alpha u)^(-1/3) du
  = 3/2 y^(2/3) 2F1(1/3, 2/3; 5/3; -alpha y)``, with 2F1 evaluated from a table as R does
  (see :func:`_hyp`).
- ``none``: ``z = x`` (the count itself; ``m`` is reported but not used).

For ``anscombeNegBin`` and ``none`` R does not invert the transformation: its upper bound is
``max(0, h - S_t)`` (observed from R, documented in docs/surveillance-cusum-glr.md); healthwatch
reports the same.

``m="glm"``: the in-control mean is predicted over ``range`` from a Poisson GLM
``log m_t = b0 + g cos(2 pi t / freq) + d sin(2 pi t / freq)`` fitted to the counts before
``range`` (``t = 1..``), as R's ``algo.cusum(control=list(m="glm"))``.

The recursion runs in numba over a (T, N) array, one loop over time with an inner loop over all
series, so a whole province is one call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import hyp2f1

from healthwatch.errors import InputError, Problem
from healthwatch.jit import numba
from healthwatch.surveillance.glr import fit_loglinear_baseline
from healthwatch.surveillance.series import Counts, DetectionResult, resolve_range

__all__ = ["TRANSFORMATIONS", "cusum", "cusum_recursion"]

#: transformations healthwatch implements (names as R's ``trans``).
TRANSFORMATIONS = (
    "standard",
    "rossi",
    "anscombe",
    "anscombe2nd",
    "pearsonNegBin",
    "anscombeNegBin",
    "none",
)
#: transformations R does not invert: their upper bound is ``max(0, h - S_t)``
_NOT_INVERTED = ("anscombeNegBin", "none")


@numba.njit(cache=True)
def cusum_recursion(z: np.ndarray, k: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided CUSUM over (T, N) standardised values.

    Returns ``(s_prev, s)``: the sum before and after each time point. A missing ``z`` (NaN)
    leaves the sum unchanged and gives NaN at that cell (R would propagate NA to every later
    time point; healthwatch skips the missing week instead, see the docs).
    """
    n_t, n_s = z.shape
    s_prev = np.empty((n_t, n_s))
    s = np.empty((n_t, n_s))
    cur = np.zeros(n_s)
    for t in range(n_t):
        for j in range(n_s):
            s_prev[t, j] = cur[j]
            zz = z[t, j]
            if np.isnan(zz):
                s[t, j] = np.nan
                continue
            nxt = cur[j] + zz - k
            if nxt < 0.0:
                nxt = 0.0
            cur[j] = nxt
            s[t, j] = nxt
    return s_prev, s


def _transform(x: np.ndarray, m: np.ndarray, trans: str, alpha: float) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        if trans == "standard":
            return (x - m) / np.sqrt(m)
        if trans == "rossi":
            return (x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m))
        if trans == "anscombe":
            return 1.5 * (x ** (2 / 3) - m ** (2 / 3)) / m ** (1 / 6)
        if trans == "anscombe2nd":
            return (x ** (2 / 3) - (m ** (2 / 3) - m ** (-1 / 3) / 9)) / (2 / 3 * m ** (1 / 6))
        if trans == "none":
            return x.astype(np.float64, copy=True)
        if trans == "anscombeNegBin":
            return (_anscombe_nb(x, alpha) - _anscombe_nb(m, alpha)) / (m * (1 + alpha * m)) ** (
                1 / 6
            )
        return (x - m) / np.sqrt(m + alpha * m**2)  # pearsonNegBin


def _hyp(v: np.ndarray) -> np.ndarray:
    """``2F1(1/3, 2/3; 5/3; v)`` for ``v <= 0`` the way R evaluates it (observed): from a table,
    the nearest point of a 0.01 grid on [-10, 0] and linear interpolation between whole numbers
    on [-100, -10]; healthwatch computes the table's values exactly (scipy) and uses the exact
    function below -100 (R's behaviour there was not observed)."""
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        fine = hyp2f1(1 / 3, 2 / 3, 5 / 3, np.round(v, 2))
        lo = np.floor(v)
        w = v - lo
        coarse = (1 - w) * hyp2f1(1 / 3, 2 / 3, 5 / 3, lo) + w * hyp2f1(1 / 3, 2 / 3, 5 / 3, lo + 1)
        exact = hyp2f1(1 / 3, 2 / 3, 5 / 3, v)
    return np.where(v >= -10, fine, np.where(v >= -100, coarse, exact))


def _anscombe_nb(y: np.ndarray, alpha: float) -> np.ndarray:
    """``int_0^y u^(-1/3) (1 + alpha u)^(-1/3) du = 3/2 y^(2/3) 2F1(1/3, 2/3; 5/3; -alpha y)``
    (elementwise), with R's tabulated 2F1 (:func:`_hyp`)."""
    return 1.5 * y ** (2 / 3) * _hyp(-alpha * y)


def _invert(z: np.ndarray, m: np.ndarray, trans: str, alpha: float) -> np.ndarray:
    """The count whose transformed value is ``z`` (R's upper bound)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if trans == "standard":
            return np.ceil(np.maximum(m + z * np.sqrt(m), 0.0))
        if trans == "rossi":
            return (-np.sqrt(m) + np.sqrt(4 * m + 2 * np.sqrt(m) * z)) ** 2
        if trans == "anscombe":
            return (m ** (2 / 3) + 2 / 3 * z * m ** (1 / 6)) ** 1.5
        if trans == "anscombe2nd":
            # R inverts with m^(1/3)/9 where the statistic uses m^(-1/3)/9; kept for
            # conformance (documented in docs/surveillance-cusum-glr.md).
            return (m ** (2 / 3) - m ** (1 / 3) / 9 + 2 / 3 * m ** (1 / 6) * z) ** 1.5
        return m + z * np.sqrt(m + alpha * m**2)


def _problem(en: str, zh: str, field: str) -> InputError:
    return InputError([Problem(en, zh, field=field)])


def _in_control_mean(counts: Counts, rng: np.ndarray, m: Any) -> np.ndarray:
    """(len(range), N) in-control means: the mean before range (``m=None``), a Poisson GLM
    with one harmonic fitted before range (``m="glm"``) or user values."""
    n_r, n_s = len(rng), counts.n_series
    if isinstance(m, str) and m == "glm":
        first = int(rng[0])
        base = counts.observed[: first - 1]
        n_obs = (~np.isnan(base)).sum(axis=0) if base.size else np.zeros(n_s)
        if base.shape[0] == 0 or np.any(n_obs < 4):
            raise _problem(
                "cusum with m='glm' fits a Poisson GLM with 3 parameters to the counts before "
                f"range; each series needs at least 4 counts before t={first}: start range "
                "later or give m",
                "m='glm' 时 cusum 用 range 之前的计数拟合含 3 个参数的泊松 GLM；每条序列在 "
                f"t={first} 之前至少需要 4 个计数：请推后 range 或给出 m",
                "range",
            )
        mu, _ = fit_loglinear_baseline(
            base, period=counts.freq, harmonics=1, trend=False, family="poisson", predict_t=rng
        )
        return mu
    if m is None:
        first = int(rng[0])
        if first < 2:
            raise _problem(
                "cusum with m=None estimates the mean from the counts before range; "
                "start range at t >= 2 or give m",
                "m=None 时 cusum 用 range 之前的计数估计均值；请让 range 从 t >= 2 开始或给出 m",
                "range",
            )
        base = counts.observed[: first - 1]
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(base, axis=0) if base.size else np.full(n_s, np.nan)
        return np.broadcast_to(mean, (n_r, n_s)).copy()
    if isinstance(m, str):
        raise _problem(
            f"m={m!r} is not supported; give None (mean before range), 'glm' or numbers",
            f"不支持 m={m!r}；请给 None（range 之前的均值）、'glm' 或数值",
            "m",
        )
    arr = np.asarray(m, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n_r, float(arr))
    if arr.ndim == 1:
        if arr.shape[0] != n_r:
            raise _problem(
                f"m has {arr.shape[0]} values for {n_r} time points in range",
                f"m 有 {arr.shape[0]} 个值，但 range 有 {n_r} 个时间点",
                "m",
            )
        arr = arr[:, None]
    try:
        return np.broadcast_to(arr, (n_r, n_s)).astype(np.float64)
    except ValueError:
        raise _problem(
            f"m must have shape ({n_r},) or ({n_r}, {n_s}), got {arr.shape}",
            f"m 的形状必须为 ({n_r},) 或 ({n_r}, {n_s})，实际为 {arr.shape}",
            "m",
        ) from None


def cusum(
    counts: Counts,
    *,
    range: Any = None,
    k: float = 1.04,
    h: float = 2.26,
    m: Any = None,
    trans: str = "standard",
    alpha: float | None = None,
) -> DetectionResult:
    """CUSUM of standardised counts, as R's ``cusum(sts, control=list(...))``.

    ``m=None`` uses, per series, the mean of the counts before ``range`` (missing counts left
    out); ``m="glm"`` a Poisson GLM with one harmonic fitted to those counts and predicted over
    ``range``; a number or an array of length ``len(range)`` (or shape (len(range), N)) gives the
    in-control means directly. ``alpha`` is the negative binomial dispersion for
    ``pearsonNegBin`` and ``anscombeNegBin``. Default range: t=2..T (R has no default).

    ``expected`` is the in-control mean ``m``, ``upperbound`` the count needed to alarm, ``score``
    the CUSUM statistic ``S_t``.

    Differs from R: a missing count is skipped (NaN bound and score, no alarm) where R turns
    everything after it into NA (docs/surveillance-cusum-glr.md).
    """
    if trans not in TRANSFORMATIONS:
        raise _problem(
            f"trans={trans!r} is not supported; choose one of {', '.join(TRANSFORMATIONS)}",
            f"不支持 trans={trans!r}；可选：{', '.join(TRANSFORMATIONS)}",
            "trans",
        )
    if trans in ("pearsonNegBin", "anscombeNegBin") and (alpha is None or alpha < 0):
        raise _problem(
            f"trans={trans!r} needs alpha >= 0 (variance m + alpha m^2)",
            f"trans={trans!r} 需要 alpha >= 0（方差为 m + alpha m^2）",
            "alpha",
        )
    rng = resolve_range(counts, range, default_start=2)
    x = counts.observed[rng - 1]
    mean = _in_control_mean(counts, rng, m)
    a = float(alpha) if alpha is not None else 0.0
    z = _transform(x, mean, trans, a)
    s_prev, s = cusum_recursion(np.ascontiguousarray(z), float(k), float(h))
    if trans in _NOT_INVERTED:
        # R's number for the transformations it does not invert (observed): h - S_t, >= 0
        upper = np.maximum(h - s, 0.0)
    else:
        upper = _invert(h + k - s_prev, mean, trans, a)
        # where no count can reach h (the inverse is undefined) R reports 0
        upper = np.where(np.isnan(upper) & ~np.isnan(mean), 0.0, upper)
    with np.errstate(invalid="ignore"):
        alarm = s >= h
    return DetectionResult(
        method="cusum",
        t=rng,
        dates=counts.dates_of(rng),
        names=list(counts.names),
        expected=mean,
        upperbound=upper,
        alarm=alarm,
        score=s,
        observed=x.copy(),
        control={"range": rng, "k": k, "h": h, "m": m, "trans": trans, "alpha": alpha},
    )
