"""Where each target stands: achieved, on schedule, lagging, moving away, or insufficient data.

Three methods, side by side, each verdict labelled with its method (definitions in
``shared/notes/evaluation.md`` and ``docs/evaluate.md``):

``schedule`` — 序时进度 (time-proportional progress), the Chinese practice
    By year t of a plan with base year b and target year T, the share (t-b)/(T-b) of the distance
    from the base value to the target should be covered. Where nothing has been measured since the
    base year, the pace the plan inherits (the observed annual growth before b) is compared with
    the pace the target needs from the base value (e.g. physicians: 6.2 %/year needed, 4.5 %/year
    observed: lagging).
``open_sdg`` — the Eurostat growth-ratio measure as Open SDG implements it
    R = d * CAGR_observed / |CAGR_required|; the status and the score in [-5, 5] are exactly
    those of Open SDG's published ``sdg/ProgressMeasure.py`` on the same series and settings
    (``tests/evaluate/test_opensdg_reference.py`` checks this against answers from their code).
``unsd`` — the UNSD progress-chart projection
    x̂_T = x_t (1 + CAGR)^(T-t), Q = (x̂_T - x_b) / (x*_T - x_b).

Everything works on arrays: ``values`` is an (N, Y) matrix of N series (regions x indicators)
over Y years with NaN where nothing was reported, so 150,000 series are evaluated in well under
a second (``benchmarks/evaluate.py``). Targets reach this module as acceptable intervals
``[low, high]`` (:func:`target_bounds` turns every plan target kind into one); trend statements
and proportional targets, which compare two slopes or two series, have their own functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from healthwatch.plans.model import (
    Approximately,
    Equal,
    Range,
    Unchanged,
    _ChangeBase,
    _TargetBase,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# ------------------------------------------------------------------------------------------
# Status codes and labels
# ------------------------------------------------------------------------------------------

ACHIEVED, ON_SCHEDULE, LAGGING, MOVING_AWAY, INSUFFICIENT = 0, 1, 2, 3, 4
STATUSES: tuple[str, ...] = (
    "achieved",
    "on_schedule",
    "lagging",
    "moving_away",
    "insufficient_data",
)
STATUS_ZH = {
    "achieved": "已达标",
    "on_schedule": "达到序时进度",
    "lagging": "滞后",
    "moving_away": "逆向变化",
    "insufficient_data": "数据不足",
}
STATUS_EN = {
    "achieved": "achieved",
    "on_schedule": "on schedule",
    "lagging": "lagging",
    "moving_away": "moving away",
    "insufficient_data": "insufficient data",
}
METHODS: tuple[str, ...] = ("schedule", "open_sdg", "unsd")
METHOD_ZH = {
    "schedule": "序时进度",
    "open_sdg": "增长率比法（Eurostat / Open SDG）",
    "unsd": "联合国统计司预测法（UNSD）",
}
METHOD_EN = {
    "schedule": "time-proportional progress (序时进度)",
    "open_sdg": "growth ratio (Eurostat / Open SDG)",
    "unsd": "UNSD projection",
}

OPEN_SDG_STATUSES: tuple[str, ...] = (
    "target_achieved",
    "substantial_progress",
    "moderate_progress",
    "limited_progress",
    "deterioration",
    "not_available",
)
_OPEN_SDG_TO_COMMON = np.array([ACHIEVED, ON_SCHEDULE, LAGGING, LAGGING, MOVING_AWAY, INSUFFICIENT])

UNSD_STATUSES: tuple[str, ...] = (
    "target_met",
    "on_track",
    "acceleration_needed",
    "stagnation",
    "regression",
    "not_available",
)
_UNSD_TO_COMMON = np.array([ACHIEVED, ON_SCHEDULE, LAGGING, LAGGING, MOVING_AWAY, INSUFFICIENT])


def status_names(codes: IntArray) -> list[str]:
    """Status codes as their stable English keys (the JSON values)."""
    return [STATUSES[int(c)] for c in codes]


# ------------------------------------------------------------------------------------------
# Series helpers (vectorised over rows)
# ------------------------------------------------------------------------------------------


def _take(values: FloatArray, cols: IntArray) -> FloatArray:
    """values[i, cols[i]], NaN where cols[i] < 0."""
    out = np.full(values.shape[0], np.nan)
    ok = cols >= 0
    out[ok] = values[np.nonzero(ok)[0], cols[ok]]
    return out


def last_valid(valid: BoolArray) -> IntArray:
    """Column of the last True in each row, -1 where none."""
    y = valid.shape[1]
    idx = y - 1 - np.argmax(valid[:, ::-1], axis=1)
    return np.where(valid.any(axis=1), idx, -1).astype(np.int64)


def first_valid(valid: BoolArray) -> IntArray:
    """Column of the first True in each row, -1 where none."""
    idx = np.argmax(valid, axis=1)
    return np.where(valid.any(axis=1), idx, -1).astype(np.int64)


def _year(years: IntArray, cols: IntArray) -> FloatArray:
    return np.where(cols >= 0, years[np.clip(cols, 0, None)].astype(float), np.nan)


def cagr(x1: FloatArray, x0: FloatArray, t1: FloatArray, t0: FloatArray) -> FloatArray:
    """Compound annual growth rate (x1/x0)^(1/(t1-t0)) - 1; NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(np.power(x1 / x0, 1.0 / (t1 - t0)) - 1.0, dtype=float)


