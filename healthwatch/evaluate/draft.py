"""Draft the next plan's targets from the final evaluation and the forecasts.

For each indicator with a numeric level target and enough reports for a forecast (three or
more), the proposed target is the level the region reaches with the chosen probability under the
forecast's predictive distribution: with probability 0.8 (safe) a higher-is-better indicator is
at or above the 20 % quantile, with 0.3 (ambitious) at or above the 70 % quantile. The proposal
never asks for less than the previous target where that target is still in force or not yet met
(a planner would not loosen it silently) and stays inside natural limits (0-100 %).

Where the reports are too few for an honest forecast, the previous target is carried forward
with the year moved, and the reasoning says so. Change targets (比2025年降低10%), trend and
proportional statements are carried forward with their base year moved to the new base year.
Every proposal carries its reasoning in Chinese and English.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from healthwatch.evaluate.forecast import forecast
from healthwatch.plans.model import UNITS, Plan

LEVEL_KINDS = ("at_least", "at_most", "below", "count_cap", "unchanged")


def _decimals(x: float | None) -> int:
    if x is None:
        return 1
    text = f"{x:.6f}".rstrip("0")
    return max(1, len(text.split(".")[1]) if "." in text else 0)


def _next_id(plan_id: str, start: int, end: int) -> str:
    parts = plan_id.rsplit("-", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return f"{parts[0]}-{start}-{end}"
    return f"{plan_id}-{start}-{end}"


def _text(kind: str, value: float, unit: str) -> str:
    sym = {"at_least": "≥", "at_most": "≤", "below": "＜", "count_cap": "≤"}[kind]
    return f"{sym}{value:g}{UNITS.get(unit, (unit,))[0]}"


def draft_plan(
    plan: Plan,
    results: Sequence[Mapping[str, Any]],
    series: Mapping[tuple[str, str], pd.Series],
    to_year: int,
    probability: float,
    data_version: str,
    parent_id: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The draft plan document (loadable by ``plans load``) and the reasoning per indicator."""
    base_year = plan.end_year
    start = base_year + 1
    new_id = _next_id(plan.id, start, to_year)
    head = {r["indicator"]: r for r in results if r["region"] == plan.region}
    reasoning: list[dict[str, Any]] = []
    indicators = []
    for ind in plan.indicators:
        doc = ind.model_dump(mode="json", exclude_none=True)
        old = ind.target.model_dump(mode="json", exclude_none=True)
        r = head.get(ind.code)
        target = dict(old, year=to_year)
        target.pop("source", None)
        reason_zh, reason_en = (
            "数据不足以预测，沿用原目标。",
            "Too few reports to forecast: target carried forward.",
        )
        s = series.get((ind.code, plan.region))
        latest = None if r is None else r["latest"]
        if ind.target.kind in LEVEL_KINDS and ind.direction in ("higher", "lower"):
            kind = (
                ind.target.kind
                if ind.target.kind != "unchanged"
                else ("at_least" if ind.target.op == "at_least" else "at_most")
            )
            if s is not None and len(s) >= 3:
                years = np.array(s.index, dtype=np.int64)
                fc = forecast(years, s.to_numpy(dtype=float)[None, :], to_year)
                # quantile q of the predictive distribution (t on the working scale)
                q = 1 - probability if ind.direction == "higher" else probability
                w = float(fc.centre[0] + stats.t.ppf(q, fc.df[0]) * fc.sd_h[0])
                value = math.exp(w) if bool(fc.log_scale[0]) else w
                if ind.unit == "percent":
                    value = min(value, 100.0)
                prev = ind.target.value
                if prev is not None:
                    value = max(value, prev) if ind.direction == "higher" else min(value, prev)
                value = round(value, _decimals(prev))
                target = {
                    "kind": kind,
                    "value": value,
                    "year": to_year,
                    "text_zh": _text(kind, value, ind.unit),
                }
                reason_zh = (
                    f"按现有趋势预测 {to_year} 年为 {fc.value[0]:.4g}（80% 区间 {fc.low[0]:.4g}–"
                    f"{fc.high[0]:.4g}）；取实现概率 {probability:.0%} 的水平 {value:g}。"
                )
                reason_en = (
                    f"Forecast for {to_year}: {fc.value[0]:.4g} (80% {fc.low[0]:.4g}-"
                    f"{fc.high[0]:.4g}); the level met with probability {probability:.0%} is "
                    f"{value:g}."
                )
            else:
                target["kind"] = kind
                target.pop("op", None)
                target["text_zh"] = _text(kind, float(ind.target.value or 0), ind.unit)
                if r is not None and r["status"] == "achieved" and latest is not None:
                    value = float(latest["value"])
                    target["value"] = value
                    target["text_zh"] = _text(kind, value, ind.unit)
                    reason_zh = (
                        f"已达标（{latest['year']} 年 {value:g}），数据点不足以预测："
                        "目标定为至少保持现有水平。"
                    )
                    reason_en = (
                        f"Achieved ({value:g} in {latest['year']}); too few reports to forecast: "
                        "the target keeps the current level."
                    )
        elif ind.target.kind in ("change_abs", "change_pct", "annual_change"):
            target["base_year"] = base_year
            target["text_zh"] = target["text_zh"].replace(str(ind.target.base_year), str(base_year))
            reason_zh = f"变化型目标，基期改为 {base_year} 年。"
            reason_en = f"Change target: base year moved to {base_year}."
        else:
            reason_zh, reason_en = "沿用原目标表述。", "Target wording carried forward."
        doc["target"] = target
        doc["previous_targets"] = [dict(old, source=old.get("source", old["text_zh"]))]
        if latest and latest["value"] is not None:
            doc["baselines"] = [
                {
                    "year": latest["year"],
                    "value": latest["value"],
                    "source": f"healthwatch evaluation of {plan.id}, data {data_version}",
                }
            ]
        else:
            doc["baselines"] = []
        indicators.append(doc)
        reasoning.append(
            {
                "indicator": ind.code,
                "name_zh": ind.name_zh,
                "text_zh": target["text_zh"],
                "previous_text_zh": ind.target.text_zh,
                "status": None if r is None else r["status"],
                "reason_zh": reason_zh,
                "reason_en": reason_en,
            }
        )
    name_zh = plan.name_zh.replace("“十四五”", "“十五五”")
    if name_zh == plan.name_zh:
        name_zh = f"{plan.name_zh}（{start}—{to_year}）"
    document = {
        "id": new_id,
        "name_zh": f"{name_zh}（目标草案）",
        "name_en": re.sub(r"\s*\(\d{4}-\d{4}\)\s*$", "", plan.name_en.replace("14th", "15th"))
        + f" ({start}-{to_year}, draft targets)",
        "region": plan.region,
        "level": plan.level,
        "parent": parent_id,
        "start_year": start,
        "end_year": to_year,
        "base_year": base_year,
        "source_document": f"draft by healthwatch from {plan.id} (data {data_version}), "
        f"probability {probability}",
        "indicators": indicators,
    }
    return document, reasoning
