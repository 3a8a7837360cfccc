"""Evaluate a whole plan from a table of indicator values: status, forecast, inequality.

Input is a long table of values (``indicator``, ``region``, ``year``, ``value``), whatever its
source: the plan's own stated baselines (:mod:`healthwatch.evaluate.seed`) or the reported and
aggregated values in the store (through ``services.evaluate``). Each indicator is evaluated for
all its regions at once (one row per region in the arrays of :mod:`status` and
:mod:`forecast`). The result rows have the stable JSON shape of ``healthwatch evaluate --json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.evaluate.forecast import forecast
from healthwatch.evaluate.inequality import heat_measures, rank_regions
from healthwatch.evaluate.status import (
    INSUFFICIENT,
    METHOD_EN,
    METHOD_ZH,
    OPEN_SDG_STATUSES,
    STATUS_EN,
    STATUS_ZH,
    STATUSES,
    UNSD_STATUSES,
    evaluate_status,
    proportional_status,
    target_bounds,
    trend_status,
)
from healthwatch.plans.model import Indicator, Plan, SupplementaryTarget, _ChangeBase

Item = Indicator | SupplementaryTarget
VALUE_COLUMNS = ("indicator", "region", "year", "value")


def plan_items(plan: Plan) -> list[Item]:
    """The plan's indicators, then its supplementary targets."""
    return [*plan.indicators, *plan.supplementary_targets]


def item_category(item: Item) -> tuple[str, str]:
    if isinstance(item, Indicator):
        return item.category_zh, item.category_en
    return "其他目标（正文/专栏）", "Other targets (text and boxes)"


def item_nature(item: Item) -> str:
    return item.nature if isinstance(item, Indicator) else "not_stated"


def _direction(item: Item) -> int:
    return {"higher": 1, "lower": -1}.get(item.direction, 0)


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _reference_item(plan: Plan, item: Item) -> Item | None:
    """For '同比例提高' targets: the indicator the statement names (by its English name)."""
    statement = (item.target.statement or "").lower()
    for other in plan_items(plan):
        if other.code != item.code and other.name_en.lower() in statement:
            return other
    return None