def ols_slope(years: IntArray, values: FloatArray, mask: BoolArray) -> FloatArray:
    """Least-squares slope per row over the masked points (NaN where fewer than 2)."""
    w = mask & ~np.isnan(values)
    n = w.sum(axis=1)
    x = np.broadcast_to(years.astype(float), values.shape)
    v = np.where(w, values, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = np.where(w, x, 0.0).sum(axis=1) / n
        my = v.sum(axis=1) / n
        dx = np.where(w, x - mx[:, None], 0.0)
        slope = (dx * np.where(w, v - my[:, None], 0.0)).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(n >= 2, slope, np.nan)


# ------------------------------------------------------------------------------------------
# Open SDG growth ratio (Eurostat measure as implemented by Open SDG's sdg-build)
# ------------------------------------------------------------------------------------------


@dataclass
class OpenSdgResult:
    """Per series: the progress value (R), Open SDG's status and score, and what it used."""

    progress_value: FloatArray
    status: IntArray  #: index into OPEN_SDG_STATUSES (series level, from the thresholds)
    score: FloatArray  #: [-5, 5]; 5 when the target is achieved; NaN when not available
    indicator_status: IntArray  #: Open SDG's indicator-level status (from the score)
    target_achieved: BoolArray
    base_year: FloatArray
    base_value: FloatArray
    current_year: FloatArray
    current_value: FloatArray


def opensdg_progress(
    years: IntArray,
    values: FloatArray,
    base_year: IntArray | int,
    target: FloatArray,
    target_year: IntArray | int,
    direction: IntArray,
    limit: FloatArray | None = None,
) -> OpenSdgResult:
    """Open SDG's progress measure for N series at once.

    Follows the published behaviour of ``sdg/ProgressMeasure.py`` (``SeriesProgress``): the
    latest year with a value is the current year; the base year is the configured one or, where
    it has no value, the next year that has one; a zero base value or target becomes 0.001; a
    sign change between base and current value, or fewer than one year between them, gives no
    result. With a target (method 2) R = sign * d * CAGR_o / |CAGR_r| with thresholds 0.95 / 0.6
    / 0; without (method 1) R = sign * d * CAGR_o with thresholds 1.5 % / 0.5 % / 0, shrunk by
    1 - (x_b/limit)^4.44 near a natural limit. ``direction`` is +1 (higher is better) or -1.
    """
    years = np.asarray(years, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    base_year = np.broadcast_to(np.asarray(base_year, dtype=np.int64), (n,))
    target_years: FloatArray = np.broadcast_to(np.asarray(target_year, dtype=float), (n,))
    target = np.array(target, dtype=float, copy=True)
    d = np.where(np.asarray(direction) > 0, 1.0, -1.0)
    lim = np.full(n, np.nan) if limit is None else np.asarray(limit, dtype=float)

    valid = ~np.isnan(values)
    cur_col = last_valid(valid)
    base_col = first_valid(valid & (years[None, :] >= base_year[:, None]))
    t = _year(years, cur_col)
    x_t = _take(values, cur_col)
    b = _year(years, base_col)
    x_b = _take(values, base_col)

    method2 = ~np.isnan(target)
    target[target == 0] = 0.001
    sign = np.where(x_b < 0, -1.0, 1.0)

    high = np.where(method2, 0.95, 0.015)
    med = np.where(method2, 0.6, 0.005)
    low = np.zeros(n)
    coeff = np.ones(n)
    use_limit = ~method2 & ~np.isnan(lim)
    with np.errstate(divide="ignore", invalid="ignore"):
        ab, al = np.abs(x_b), np.abs(lim)
        c = np.where(
            ab >= 2 * al,
            1.0,
            np.where(ab <= al, 1 - (ab / al) ** 4.44, 1 - ((2 * al - ab) / al) ** 4.44),
        )
    coeff = np.where(use_limit, c, coeff)
    high, med, low = high * coeff, med * coeff, low * coeff

    achieved = method2 & (((d < 0) & (x_t <= target)) | ((d > 0) & (x_t >= target)))

    x_b_calc = np.where(x_b == 0, 0.001, x_b)
    ok = (
        (cur_col >= 0)
        & (base_col >= 0)
        & ~(((x_b_calc > 0) & (x_t < 0)) | ((x_b_calc < 0) & (x_t > 0)))
        & (t - b >= 1)
    )
    cagr_o = cagr(x_t, x_b_calc, t, b)
    cagr_r = cagr(target, x_b_calc, target_years, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        pv = np.where(method2, sign * d * cagr_o / np.abs(cagr_r), sign * d * cagr_o)
    pv = np.where(ok, pv, np.nan)

    status = np.full(n, 5, dtype=np.int64)
    has = ~np.isnan(pv)
    status[has & (pv < low)] = 4
    status[has & (pv >= low)] = 3
    status[has & (pv >= med)] = 2
    status[has & (pv >= high)] = 1
    status[achieved] = 0

    with np.errstate(divide="ignore", invalid="ignore"):
        m2 = np.where(
            pv >= med, np.minimum(7.1429 * pv - 4.2857, 5.0), np.maximum(4.1667 * pv - 2.5, -5.0)
        )
        m1 = np.where(
            pv < low,
            np.maximum(125 * pv - 2.5, -5.0),
            np.where(
                coeff == 0,
                5.0,
                np.where(
                    pv >= high,
                    np.minimum(500 * pv / coeff - 5, 5.0),
                    np.where(pv >= med, 250 * pv / coeff - 1.25, 500 * pv / coeff - 2.5),
                ),
            ),
        )
    score = np.where(method2, m2, m1)
    score = np.where(has, score, np.nan)
    score[achieved] = 5.0

    ind = np.full(n, 5, dtype=np.int64)
    sc = score
    ind[(sc >= -5) & (sc < -2.5)] = 4
    ind[(sc >= -2.5) & (sc < 0)] = 3
    ind[(sc >= 0) & (sc < 2.5)] = 2
    ind[(sc >= 2.5) & (sc <= 5)] = 1
    ind[achieved] = 0
    return OpenSdgResult(pv, status, score, ind, achieved, b, x_b, t, x_t)


# ------------------------------------------------------------------------------------------
# Targets as acceptable intervals
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """A target as an acceptable interval per series: low <= x <= high (NaN = open side)."""

    low: FloatArray
    high: FloatArray
    strict_high: bool = False  #: ``below``: x < high


def target_bounds(target: _TargetBase, base_values: FloatArray | None = None) -> Bounds | None:
    """The interval a value in the target year must lie in, or None for trend/proportional kinds.

    ``base_values`` are the series' values in ``target.base_year`` (change kinds only); where one
    is missing the bound is NaN and the status becomes ``insufficient_data``.
    """
    nan = np.array([np.nan])

    def const(x: float | None) -> FloatArray:
        return np.array([np.nan if x is None else float(x)])

    kind = target.kind
    if kind in ("at_least",):
        return Bounds(const(target.value), nan)
    if kind in ("at_most", "count_cap"):
        return Bounds(nan, const(target.value))
    if kind == "below":
        return Bounds(nan, const(target.value), strict_high=True)
    if isinstance(target, Approximately):
        lo, hi = target.bound()
        return Bounds(const(lo), const(hi))
    if isinstance(target, Range):
        return Bounds(const(target.low), const(target.high))
    if isinstance(target, Unchanged):
        if target.op == "at_least":
            return Bounds(const(target.value), nan)
        return Bounds(nan, const(target.value))
    if isinstance(target, Equal):
        return Bounds(const(target.value), const(target.value))
    if isinstance(target, _ChangeBase):
        base = np.array([np.nan]) if base_values is None else np.asarray(base_values, dtype=float)
        goal = np.array([target._goal(float(b)) if np.isfinite(b) else np.nan for b in base])
        if float(target.value or 0) > 0:
            return Bounds(goal, np.full_like(goal, np.nan))
        return Bounds(np.full_like(goal, np.nan), goal)
    return None


def meets(x: FloatArray, bounds: Bounds, tol: float = 1e-9) -> BoolArray:
    """True where x lies in the interval (NaN bounds are open; NaN x is False)."""
    lo = np.where(np.isnan(bounds.low), -np.inf, bounds.low)
    hi = np.where(np.isnan(bounds.high), np.inf, bounds.high)
    upper = x < hi if bounds.strict_high else x <= hi + tol
    return (x >= lo - tol) & upper & ~np.isnan(x)


# ------------------------------------------------------------------------------------------
# The three methods on interval targets
# ------------------------------------------------------------------------------------------


@dataclass
class StatusResult:
    """Everything the evaluation says about N series; arrays of length N."""

    latest_year: FloatArray
    latest_value: FloatArray
    base_year: FloatArray  #: the plan's base year (or the nearest reported year before it)
    base_value: FloatArray
    goal: FloatArray  #: the bound to reach (NaN where already inside or unknown)
    met: BoolArray
    required_abs: FloatArray  #: change per year still needed, latest -> goal by the target year
    required_pct: FloatArray  #: the same as a compound rate (%/year)
    observed_abs: FloatArray  #: the series' own change per year (since base, else before it)
    observed_pct: FloatArray
    schedule: IntArray
    schedule_ratio: FloatArray  #: progress / expected progress (or observed / required pace)
    open_sdg: OpenSdgResult
    open_sdg_common: IntArray
    unsd: IntArray  #: index into UNSD_STATUSES
    unsd_common: IntArray
    unsd_q: FloatArray
    unsd_projection: FloatArray

    @property
    def status(self) -> IntArray:
        """The headline status: the 序时进度 verdict, the one Chinese evaluations report."""
        return self.schedule

    def method_codes(self) -> dict[str, IntArray]:
        return {
            "schedule": self.schedule,
            "open_sdg": self.open_sdg_common,
            "unsd": self.unsd_common,
        }


def _broadcast(x: Any, n: int, dtype: Any = float) -> NDArray[Any]:
    return np.broadcast_to(np.asarray(x, dtype=dtype), (n,)).copy()


def evaluate_status(
    years: IntArray,
    values: FloatArray,
    bounds: Bounds,
    direction: IntArray | int,
    plan_base_year: int,
    target_year: IntArray | int,
    as_of: int | None = None,
) -> StatusResult:
    """Status of N series against interval targets by the three methods.

    ``direction`` is the indicator's better direction (+1 higher, -1 lower, 0 inside a band);
    it decides which way counts as progress only where the base value already meets the target
    (elsewhere progress is towards the nearest bound). Values after ``as_of`` are ignored.
    """
    years = np.asarray(years, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    if as_of is not None:
        values = np.where(years[None, :] <= as_of, values, np.nan)
    n = values.shape[0]
    low = _broadcast(bounds.low, n)
    high = _broadcast(bounds.high, n)
    bnd = Bounds(low, high, bounds.strict_high)
    dir_ind = _broadcast(direction, n, np.int64)
    T = _broadcast(target_year, n)
    b_plan = float(plan_base_year)

    valid = ~np.isnan(values)
    cur = last_valid(valid)
    t = _year(years, cur)
    x_t = _take(values, cur)
    # The plan's base value: the last report at or before the base year, else the first after.
    base_col = last_valid(valid & (years[None, :] <= plan_base_year))
    base_col = np.where(base_col >= 0, base_col, first_valid(valid))
    b = _year(years, base_col)
    x_b = _take(values, base_col)
    first = first_valid(valid)
    t0 = _year(years, first)
    x0 = _take(values, first)

    met = meets(x_t, bnd)
    base_met = meets(x_b, bnd)
    lo_ = np.where(np.isnan(low), -np.inf, low)
    hi_ = np.where(np.isnan(high), np.inf, high)
    # Goal: the nearest bound seen from the latest value (from the base value where latest met).
    ref = np.where(np.isnan(x_t), x_b, x_t)
    goal = np.where(ref < lo_, low, np.where(ref > hi_, high, np.nan))
    goal_from_base = np.where(x_b < lo_, low, np.where(x_b > hi_, high, np.nan))
    # The direction of progress: towards the goal; the indicator's own where inside the target.
    d = np.sign(np.where(np.isnan(goal_from_base), goal, goal_from_base) - x_b)
    d = np.where(np.isnan(d) | (d == 0), np.where(dir_ind != 0, dir_ind, 1), d)
    bounds_known = ~(np.isnan(low) & np.isnan(high))

    # Observed pace: since the base year if there is a later report, else over the history.
    since_base = t > b
    r_year = np.where(since_base, b, t0)
    r_val = np.where(since_base, x_b, x0)
    span = t - r_year
    with np.errstate(divide="ignore", invalid="ignore"):
        observed_abs = np.where(span >= 1, (x_t - r_val) / span, np.nan)
    observed_pct = np.where(
        (span >= 1) & (r_val > 0) & (x_t > 0), cagr(x_t, r_val, t, r_year), np.nan
    )
    left = T - t
    with np.errstate(divide="ignore", invalid="ignore"):
        required_abs = np.where((left >= 1) & ~met, (goal - x_t) / left, np.nan)
    required_pct = np.where(
        (left >= 1) & ~met & (goal > 0) & (x_t > 0), cagr(goal, x_t, T, t), np.nan
    )
    required_abs = np.where(met, 0.0, required_abs)
    required_pct = np.where(met, 0.0, required_pct)

    # ---- 序时进度 ------------------------------------------------------------------------
    schedule = np.full(n, INSUFFICIENT, dtype=np.int64)
    ratio = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (t - b) / (T - b)
        progress = (x_t - x_b) / (goal_from_base - x_b)
    after = since_base & bounds_known & ~np.isnan(x_b)
    fell_back = after & base_met & ~met  # inside the target at the base year, outside now
    move = after & ~base_met & ~met
    ratio = np.where(move, progress / np.maximum(frac, 1e-12), ratio)
    schedule[move & (progress >= frac - 1e-12)] = ON_SCHEDULE
    schedule[move & (progress < frac - 1e-12)] = LAGGING
    schedule[move & (progress < 0)] = MOVING_AWAY
    schedule[fell_back] = MOVING_AWAY
    # Past the whole interval (8.6 against "8 左右" from 7.4): off target on the far side.
    overshot = move & ~np.isnan(goal) & ~np.isnan(goal_from_base) & (goal != goal_from_base)
    schedule[overshot] = MOVING_AWAY
    # No report after the base year: the pace the plan inherits against the pace it needs.
    pace = ~since_base & bounds_known & ~met & (t - t0 >= 1)
    use_pct = ~np.isnan(observed_pct) & ~np.isnan(required_pct) & (required_pct != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pace_ratio = np.where(
            use_pct,
            observed_pct / required_pct,
            observed_abs / np.where(required_abs == 0, np.nan, required_abs),
        )
    ratio = np.where(pace, pace_ratio, ratio)
    schedule[pace & (pace_ratio >= 1)] = ON_SCHEDULE
    schedule[pace & (pace_ratio < 1)] = LAGGING
    schedule[pace & (pace_ratio <= 0)] = MOVING_AWAY
    schedule[pace & np.isnan(pace_ratio)] = INSUFFICIENT
    schedule[met & bounds_known] = ACHIEVED

    # ---- Open SDG --------------------------------------------------------------------------
    # Settings: base year = the plan's base year where there is a later report, else the first
    # report (so the inherited pace is measured); target = the goal; direction = towards it.
    os_base = np.where(since_base, b_plan, np.where(np.isnan(t0), b_plan, t0)).astype(np.int64)
    os_target = np.where(np.isnan(goal), np.where(d > 0, low, high), goal)
    os_target = np.where(bounds_known, os_target, np.nan)
    os = opensdg_progress(years, values, os_base, os_target, T, d.astype(np.int64))
    os_common = _OPEN_SDG_TO_COMMON[os.status]
    # A two-sided target (range, approximately, equal): inside it is achieved, whichever side.
    os_common = np.where(met & bounds_known, ACHIEVED, os_common)
    os_common = np.where(~bounds_known, INSUFFICIENT, os_common)

    # ---- UNSD projection ---------------------------------------------------------------------
    ub, ux = os.base_year, os.base_value
    growth = cagr(x_t, ux, t, ub)
    lin = ~((ux > 0) & (x_t > 0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        proj = np.where(lin, x_t + (x_t - ux) / (t - ub) * (T - t), x_t * (1 + growth) ** (T - t))
        q = (proj - ux) / (os_target - ux)
    unsd = np.full(n, 5, dtype=np.int64)
    okq = (t - ub >= 1) & np.isfinite(q) & bounds_known
    unsd[okq & (q < 0)] = 4
    unsd[okq & (q >= 0)] = 3
    unsd[okq & (q >= 0.10)] = 2
    unsd[okq & (q >= 0.95)] = 1
    unsd[met & bounds_known] = 0
    unsd_common = _UNSD_TO_COMMON[unsd]

    return StatusResult(
        latest_year=t,
        latest_value=x_t,
        base_year=b,
        base_value=x_b,
        goal=np.where(met, np.nan, goal),
        met=met & bounds_known,
        required_abs=np.where(bounds_known, required_abs, np.nan),
        required_pct=np.where(bounds_known, required_pct * 100, np.nan),
        observed_abs=observed_abs,
        observed_pct=observed_pct * 100,
        schedule=schedule,
        schedule_ratio=ratio,
        open_sdg=os,
        open_sdg_common=os_common,
        unsd=unsd,
        unsd_common=unsd_common,
        unsd_q=np.where(okq, q, np.nan),
        unsd_projection=np.where(t - ub >= 1, proj, np.nan),
    )


# ------------------------------------------------------------------------------------------
# Trend statements and proportional targets
# ------------------------------------------------------------------------------------------


@dataclass
class SlopeResult:
    """A trend statement judged by comparing the slopes before and after the base year."""

    slope_before: FloatArray
    slope_after: FloatArray
    status: IntArray


def trend_status(
    years: IntArray,
    values: FloatArray,
    direction: int,
    plan_base_year: int,
    target_year: int,
    as_of: int | None = None,
) -> SlopeResult:
    """'上升趋势减缓' (the rise slows) and the like: is the slope since the base year better?

    The slope over the reports up to the base year is compared with the slope over the reports
    from the base year on (least squares, at least two points each). Better means lower for a
    lower-is-better indicator. Better by the target year: achieved; better before it: on
    schedule; equal: lagging; worse: moving away.
    """
    years = np.asarray(years, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    if as_of is not None:
        values = np.where(years[None, :] <= as_of, values, np.nan)
    before = ols_slope(years, values, np.broadcast_to(years <= plan_base_year, values.shape))
    after = ols_slope(years, values, np.broadcast_to(years >= plan_base_year, values.shape))
    d = 1.0 if direction >= 0 else -1.0
    gain = d * (after - before)
    last = _year(years, last_valid(~np.isnan(values)))
    status = np.full(values.shape[0], INSUFFICIENT, dtype=np.int64)
    ok = ~np.isnan(gain)
    tol = 1e-12 + 1e-9 * np.abs(before)
    status[ok & (gain > tol)] = ON_SCHEDULE
    status[ok & (gain > tol) & (last >= target_year)] = ACHIEVED
    status[ok & (np.abs(gain) <= tol)] = LAGGING
    status[ok & (gain < -tol)] = MOVING_AWAY
    return SlopeResult(before, after, status)


@dataclass
class ProportionalResult:
    """Relative change of the indicator against that of the indicator it should follow."""

    change: FloatArray
    reference_change: FloatArray
    ratio: FloatArray
    status: IntArray


def proportional_status(
    years: IntArray,
    values: FloatArray,
    reference: FloatArray,
    plan_base_year: int,
    target_year: int,
    as_of: int | None = None,
) -> ProportionalResult:
    """'同比例提高' (rises in the same proportion as X): relative changes since the base year.

    ratio = (x_t/x_b - 1) / (y_t/y_b - 1) with x the indicator and y the reference, both taken
    in the same years (the last year both report). ratio >= 1: the same proportion or more
    (achieved by the target year, on schedule before it); 0 <= ratio < 1: lagging; < 0: moving
    away; no rise of the reference, or no report after the base year: insufficient data.
    """
    years = np.asarray(years, dtype=np.int64)
    x = np.asarray(values, dtype=float)
    y = np.asarray(reference, dtype=float)
    both = ~np.isnan(x) & ~np.isnan(y)
    if as_of is not None:
        both &= years[None, :] <= as_of
    base_col = last_valid(both & (years[None, :] <= plan_base_year))
    cur = last_valid(both)
    x_b, x_t, y_b, y_t = _take(x, base_col), _take(x, cur), _take(y, base_col), _take(y, cur)
    with np.errstate(divide="ignore", invalid="ignore"):
        cx = x_t / x_b - 1
        cy = y_t / y_b - 1
        ratio = cx / cy
    status = np.full(x.shape[0], INSUFFICIENT, dtype=np.int64)
    ok = (cur > base_col) & (base_col >= 0) & (cy > 0) & np.isfinite(ratio)
    last = _year(years, cur)
    status[ok & (ratio >= 1)] = ON_SCHEDULE
    status[ok & (ratio >= 1) & (last >= target_year)] = ACHIEVED
    status[ok & (ratio < 1)] = LAGGING
    status[ok & (ratio < 0)] = MOVING_AWAY
    return ProportionalResult(cx, cy, ratio, status)
