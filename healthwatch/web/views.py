"""What the API and the pages show, shaped from the store and model functions the CLI uses.

Only presentation lives here: ordering (binding indicators first), bilingual labels for targets
and baselines, region boundaries joined with populations, and calling a detection method with
parameters checked against its signature. The numbers come unchanged from the library.
"""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from healthwatch.errors import InputError, NotFoundError, Problem
from healthwatch.users import Actor

ADCODE_PATH = PathParam(..., pattern=r"^\d{6}$", description="行政区划代码 / adcode")
TOKEN_ID_PATH = PathParam(..., ge=1, le=2**31 - 1, description="令牌编号 / token id")
NATURE_ORDER = {"binding": 0, "expected": 1, "not_stated": 2}


def _unit_label(unit: str, lang: str) -> str:
    from healthwatch.plans.model import UNITS

    zh, en, _ = UNITS.get(unit, (unit, unit, None))
    return en if lang == "en" else zh


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:g}"


_SIGN = {
    "at_least": "≥",
    "at_most": "≤",
    "below": "<",
    "approximately": "≈",
    "equal": "=",
    "count_cap": "≤",
}


def target_text(target: dict[str, Any], unit: str, lang: str) -> str:
    """The target as the plan prints it (zh), or a faithful English rendering of its fields."""
    if lang != "en":
        return str(target.get("text_zh", ""))
    kind = target.get("kind", "")
    u = _unit_label(target.get("unit_printed") or unit, "en")
    value, low, high = target.get("value"), target.get("low"), target.get("high")
    base = target.get("base_year")
    if target.get("statement"):
        text = str(target["statement"])
    elif kind in _SIGN:
        text = f"{_SIGN[kind]} {_num(value)} {u}"
    elif kind == "range":
        text = f"{_num(low)}–{_num(high)} {u}"
    elif kind == "unchanged":
        op = _SIGN.get(str(target.get("op")), "")
        text = f"kept at {op} {_num(value)} {u}".replace("  ", " ")
    elif kind in ("change_abs", "annual_change") and u == "%":
        # An absolute change of a percentage is in percentage points (个百分点).
        per = " a year" if kind == "annual_change" else f" from {base}"
        text = f"change of {_num(value)} percentage points{per}"
    elif kind == "change_abs":
        text = f"change of {_num(value)} {u} from {base}"
    elif kind == "change_pct":
        text = f"change of {_num(value)}% from {base}"
    elif kind == "annual_change":
        text = f"change of {_num(value)} {u} a year"
    else:
        text = str(target.get("text_zh", ""))
    year = target.get("year")
    return f"{text} ({year})" if year else text


def ratio_target_text(target: dict[str, Any], lang: str) -> str:
    """The comparator and value of a per-capita target (``≥ 4.6``, ``约 8`` / ``about 8``).

    Why from the target's kind and value rather than its printed text: the printed text carries
    the operator only when the plan printed one (``implicit_operator``) and is Chinese only; the
    kind is what the target evaluates by, so the cell says exactly what is checked, in either
    language. The resource column already says "per 1,000" or "per 10,000".
    """
    kind = str(target.get("kind", ""))
    value, low, high = target.get("value"), target.get("low"), target.get("high")
    if kind == "approximately" and value is not None:
        return f"{'about' if lang == 'en' else '约'} {_num(value)}"
    if kind in _SIGN and value is not None:
        return f"{_SIGN[kind]} {_num(value)}"
    if kind == "range" and low is not None and high is not None:
        return f"{_num(low)}–{_num(high)}"
    return str(target.get("text_zh", ""))


def baseline_text(baselines: list[dict[str, Any]] | None, unit: str, lang: str) -> str:
    """The latest baseline the plan states, as 'value unit (year)'."""
    if not baselines:
        return ""
    b = max(baselines, key=lambda x: x["year"])
    sign = {"at_least": "≥", "at_most": "≤"}.get(b.get("qualifier", "exact"), "")
    return (
        f"{sign}{_num(b['value'])} {_unit_label(b.get('unit_printed') or unit, lang)} ({b['year']})"
    )