@dataclass
class PlanEvaluation:
    """Results of one plan evaluation (rows as in ``evaluate --json``) plus the inputs used."""

    plan: str
    as_of: int
    results: list[dict[str, Any]]
    inequality: list[dict[str, Any]] = field(default_factory=list)
    series: dict[tuple[str, str], pd.Series] = field(default_factory=dict)

    def by_status(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for r in self.results:
            out[r["status"]] += 1
        return out


def _pivot(frame: pd.DataFrame, regions: Sequence[str], years: np.ndarray) -> np.ndarray:
    if frame.empty:
        return np.full((len(regions), len(years)), np.nan)
    wide = frame.pivot_table(index="region", columns="year", values="value", aggfunc="last")
    wide = wide.reindex(index=list(regions), columns=list(years))
    return wide.to_numpy(dtype=float)


def evaluate_values(
    plan: Plan,
    values: pd.DataFrame,
    as_of: int,
    regions: Sequence[str] | None = None,
    populations: Mapping[str, float] | None = None,
    level: float = 0.8,
    aggregate: str | None = None,
) -> PlanEvaluation:
    """Evaluate every target of ``plan`` for ``regions`` (default: every region in ``values``).

    Inequality is measured across the regions other than ``aggregate`` (default: the plan's
    region), the one whose figure sums them.
    """
    values = values.loc[:, list(VALUE_COLUMNS)].copy()
    values["year"] = values["year"].astype(int)
    values = values[values["year"] <= as_of].dropna(subset=["value"])
    if regions is None:
        regions = sorted(set(values["region"]) | {plan.region})
    regions = list(regions)
    years = np.arange(
        min([plan.base_year - 10, *values["year"].tolist()]), max(as_of, plan.end_year) + 1
    )
    by_code = {code: g for code, g in values.groupby("indicator")}
    results: list[dict[str, Any]] = []
    inequality: list[dict[str, Any]] = []
    series: dict[tuple[str, str], pd.Series] = {}
    for item in plan_items(plan):
        frame = by_code.get(item.code, values.iloc[0:0])
        v = _pivot(frame, regions, years)
        for i, region in enumerate(regions):
            row = v[i]
            ok = ~np.isnan(row)
            if ok.any():
                series[(item.code, region)] = pd.Series(row[ok], index=years[ok])
        results += _evaluate_item(plan, item, regions, years, v, as_of, level, by_code)
        top = aggregate or plan.region
        subs = [k for k, r in enumerate(regions) if r != top]  # not the aggregate
        if populations and len(subs) >= 2:
            inequality += _inequality(
                item, [regions[k] for k in subs], years, v[subs], as_of, populations
            )
    return PlanEvaluation(plan.id, as_of, results, inequality, series)


def _evaluate_item(
    plan: Plan,
    item: Item,
    regions: list[str],
    years: np.ndarray,
    v: np.ndarray,
    as_of: int,
    level: float,
    by_code: Mapping[str, pd.DataFrame],
) -> list[dict[str, Any]]:
    target = item.target
    T = target.year or plan.end_year
    n = len(regions)
    direction = _direction(item)
    fc = forecast(years, np.where(years[None, :] <= as_of, v, np.nan), T, level=level)
    base_values = None
    if isinstance(target, _ChangeBase) and target.base_year is not None:
        col = np.nonzero(years == target.base_year)[0]
        base_values = v[:, col[0]] if len(col) else np.full(n, np.nan)
    bounds = target_bounds(target, base_values)
    extra: list[dict[str, Any]] = [{} for _ in range(n)]
    if bounds is not None:
        res = evaluate_status(years, v, bounds, direction, plan.base_year, T, as_of)
        p_meet = fc.probability_within(
            np.broadcast_to(bounds.low, (n,)), np.broadcast_to(bounds.high, (n,))
        )
        status = res.schedule
        verdicts = _verdicts(res, n)
        latest_year, latest_value = res.latest_year, res.latest_value
        base_year, base_value = res.base_year, res.base_value
        goal = res.goal
        req = (res.required_abs, res.required_pct)
        obs = (res.observed_abs, res.observed_pct)
    else:
        valid = ~np.isnan(np.where(years[None, :] <= as_of, v, np.nan))
        from healthwatch.evaluate.status import _take, _year, last_valid

        cur = last_valid(valid)
        latest_year, latest_value = _year(years, cur), _take(v, cur)
        base_year = np.full(n, np.nan)
        base_value = np.full(n, np.nan)
        goal = np.full(n, np.nan)
        p_meet = np.full(n, np.nan)
        nan = np.full(n, np.nan)
        req, obs = (nan, nan), (nan, nan)
        if target.kind == "trend":
            tr = trend_status(years, v, direction, plan.base_year, T, as_of)
            status = tr.status
            for i in range(n):
                extra[i] = {
                    "slope_before": _num(tr.slope_before[i]),
                    "slope_after": _num(tr.slope_after[i]),
                }
            obs = (tr.slope_after, nan)
            rule = "slope since the base year vs before it / 基期前后斜率比较"
        else:
            ref = _reference_item(plan, item)
            ref_v = (
                _pivot(
                    by_code.get(ref.code, pd.DataFrame(columns=list(VALUE_COLUMNS))), regions, years
                )
                if ref is not None
                else np.full_like(v, np.nan)
            )
            pr = proportional_status(years, v, ref_v, plan.base_year, T, as_of)
            status = pr.status
            for i in range(n):
                extra[i] = {
                    "reference_indicator": None if ref is None else ref.code,
                    "change": _num(pr.change[i]),
                    "reference_change": _num(pr.reference_change[i]),
                }
            rule = "relative change vs the reference indicator's / 与参照指标的相对变化比较"
        verdicts = [
            {
                "schedule": _verdict("schedule", int(status[i]), None, rule),
                "open_sdg": _verdict(
                    "open_sdg", INSUFFICIENT, "not_available", "no numeric target"
                ),
                "unsd": _verdict("unsd", INSUFFICIENT, "not_available", "no numeric target"),
            }
            for i in range(n)
        ]
    history = _status_by_year(plan, item, years, v, as_of, bounds, direction, T, by_code, regions)
    cat_zh, cat_en = item_category(item)
    out = []
    for i, region in enumerate(regions):
        out.append(
            {
                "indicator": item.code,
                "name_zh": item.name_zh,
                "name_en": item.name_en,
                "category_zh": cat_zh,
                "category_en": cat_en,
                "unit": item.unit,
                "direction": item.direction,
                "region": region,
                "baseline": {"year": _int(base_year[i]), "value": _num(base_value[i])},
                "latest": {"year": _int(latest_year[i]), "value": _num(latest_value[i])},
                "target": {
                    "kind": target.kind,
                    "text_zh": target.text_zh,
                    "year": T,
                    "value": target.value,
                    "low": target.low,
                    "high": target.high,
                    "goal": _num(goal[i]),
                },
                "status": STATUSES[int(status[i])],
                "status_zh": STATUS_ZH[STATUSES[int(status[i])]],
                "method_verdicts": verdicts[i],
                "required_annual_change": {"absolute": _num(req[0][i]), "percent": _num(req[1][i])},
                "observed_annual_change": {"absolute": _num(obs[0][i]), "percent": _num(obs[1][i])},
                "forecast": {
                    "year": T,
                    "value": _num(fc.value[i]),
                    "low": _num(fc.low[i]),
                    "high": _num(fc.high[i]),
                    "level": level,
                    "p_meet": _num(p_meet[i]),
                },
                "binding": item_nature(item) == "binding",
                "status_by_year": history[i],
                "nature": item_nature(item),
                **({"detail": extra[i]} if extra[i] else {}),
            }
        )
    return out


def _status_by_year(
    plan: Plan,
    item: Item,
    years: np.ndarray,
    v: np.ndarray,
    as_of: int,
    bounds: Any,
    direction: int,
    T: int,
    by_code: Mapping[str, pd.DataFrame],
    regions: list[str],
) -> list[dict[str, str]]:
    """The headline status as it stood in each plan year with a report (data up to that year)."""
    n = v.shape[0]
    out: list[dict[str, str]] = [{} for _ in range(n)]
    ref_v = None
    if bounds is None and item.target.kind == "proportional":
        ref = _reference_item(plan, item)
        empty = pd.DataFrame(columns=list(VALUE_COLUMNS))
        ref_v = _pivot(by_code.get(ref.code, empty) if ref else empty, regions, years)
    for year in range(plan.start_year, as_of + 1):
        col = np.nonzero(years == year)[0]
        if not len(col):
            continue
        reported = ~np.isnan(v[:, col[0]])
        if not reported.any():
            continue
        if bounds is not None:
            codes = evaluate_status(years, v, bounds, direction, plan.base_year, T, year).schedule
        elif item.target.kind == "trend":
            codes = trend_status(years, v, direction, plan.base_year, T, year).status
        else:
            assert ref_v is not None
            codes = proportional_status(years, v, ref_v, plan.base_year, T, year).status
        for i in np.nonzero(reported)[0]:
            out[i][str(year)] = STATUSES[int(codes[i])]
    return out


def _int(x: float) -> int | None:
    return int(x) if x is not None and math.isfinite(float(x)) else None


def _verdict(method: str, code: int, native: str | None, note: str | None = None) -> dict[str, Any]:
    key = STATUSES[code]
    return {
        "status": key,
        "status_zh": STATUS_ZH[key],
        "method_zh": METHOD_ZH[method],
        "method_en": METHOD_EN[method],
        "native": native,
        **({"note": note} if note else {}),
    }


def _verdicts(res: Any, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        sch = _verdict("schedule", int(res.schedule[i]), None)
        sch["ratio"] = _num(res.schedule_ratio[i])
        osd = _verdict(
            "open_sdg", int(res.open_sdg_common[i]), OPEN_SDG_STATUSES[res.open_sdg.status[i]]
        )
        osd["score"] = _num(res.open_sdg.score[i])
        osd["growth_ratio"] = _num(res.open_sdg.progress_value[i])
        osd["base_year"] = _int(res.open_sdg.base_year[i])
        un = _verdict("unsd", int(res.unsd_common[i]), UNSD_STATUSES[res.unsd[i]])
        un["q"] = _num(res.unsd_q[i])
        un["projection"] = _num(res.unsd_projection[i])
        out.append({"schedule": sch, "open_sdg": osd, "unsd": un})
    return out


def _inequality(
    item: Item,
    regions: list[str],
    years: np.ndarray,
    v: np.ndarray,
    as_of: int,
    populations: Mapping[str, float],
) -> list[dict[str, Any]]:
    """HEAT measures and ranking for each year with at least two regions reporting."""
    pop = np.array([populations.get(r, np.nan) for r in regions], dtype=float)
    sub = ~np.isnan(pop)
    if sub.sum() < 2:
        return []
    vv = v[sub].T  # years x regions
    names = [r for r, s in zip(regions, sub, strict=True) if s]
    direction = _direction(item) or 1
    keep = (~np.isnan(vv)).sum(axis=1) >= 2
    keep &= years <= as_of
    if not keep.any():
        return []
    m = heat_measures(vv[keep], pop[sub], direction)
    ranks = rank_regions(vv[keep], direction)
    out = []
    for k, year in enumerate(years[keep]):
        row = m.row(k)
        out.append(
            {
                "indicator": item.code,
                "year": int(year),
                **{key: _num(val) for key, val in row.items()},
                "ranking": sorted(
                    (
                        {
                            "region": names[j],
                            "rank": int(ranks[k, j]),
                            "value": float(vv[keep][k, j]),
                        }
                        for j in range(len(names))
                        if ranks[k, j] > 0
                    ),
                    key=lambda r: int(r["rank"]),  # type: ignore[call-overload]
                ),
            }
        )
    return out


def status_label(key: str, lang: str = "zh") -> str:
    return STATUS_ZH[key] if lang == "zh" else STATUS_EN[key]
