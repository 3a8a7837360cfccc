"""The early-warning list: targets expected to miss, binding (约束性) ones first.

A result is warned about when its status is lagging or moving away, or when the forecast gives
less than an even chance of meeting the target. Each warning states the gap to the target, the
annual change still required against the change observed, and the regions that drag the
aggregate down (those below target, ordered by their population-weighted shortfall).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from healthwatch.regions.hierarchy import all_regions

SEVERITY = {"moving_away": 0, "lagging": 1, "insufficient_data": 3, "on_schedule": 2, "achieved": 4}


def _is_warning(r: Mapping[str, Any]) -> bool:
    if r["status"] in ("lagging", "moving_away"):
        return True
    p = r["forecast"]["p_meet"]
    return r["status"] == "on_schedule" and p is not None and p < 0.5


def _children(adcode: str) -> set[str]:
    return {code for code, reg in all_regions().items() if reg.parent == adcode}


def early_warnings(
    results: Sequence[Mapping[str, Any]],
    plan_region: str,
    populations: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Warnings for the plan's own region, binding first, then by severity and gap."""
    by_indicator: dict[str, list[Mapping[str, Any]]] = {}
    for r in results:
        by_indicator.setdefault(r["indicator"], []).append(r)
    try:
        kids = _children(plan_region)
    except Exception:  # boundary data unavailable: no sub-regions to name
        kids = set()
    out = []
    for rows in by_indicator.values():
        head = next((r for r in rows if r["region"] == plan_region), None)
        if head is None or not _is_warning(head):
            continue
        goal = head["target"]["goal"]
        latest = head["latest"]["value"]
        gap = None if goal is None or latest is None else goal - latest
        draggers = []
        for r in rows:
            if r["region"] == plan_region or r["region"] not in kids:
                continue
            if r["status"] in ("lagging", "moving_away"):
                g, x = r["target"]["goal"], r["latest"]["value"]
                short = abs(g - x) if g is not None and x is not None else None
                w = (populations or {}).get(r["region"])
                draggers.append(
                    {
                        "region": r["region"],
                        "status": r["status"],
                        "latest": x,
                        "shortfall": short,
                        "weighted_shortfall": None if short is None or w is None else short * w,
                    }
                )
        draggers.sort(key=lambda d: -(d["weighted_shortfall"] or d["shortfall"] or 0.0))
        out.append(
            {
                "indicator": head["indicator"],
                "name_zh": head["name_zh"],
                "name_en": head["name_en"],
                "binding": head["binding"],
                "status": head["status"],
                "status_zh": head["status_zh"],
                "gap": gap,
                "target": head["target"],
                "latest": head["latest"],
                "required_annual_change": head["required_annual_change"],
                "observed_annual_change": head["observed_annual_change"],
                "p_meet": head["forecast"]["p_meet"],
                "region": plan_region,
                "regions_dragging": draggers,
                "message_zh": _message_zh(head, gap) + _dragging_zh(draggers),
                "message_en": _message_en(head, gap) + _dragging_en(draggers),
            }
        )
    out.sort(
        key=lambda w: (
            not w["binding"],
            SEVERITY[w["status"]],
            -(abs(w["gap"]) if w["gap"] is not None else 0.0),
        )
    )
    return out


def _names(draggers: Sequence[Mapping[str, Any]], limit: int = 5) -> tuple[list[str], int]:
    regions = all_regions()
    names = [
        regions[d["region"]].name if d["region"] in regions else d["region"]
        for d in draggers[:limit]
    ]
    return names, max(0, len(draggers) - limit)


def _dragging_zh(draggers: Sequence[Mapping[str, Any]]) -> str:
    """Names the sub-regions behind target, the largest population-weighted shortfall first."""
    if not draggers:
        return ""
    names, more = _names(draggers)
    return f"拖累总体的地区：{'、'.join(names)}" + (f"等 {len(draggers)} 个" if more else "") + "。"


def _dragging_en(draggers: Sequence[Mapping[str, Any]]) -> str:
    if not draggers:
        return ""
    names, more = _names(draggers)
    names = [f"{n} ({d['region']})" for n, d in zip(names, draggers, strict=False)]
    tail = f" and {more} more" if more else ""
    return f" Regions dragging it down: {', '.join(names)}{tail}."


def _pace(change: Mapping[str, Any]) -> tuple[str, str]:
    if change.get("percent") is not None:
        return f"{change['percent']:+.2f}%/年", f"{change['percent']:+.2f}% a year"
    if change.get("absolute") is not None:
        return f"{change['absolute']:+.3g}/年", f"{change['absolute']:+.3g} a year"
    return "—", "—"


def _target_year_reached(r: Mapping[str, Any]) -> bool:
    year = r["latest"]["year"]
    return year is not None and year >= r["target"]["year"]


def _message_zh(r: Mapping[str, Any], gap: float | None) -> str:
    need, _ = _pace(r["required_annual_change"])
    seen, _ = _pace(r["observed_annual_change"])
    if need == "—" and _target_year_reached(r):
        need = "—（已到目标年）"
    nature = "约束性" if r["binding"] else "预期性/未注明"
    gap_s = "—" if gap is None else f"{gap:+.3g}"
    return (
        f"【{nature}】{r['name_zh']}：{r['status_zh']}，"
        f"距目标（{r['target']['text_zh']}）差 {gap_s}；需年均变化 {need}，实际 {seen}。"
    )


def _message_en(r: Mapping[str, Any], gap: float | None) -> str:
    _, need = _pace(r["required_annual_change"])
    _, seen = _pace(r["observed_annual_change"])
    if need == "—" and _target_year_reached(r):
        need = "n/a (target year reached)"
    nature = "binding" if r["binding"] else "expected/not stated"
    gap_s = "n/a" if gap is None else f"{gap:+.3g}"
    return (
        f"[{nature}] {r['name_en']}: {r['status'].replace('_', ' ')}, gap to target {gap_s}; "
        f"needs {need}, observed {seen}."
    )