def read_scope(actor: Actor, plan_region: str) -> str | None:
    """The region in which ``actor`` may read a plan's evaluation, or None.

    The plan's own region when :func:`healthwatch.users.require` allows reading it; else the
    actor's region when that lies inside the plan's region (a city reporter reads the
    provincial plan for its city, a county reporter its city's plan for its county: the pages
    then pass ``?region=``); else None (nothing of the plan's evaluation can be opened).
    """
    from dataclasses import replace

    from healthwatch.users import in_region_scope

    if not actor.can("read"):
        return None
    if in_region_scope(actor, plan_region):
        return plan_region
    if actor.region and in_region_scope(replace(actor, region=plan_region), actor.region):
        return actor.region
    return None


def _depth(adcode: str) -> int:
    """0 province, 1 city, 2 county (GB/T 2260)."""
    return 0 if adcode.endswith("0000") else 1 if adcode.endswith("00") else 2


def default_plan(
    plans: list[dict[str, Any]], actor: Actor, eligible: set[str] | None = None
) -> dict[str, Any] | None:
    """The plan a page opens when the address names none: one the user may read.

    First the broadest plan the user may read whole (the province's for a provincial user,
    the city's for a city user); else the nearest plan above the user's region, read for that
    region; else the last plan (its targets can still be shown). ``eligible`` limits the
    choice (e.g. plans with projects) when any of them qualifies.
    """
    pool = [p for p in plans if eligible is None or p["id"] in eligible] or plans
    if not pool:
        return None
    whole = [p for p in pool if read_scope(actor, str(p["region"])) == p["region"]]
    if whole:
        return min(reversed(whole), key=lambda p: _depth(str(p["region"])))
    part = [p for p in pool if read_scope(actor, str(p["region"])) is not None]
    if part:
        return max(reversed(part), key=lambda p: _depth(str(p["region"])))
    return pool[-1]


def plan_overview(session: Session, plan_id: str, lang: str = "zh") -> dict[str, Any]:
    """Every indicator of a plan with baseline and target, binding indicators first."""
    from healthwatch.plans.model import NATURE_ZH
    from healthwatch.store.plans import list_plans, plan_indicators

    plans = {p["id"]: p for p in list_plans(session)}
    if plan_id not in plans:
        raise NotFoundError(f"No plan {plan_id!r}.", f"没有规划 {plan_id!r}。")
    rows = plan_indicators(session, plan_id)
    ordered = sorted(enumerate(rows), key=lambda ir: (NATURE_ORDER.get(ir[1]["nature"], 9), ir[0]))
    indicators = []
    for _, r in ordered:
        indicators.append(
            {
                "code": r["code"],
                "name": r["name_en"] if lang == "en" else r["name_zh"],
                "name_zh": r["name_zh"],
                "name_en": r["name_en"],
                "category_zh": r["category_zh"],
                "nature": r["nature"],
                "nature_zh": NATURE_ZH.get(r["nature"], r["nature"]),
                "direction": r["direction"],
                "unit": r["unit"],
                "unit_label": _unit_label(r["unit"], lang),
                "baseline": baseline_text(r["baselines"], r["unit"], lang),
                "baselines": r["baselines"],
                "target": target_text(r["target"] or {}, r["unit"], lang),
                "target_detail": r["target"],
            }
        )
    counts = {n: sum(1 for i in indicators if i["nature"] == n) for n in NATURE_ORDER}
    return {"plan": plans[plan_id], "indicators": indicators, "by_nature": counts}


def with_status(overview: dict[str, Any], status: dict[str, Any] | None) -> dict[str, Any]:
    """The overview rows with the evaluation's latest value (year) and status, binding first.

    ``status`` is :func:`healthwatch.web.api_evaluate.plan_status`; rows it does not cover (or
    all rows, when the user may not read the plan's region) keep ``status`` None.
    """
    by_code = {r["code"]: r for r in (status or {}).get("indicators", [])}
    rows = []
    for row in overview["indicators"]:
        s = by_code.get(row["code"])
        extra = {"latest": None, "status": None, "status_label": None}
        if s is not None:
            extra = {
                "latest": s["latest"],
                "status": s["status"],
                "status_label": s["status_label"],
                "forecast": s["forecast"],
            }
        rows.append({**row, **extra})
    return {**overview, "indicators": rows}


def findings(session: Session, plan_ids: list[str] | None) -> list[dict[str, Any]]:
    """The consistency findings of the stored plans, errors first."""
    from healthwatch.services.plans import check_stored_plans

    order = {"error": 0, "warning": 1, "info": 2}
    found = [f.to_json() for f in check_stored_plans(session, plan_ids or None)]
    return sorted(found, key=lambda f: order.get(str(f["severity"]), 9))


