"""The semiparametric outbreakP statistic (Frisén and Andersson 2009; R ``algo.outbreakP``).

At time ``s`` the statistic is the likelihood ratio of two Poisson models for ``x(1..s)``:

    OutbreakP(s) = prod_{t<=s} (mu_C1(t) / mu_D(s)) ^ x(t)

where ``mu_D(s)`` is the mean of all counts so far (no change) and ``mu_C1`` the maximum
likelihood fit under "constant until an unknown change point, non-decreasing after it". Since
any non-decreasing sequence is constant up to some point, ``mu_C1`` is the isotonic
(non-decreasing) regression of ``x(1..s)``, computed by pool-adjacent-violators. Run left to
right, the PAVA stack after ``s`` counts *is* the fit for ``x(1..s)``, so one pass updates the
statistic for every ``s`` in amortised O(1): ``log OutbreakP(s) = sum_blocks S_b log(S_b/n_b) -
S log(S/s)`` (``S_b``, ``n_b`` the sums and lengths of the pooled blocks).

An alarm is raised when ``OutbreakP(s) >= k``. ``ret="value"`` reports the statistic as upper
bound; ``ret="cases"`` the number of cases needed before alarm (NNBA): the smallest count at
``s`` that, with the earlier counts, gives an alarm. The statistic grows with the last count
(its derivative in ``x(s)`` is ``log(mu_C1(s)/mu_D(s)) >= 0``), so a binary search on
``0..max_upperbound_cases`` finds it. NNBA is NaN when even a zero count alarms, or when no
count up to ``max_upperbound_cases`` does (this is always so at ``s = 1`` for ``k > 1``),
matching R.

Missing counts (NaN; R has no defined behaviour) are left out: they add no term to either
likelihood and do not count in ``mu_D``; at a missing time point the statistic of the
observed counts so far is reported, with no alarm. ``expected`` is ``mu_C1(s)``, the fitted
mean of the last observed block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from healthwatch.errors import InputError, Problem
from healthwatch.jit import numba
from healthwatch.surveillance.series import Counts, DetectionResult, resolve_range

__all__ = ["outbreakp"]


@numba.njit(inline="always")
def _xlogx_over(s: float, n: float) -> float:
    return s * np.log(s / n) if s > 0 else 0.0


@numba.njit(inline="always")
def _log_stat_with(
    y: float,
    top: int,
    sums: np.ndarray,
    lens: np.ndarray,
    terms: np.ndarray,
    total_terms: float,
    total: float,
    n_obs: float,
) -> float:
    """log OutbreakP if ``y`` were appended to the PAVA stack (without changing the stack)."""
    s = y
    n = 1.0
    acc = total_terms
    k = top
    while k >= 0 and sums[k] * n >= s * lens[k]:
        s += sums[k]
        n += lens[k]
        acc -= terms[k]
        k -= 1
    acc += _xlogx_over(s, n)
    tot = total + y
    return acc - _xlogx_over(tot, n_obs + 1.0)


@numba.njit(parallel=True, cache=True)
def _outbreakp_kernel(
    x: np.ndarray, log_k: float, want_cases: bool, max_cases: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Statistic, fitted mean and (optionally) NNBA for every time point and series."""
    n_t, n_s = x.shape
    stat = np.empty((n_t, n_s))
    fitted = np.empty((n_t, n_s))
    cases = np.full((n_t, n_s), np.nan)
    for j in numba.prange(n_s):
        sums = np.empty(n_t)
        lens = np.empty(n_t)
        terms = np.empty(n_t)
        top = -1
        total_terms = 0.0
        total = 0.0
        n_obs = 0.0
        for t in range(n_t):
            v = x[t, j]
            if want_cases:
                lo_alarm = _log_stat_with(0.0, top, sums, lens, terms, total_terms, total, n_obs)
                hi_alarm = _log_stat_with(
                    max_cases, top, sums, lens, terms, total_terms, total, n_obs
                )
                if lo_alarm < log_k <= hi_alarm:
                    lo, hi = 0.0, max_cases  # stat(lo) < k <= stat(hi)
                    while hi - lo > 1.0:
                        mid = np.floor((lo + hi) / 2.0)
                        if (
                            _log_stat_with(mid, top, sums, lens, terms, total_terms, total, n_obs)
                            >= log_k
                        ):
                            hi = mid
                        else:
                            lo = mid
                    cases[t, j] = hi
            if v == v:
                top += 1
                sums[top] = v
                lens[top] = 1.0
                terms[top] = _xlogx_over(v, 1.0)
                total_terms += terms[top]
                while top > 0 and sums[top - 1] * lens[top] >= sums[top] * lens[top - 1]:
                    total_terms -= terms[top] + terms[top - 1]
                    sums[top - 1] += sums[top]
                    lens[top - 1] += lens[top]
                    terms[top - 1] = _xlogx_over(sums[top - 1], lens[top - 1])
                    total_terms += terms[top - 1]
                    top -= 1
                total += v
                n_obs += 1.0
            if n_obs == 0:
                stat[t, j] = 1.0
                fitted[t, j] = np.nan
            else:
                stat[t, j] = np.exp(total_terms - _xlogx_over(total, n_obs))
                fitted[t, j] = sums[top] / lens[top]
    return stat, fitted, cases


def outbreakp(
    counts: Counts,
    *,
    range: Any = None,
    k: float = 100.0,
    ret: str = "value",
    max_upperbound_cases: float = 1e5,
) -> DetectionResult:
    """outbreakP (R ``algo.outbreakP``): alarm when the statistic reaches ``k``.

    Every time point uses all counts from ``t = 1`` (so ``range`` only selects the rows
    returned; the default is all time points). ``score`` is the statistic; ``upperbound`` is
    the statistic (``ret="value"``) or the number of cases needed before alarm
    (``ret="cases"``).

    Differs from R: missing counts, for which R has no defined behaviour, are left out of both
    likelihoods (see the module docstring).
    """
    problems = []
    if not k > 0:
        problems.append(Problem(f"k must be > 0, got {k}", f"k 必须大于 0，实际为 {k}", field="k"))
    if ret not in ("value", "cases"):
        problems.append(
            Problem(
                f"ret must be 'value' or 'cases', got {ret!r}",
                f"ret 必须为 'value' 或 'cases'，实际为 {ret!r}",
                field="ret",
            )
        )
    if not max_upperbound_cases >= 1:
        problems.append(
            Problem(
                f"max_upperbound_cases must be >= 1, got {max_upperbound_cases}",
                f"max_upperbound_cases 必须不小于 1，实际为 {max_upperbound_cases}",
                field="max_upperbound_cases",
            )
        )
    if problems:
        raise InputError(problems)
    rng = resolve_range(counts, range, 1)
    x = np.ascontiguousarray(counts.observed)
    stat, fitted, cases = _outbreakp_kernel(
        x, float(np.log(k)), ret == "cases", float(np.floor(max_upperbound_cases))
    )
    rows = rng - 1
    observed = x[rows]
    score = stat[rows]
    alarm = (score >= k) & ~np.isnan(observed)
    upper = cases[rows] if ret == "cases" else score.copy()
    return DetectionResult(
        method="outbreakp",
        t=rng,
        dates=counts.dates_of(rng),
        names=list(counts.names),
        expected=fitted[rows],
        upperbound=upper,
        alarm=alarm,
        score=score,
        observed=observed,
        control={"k": k, "ret": ret, "max_upperbound_cases": max_upperbound_cases},
    )