def region_map(session: Session, adcode: str) -> str:
    """Boundaries of the region's children (itself for a county) with their latest population,
    as GeoJSON text (see :func:`healthwatch.web.maps.feature_collection_json`)."""
    from sqlalchemy import func, select

    from healthwatch.store.models import Population, Region
    from healthwatch.store.regions import list_regions
    from healthwatch.web.maps import feature_collection_json

    region = session.get(Region, adcode)
    if region is None:
        raise NotFoundError(
            f"No region {adcode}; see GET /api/v1/regions.", f"没有行政区划 {adcode}。"
        )
    children = list_regions(session, parent=adcode)
    shown = children or [{"adcode": region.adcode, "name": region.name, "level": region.level}]
    codes = [r["adcode"] for r in shown]
    year = session.scalar(select(func.max(Population.year)).where(Population.adcode.in_(codes)))
    values: dict[str, float] = {}
    if year is not None:
        rows = session.execute(
            select(Population.adcode, Population.resident_persons).where(
                Population.adcode.in_(codes), Population.year == year
            )
        )
        values = {a: float(v) for a, v in rows}
    about = {
        "adcode": region.adcode,
        "name": region.name,
        "level": region.level,
        "parent": region.parent,
    }
    return feature_collection_json(
        shown, values, {"region": about, "value_name": "population", "year": year}
    )


# --- surveillance --------------------------------------------------------------------------


def _keyword_parameters(method: str) -> dict[str, Any] | None:
    from healthwatch.surveillance import get_method

    params: dict[str, Any] = {}
    for p in inspect.signature(get_method(method)).parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            params[p.name] = p.default
    return params


def detection_methods() -> list[dict[str, Any]]:
    """Every method with its keyword parameters and defaults."""
    from healthwatch.surveillance import METHODS

    out = []
    for name in METHODS:
        try:
            params = _keyword_parameters(name) or {}
        except (ImportError, AttributeError):
            out.append({"method": name, "available": False, "parameters": {}})
            continue
        shown = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in params.items()
            if isinstance(v, int | float | str | bool | tuple | type(None))
        }
        out.append({"method": name, "available": True, "parameters": shown})
    return out


def detection_params(method: str, params_json: str, freq: int) -> dict[str, Any]:
    """Parameters from a JSON object, every name checked against the method's signature."""
    from healthwatch.surveillance import METHODS

    problems: list[Problem] = []
    if method not in METHODS:
        problems.append(
            Problem(
                f"Unknown method {method!r}; one of {', '.join(METHODS)}.",
                f"未知方法 {method!r}，可选：{', '.join(METHODS)}。",
                field="method",
            )
        )
    if freq not in (52, 365):
        problems.append(Problem("freq must be 52 or 365.", "频率须为 52 或 365。", field="freq"))
    try:
        control = json.loads(params_json or "{}")
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(f"params is not JSON: {exc}", f"参数不是 JSON：{exc}", field="params")
        )
        control = {}
    if not isinstance(control, dict):
        problems.append(
            Problem("params must be a JSON object.", "参数须为 JSON 对象。", field="params")
        )
        control = {}
    if not problems:
        known = _keyword_parameters(method)
        for key in control:
            if known is not None and key not in known:
                problems.append(
                    Problem(
                        f"{method} has no parameter {key!r}.",
                        f"方法 {method} 没有参数 {key!r}。",
                        field="params",
                    )
                )
    if problems:
        raise InputError(problems)
    return {k: tuple(v) if isinstance(v, list) else v for k, v in control.items()}


def run_detection(counts: Any, method: str, control: dict[str, Any]) -> dict[str, Any]:
    """Run one method on every series; a parameter the method rejects is an input error."""
    from healthwatch.errors import HealthwatchError
    from healthwatch.surveillance import engine

    try:
        result = engine.run(counts, method, **control)
    except HealthwatchError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(
            [
                Problem(
                    f"{method} refused the parameters: {exc}",
                    f"方法 {method} 拒绝了参数：{exc}",
                    field="params",
                )
            ]
        ) from exc
    answer: dict[str, Any] = result.to_json()
    return answer
