"""The evaluation part of the REST API: plan status, one indicator, map values, projects,
stored evaluations, running one, and report downloads.

Every answer comes from :mod:`healthwatch.services.evaluate` (the same functions as
``healthwatch evaluate`` and ``healthwatch report``); this module only shapes them for the pages
and the charts. An evaluation of a province takes seconds, so the one evaluation behind the
status, indicator and map answers of a (plan, year, region) is computed once and reused
until the data change (its key names the data version); the caller's right to read the
region is checked on every request, before the cache is consulted.

The answers built from it (status, indicator, map, projects) are kept as bytes as well
(:func:`~healthwatch.web.api.cached_answer`, a repeat costs well under a millisecond), keyed on
plan, year, region and language. They carry no reader's scope: a reader may only ask for a
region inside its own, where it reads every figure, so every permitted reader gets the same
answer; the permission is checked before the cache on every request (:func:`place`).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from healthwatch.errors import READ_REFUSED, InputError, NotFoundError, Problem
from healthwatch.store.db import session_scope
from healthwatch.users import Actor, require
from healthwatch.web import views
from healthwatch.web.api import _ERRORS, AuthDep, cached_answer, data_version, settings_of
from healthwatch.web.routing import GatedRouter

router = GatedRouter(tags=["evaluation"], responses=_ERRORS)

PLAN_PATH = views.PathParam(
    ..., pattern=r"^[a-z0-9][a-z0-9-]{0,99}$", description="规划编号 / plan id"
)
CODE_PATH = views.PathParam(
    ..., pattern=r"^[a-z0-9_]{1,100}$", description="指标代码 / indicator code"
)
AsOf = Annotated[int | None, Query(ge=1990, le=2100, description="评估年份 / as-of year")]
RegionQ = Annotated[str | None, Query(pattern=r"^\d{6}$", description="行政区划代码 / adcode")]
LangQ = Annotated[str, Query(pattern="^(zh|en)$")]

#: status -> colour (the reports' colours, so page, map and filed report agree)
STATUS_ORDER = ("achieved", "on_schedule", "lagging", "moving_away", "insufficient_data")
CHILD_LEVEL = {"province": "city", "city": "county"}
MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def status_colours() -> dict[str, str]:
    from healthwatch.reports.charts import STATUS_COLOUR

    return dict(STATUS_COLOUR)


def status_label(status: str, lang: str) -> str:
    from healthwatch.evaluate.plan import status_label as label

    return label(status, lang)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def plan_row(db: str | None, plan_id: str) -> dict[str, Any]:
    """The stored plan's summary row (id, names, region, years), or NotFoundError."""
    from healthwatch.store.plans import list_plans

    with session_scope(db) as session:
        for p in list_plans(session):
            if p["id"] == plan_id:
                return p
    raise NotFoundError(
        f"No plan {plan_id!r}; see GET /api/v1/plans.", f"没有规划 {plan_id!r}，请查看规划列表。"
    )


def _plan_rows(settings: Any, version: int) -> dict[str, dict[str, Any]]:
    """Stored plans by id, read once per data version (a plan change is audited)."""
    from healthwatch.store.plans import list_plans

    def read() -> dict[str, dict[str, Any]]:
        with session_scope(settings.db) as session:
            return {p["id"]: p for p in list_plans(session)}

    rows: dict[str, dict[str, Any]] = settings.cached(f"plan-rows:{version}", read, versioned=True)
    return rows


def _known_plan(rows: dict[str, dict[str, Any]], plan_id: str) -> dict[str, Any]:
    if plan_id not in rows:
        raise NotFoundError(
            f"No plan {plan_id!r}; see GET /api/v1/plans.",
            f"没有规划 {plan_id!r}，请查看规划列表。",
        )
    return rows[plan_id]


def _where(
    plan: dict[str, Any], actor: Actor, as_of: int | None, region: str | None
) -> tuple[str, int, str | None]:
    """Region, year and child level of a request, once ``actor`` may read the region."""
    from healthwatch.regions.hierarchy import all_regions

    scope = region or str(plan["region"])
    require(actor, "read", scope)
    known = all_regions()
    if scope not in known:
        raise NotFoundError(f"No region {scope}.", f"没有行政区划 {scope}。")
    year = as_of if as_of is not None else default_as_of(plan)
    first, last = int(plan["start_year"]) - 1, int(plan["end_year"])
    if not first <= year <= last:
        # an empty 200 for a year the plan never covers reads as "no data yet"
        raise InputError(
            [
                Problem(
                    f"as_of {year} is outside plan {plan['id']}: choose a year from {first} "
                    f"(the baseline year) to {last}.",
                    f"as_of {year} 不在规划 {plan['id']} 的期间内：请选择 {first}（基期）"
                    f"至 {last} 年。",
                    field="as_of",
                )
            ],
            *READ_REFUSED,
        )
    return scope, year, CHILD_LEVEL.get(known[scope].level)


async def place(
    request: Request, actor: Actor, plan_id: str, as_of: int | None, region: str | None
) -> tuple[str, int]:
    """The region and year an evaluation answer is about, with the caller's right to read the
    region checked: on every request, before any cached answer is used. Cheap (the plan rows
    are cached per data version), so it runs on the event loop."""
    settings = settings_of(request)
    version = data_version(request)
    rows = settings.peek(f"plan-rows:{version}", versioned=True)
    if rows is None:
        rows = await run_in_threadpool(_plan_rows, settings, version)
    scope, year, _ = _where(_known_plan(rows, plan_id), actor, as_of, region)
    return scope, year


def default_as_of(plan: dict[str, Any]) -> int:
    """The last complete year (statistics of a year appear the next year), within the plan."""
    return max(int(plan["start_year"]), min(int(plan["end_year"]), date.today().year - 1))


def evaluation(
    request: Request, actor: Actor, plan_id: str, as_of: int | None, region: str | None
) -> tuple[dict[str, Any], Any, Any, dict[str, Any]]:
    """The (cached) evaluation of a plan in ``region`` and the level below it.

    Returns the document, the :class:`PlanEvaluation` (value series), the plan model and the
    plan's summary row. ``read`` in the region is checked here on every call (the cache is
    shared by all users); the service checks it again when it computes.
    """
    settings = settings_of(request)
    version = data_version(request)
    plan = _known_plan(_plan_rows(settings, version), plan_id)
    scope, year, level = _where(plan, actor, as_of, region)
    doc, ev, model = _cached_evaluation(settings, actor, plan_id, year, scope, level, version)
    return doc, ev, model, plan


def _cached_evaluation(
    settings: Any, actor: Actor, plan_id: str, year: int, scope: str, level: str | None,
    version: int,
) -> tuple[dict[str, Any], Any, Any]:  # fmt: skip
    """One evaluation per plan, year, region and data version, shared by every user who may
    read the region (inside its own region a user reads every figure, so all see the same)."""
    from healthwatch.services.evaluate import evaluation_with_series

    def compute() -> tuple[dict[str, Any], Any, Any]:
        with session_scope(settings.db) as session:
            return evaluation_with_series(session, plan_id, year, scope, level, actor=actor)

    key = f"evaluation:{version}:{plan_id}:{year}:{scope}:{level}"
    result: tuple[dict[str, Any], Any, Any] = settings.cached(key, compute, versioned=True)
    return result


def warm_plan_evaluations(settings: Any) -> None:
    """Evaluate every stored plan in its own region at server start (the plan overview and
    the map need it; computing it takes seconds), as the system: reused until data change."""
    from healthwatch.regions.hierarchy import all_regions
    from healthwatch.store.plans import list_plans
    from healthwatch.users import LOCAL_ADMIN

    version = settings.data_version()
    with session_scope(settings.db) as session:
        plans = list_plans(session)
    known = all_regions()
    for plan in plans:
        scope = str(plan["region"])
        if scope in known:
            level = CHILD_LEVEL.get(known[scope].level)
            year = default_as_of(plan)
            _cached_evaluation(settings, LOCAL_ADMIN, plan["id"], year, scope, level, version)


def _region_names() -> dict[str, str]:
    from healthwatch.regions.hierarchy import all_regions

    return {code: r.name for code, r in all_regions().items()}


def _result_row(r: dict[str, Any], lang: str, unit_label: str) -> dict[str, Any]:
    status = str(r["status"])
    target = r["target"]
    return {
        "code": r["indicator"],
        "name": r["name_en"] if lang == "en" else r["name_zh"],
        "name_zh": r["name_zh"],
        "name_en": r["name_en"],
        "nature": r.get("nature"),
        "binding": bool(r.get("binding")),
        "unit": r["unit"],
        "unit_label": unit_label,
        "direction": r["direction"],
        "baseline": r["baseline"],
        "latest": {k: r["latest"].get(k) for k in ("year", "value", "source")},
        "target": {**target, "text": views.target_text(target, r["unit"], lang)},
        "status": status,
        "status_label": status_label(status, lang),
        "status_colour": status_colours()[status],
        "forecast": r["forecast"],
        "required_annual_change": r["required_annual_change"],
        "observed_annual_change": r["observed_annual_change"],
    }


def plan_status(
    request: Request, actor: Actor, plan_id: str, as_of: int | None, lang: str
) -> dict[str, Any]:
    """Every indicator of the plan in its own region: baseline, latest, target, status,
    forecast for the target year; binding indicators first, then the plan's order."""
    doc, _, _, plan = evaluation(request, actor, plan_id, as_of, None)
    rows = [r for r in doc["results"] if r["region"] == doc["region"]]
    order = {"binding": 0, "expected": 1}
    indexed = sorted(enumerate(rows), key=lambda ir: (order.get(ir[1].get("nature"), 2), ir[0]))
    units = {r["unit"]: views._unit_label(r["unit"], lang) for r in rows}
    return {
        "plan": plan,
        "as_of": doc["as_of"],
        "region": doc["region"],
        "data_version": doc["data_version"],
        "data_source": doc["data_source"],
        "summary": doc["summary"],
        "statuses": {
            s: {"label": status_label(s, lang), "colour": status_colours()[s]} for s in STATUS_ORDER
        },
        "indicators": [_result_row(r, lang, units[r["unit"]]) for _, r in indexed],
    }


def _rank(rows: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    """Best first in the indicator's direction; regions without a value last."""
    sign = -1.0 if direction == "higher" else 1.0
    have = [r for r in rows if r["value"] is not None]
    none = [r for r in rows if r["value"] is None]
    ranked = sorted(have, key=lambda r: sign * r["value"]) if direction != "band" else have
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
    return ranked + none


def _goal(target: dict[str, Any]) -> float | None:
    """The value the target line ends at: the evaluation's goal, else, for a target that is a
    bound or a level (at least / at most / below / equal / about), its own value. Why: the
    evaluation sets ``goal`` only for some kinds, and an "at most 4.5‰" target without a line
    left the chart with no target at all."""
    if target.get("goal") is not None:
        return float(target["goal"])
    kinds = ("at_least", "at_most", "below", "count_cap", "equal", "approximately")
    if target.get("kind") in kinds and target.get("value") is not None:
        return float(target["value"])
    return None


def indicator_detail(
    request: Request,
    actor: Actor,
    plan_id: str,
    code: str,
    as_of: int | None,
    region: str | None,
    lang: str,
) -> dict[str, Any]:
    """One indicator in one region: its series, the target path (base value to goal), the
    acceptable band, the forecast interval at the target year, and the sub-regions ranked."""
    doc, ev, _, plan = evaluation(request, actor, plan_id, as_of, region)
    mine = [r for r in doc["results"] if r["indicator"] == code]
    head = next((r for r in mine if r["region"] == doc["region"]), None)
    if head is None:
        raise NotFoundError(
            f"Plan {plan_id} has no indicator {code!r}.", f"规划 {plan_id} 没有指标 {code!r}。"
        )
    names = _region_names()
    unit_label = views._unit_label(head["unit"], lang)
    series = ev.series.get((code, doc["region"]))
    points = (
        [] if series is None else [{"year": int(y), "value": _num(v)} for y, v in series.items()]
    )
    target, base = head["target"], head["baseline"]
    goal = _goal(target)
    path = []
    if goal is not None and target.get("year") is not None:
        if base.get("year") is not None and base.get("value") is not None:
            path = [[base["year"], base["value"]], [target["year"], goal]]
        else:  # no baseline: the goal as a level line over the plan period
            path = [[int(plan["start_year"]), goal], [target["year"], goal]]
    fc, latest = head["forecast"], head["latest"]
    fan = []
    if fc.get("value") is not None and latest.get("year") is not None:
        fan = [
            {"year": latest["year"], "value": latest["value"], "low": latest["value"],
             "high": latest["value"]},
            {"year": fc["year"], "value": fc["value"], "low": fc["low"], "high": fc["high"]},
        ]  # fmt: skip
    band = {"low": target.get("low"), "high": target.get("high")}
    if target.get("kind") in ("at_least",) and goal is not None:
        band = {"low": goal, "high": None}
    elif target.get("kind") in ("at_most", "below", "count_cap") and goal is not None:
        band = {"low": None, "high": goal}
    subs = [
        {
            "adcode": r["region"],
            "name": names.get(r["region"], r["region"]),
            "value": r["latest"].get("value"),
            "year": r["latest"].get("year"),
            "status": r["status"],
            "status_label": status_label(str(r["status"]), lang),
            "status_colour": status_colours()[str(r["status"])],
            "p_meet": r["forecast"].get("p_meet"),
        }
        for r in mine
        if r["region"] != doc["region"]
    ]
    return {
        "plan": plan,
        "as_of": doc["as_of"],
        "region": {"adcode": doc["region"], "name": names.get(doc["region"], doc["region"])},
        "data_version": doc["data_version"],
        "indicator": _result_row(head, lang, unit_label),
        "series": points,
        "target_path": path,
        "target_goal": goal,
        "target_band": band,
        "forecast_fan": fan,
        "status_by_year": head.get("status_by_year", {}),
        "regions": _rank(subs, str(head["direction"])),
    }


def indicator_map(
    request: Request,
    actor: Actor,
    plan_id: str,
    code: str,
    year: int | None,
    region: str | None,
    lang: str,
) -> str:
    """GeoJSON of the region's children (itself for a county) with the indicator's value in
    ``year`` (``properties.value``) and each child's status as of that year (``statuses``)."""
    from healthwatch.regions.hierarchy import all_regions
    from healthwatch.store.regions import list_regions
    from healthwatch.web.maps import feature_collection_json

    doc, ev, _, _ = evaluation(request, actor, plan_id, year, region)
    root = doc["region"]
    with session_scope(settings_of(request).db) as session:
        children = list_regions(session, parent=root)
    names = _region_names()
    shown = children or [{"adcode": root, "name": names.get(root, root), "level": "county"}]
    mine = {r["region"]: r for r in doc["results"] if r["indicator"] == code}
    if root not in mine:
        raise NotFoundError(
            f"Plan {plan_id} has no indicator {code!r}.", f"规划 {plan_id} 没有指标 {code!r}。"
        )
    values: dict[str, float] = {}
    for r in shown:
        series = ev.series.get((code, r["adcode"]))
        if series is not None and int(doc["as_of"]) in series.index:
            value = _num(series[int(doc["as_of"])])
            if value is not None:
                values[r["adcode"]] = value
    statuses = {a: str(mine[a]["status"]) for a in (r["adcode"] for r in shown) if a in mine}
    head = mine[root]
    known = all_regions()
    about = {
        "adcode": root,
        "name": names.get(root, root),
        "level": known[root].level,
        "parent": known[root].parent,
    }
    extra = {
        "region": about,
        "plan": plan_id,
        "indicator": {
            "code": code,
            "name": head["name_en"] if lang == "en" else head["name_zh"],
            "unit_label": views._unit_label(head["unit"], lang),
            "direction": head["direction"],
        },
        "year": doc["as_of"],
        "value_name": code,
        "statuses": statuses,
        "status_labels": {s: status_label(s, lang) for s in STATUS_ORDER},
        "status_colours": status_colours(),
    }
    return feature_collection_json(shown, values, extra)


def plan_projects(
    request: Request, actor: Actor, plan_id: str, as_of: int | None, lang: str
) -> dict[str, Any]:
    """The plan's projects with their earned-value progress as of the year's end."""
    doc, _, model, plan = evaluation(request, actor, plan_id, as_of, None)
    rows = []
    for p in doc["projects"]:
        rows.append(
            {
                **p,
                "category_label": p.get("category_en") if lang == "en" else p.get("category"),
            }
        )
    reported = sum(1 for p in rows if p.get("reported"))
    return {
        "plan": plan,
        "as_of": doc["as_of"],
        "projects": rows,
        "listed": len(rows),
        "categories": len(model.projects or []),
        "reported": reported,
        "delayed": sum(1 for p in rows if p.get("delayed")),
        "over_budget": sum(1 for p in rows if p.get("over_budget")),
    }


def stored(request: Request, actor: Actor, plan_id: str | None) -> list[dict[str, Any]]:
    """The stored evaluation records, newest first (who ran them, data version, summary)."""
    from healthwatch.services.evaluate import stored_evaluations

    require(actor, "read")
    with session_scope(settings_of(request).db) as session:
        return stored_evaluations(session, plan_id)


def run(
    request: Request,
    actor: Actor,
    plan_id: str,
    as_of: int,
    region: str | None,
    level: str | None,
    kind: str,
) -> dict[str, Any]:
    """Evaluate and store the record (the service requires ``write`` in the plan's region)."""
    from healthwatch.services.evaluate import evaluate_plan

    with session_scope(settings_of(request).db) as session:
        doc = evaluate_plan(session, plan_id, as_of, region, level, kind, actor=actor)
    keys = ("evaluation_id", "plan", "plan_version", "as_of", "kind", "region", "level")
    out = {k: doc.get(k) for k in keys}
    out.update(
        {k: doc[k] for k in ("data_version", "data_source", "summary", "reproduces", "warnings")}
    )
    return out


def report(
    request: Request,
    actor: Actor,
    plan_id: str,
    as_of: int | None,
    fmt: str,
    lang: str,
    region: str | None,
) -> Response:
    """The report file, rendered in memory without storing a record (a download only reads)."""
    from healthwatch.services.evaluate import render_report

    settings = settings_of(request)
    plan = plan_row(settings.db, plan_id)
    year = as_of if as_of is not None else default_as_of(plan)
    with session_scope(settings.db) as session:
        content, info = render_report(
            session, plan_id, year, fmt, lang, region, "city", actor=actor, store=False
        )
    name = f"{plan_id}-{year}-{lang}.{fmt}"
    label = f"{plan['name_zh'] if lang == 'zh' else plan_id}-{year}-{lang}.{fmt}"
    headers = {
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(label)}",
        "X-Data-Version": str(info["data_version"]),
    }
    return Response(content, media_type=MEDIA[fmt], headers=headers)


# --- endpoints -----------------------------------------------------------------------------


@router.get("/evaluation/{plan_id}/status", response_model=dict[str, Any])
async def get_plan_status(
    auth: AuthDep,
    request: Request,
    as_of: AsOf = None,
    lang: LangQ = "zh",
    plan_id: str = PLAN_PATH,
) -> Response:
    """规划指标进展：基期、最新值、目标、状态、目标年预测（约束性在前）/ Every indicator's
    baseline, latest value and year, target, status and forecast, binding first."""
    scope, year = await place(request, auth.actor, plan_id, as_of, None)
    return await cached_answer(
        request,
        f"evaluation-status:{plan_id}:{year}:{scope}:{lang}",
        lambda: plan_status(request, auth.actor, plan_id, year, lang),
    )


@router.get("/evaluation/{plan_id}/indicators/{code}", response_model=dict[str, Any])
async def get_indicator(
    auth: AuthDep,
    request: Request,
    as_of: AsOf = None,
    region: RegionQ = None,
    lang: LangQ = "zh",
    plan_id: str = PLAN_PATH,
    code: str = CODE_PATH,
) -> Response:
    """单项指标：序列、目标路径、预测区间、下级地区排名 / One indicator: series, target path,
    forecast band, sub-regions ranked with value and status."""
    scope, year = await place(request, auth.actor, plan_id, as_of, region)
    return await cached_answer(
        request,
        f"evaluation-indicator:{plan_id}:{code}:{year}:{scope}:{lang}",
        lambda: indicator_detail(request, auth.actor, plan_id, code, year, scope, lang),
    )


@router.get(
    "/evaluation/{plan_id}/map",
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "GeoJSON FeatureCollection with value and statuses",
        }
    },
)
async def get_indicator_map(
    auth: AuthDep,
    request: Request,
    indicator: Annotated[str, Query(pattern=r"^[a-z0-9_]{1,100}$")],
    year: AsOf = None,
    region: RegionQ = None,
    lang: LangQ = "zh",
    plan_id: str = PLAN_PATH,
) -> Response:
    """按指标着色的下级区划（数值与状态）/ The children's boundaries with the indicator's value
    in the year and their status as of that year (WGS84 GeoJSON)."""
    scope, as_of = await place(request, auth.actor, plan_id, year, region)
    return await cached_answer(
        request,
        f"evaluation-map:{plan_id}:{indicator}:{as_of}:{scope}:{lang}",
        lambda: indicator_map(request, auth.actor, plan_id, indicator, as_of, scope, lang),
        serialised=True,
    )


@router.get("/evaluation/{plan_id}/projects", response_model=dict[str, Any])
async def get_projects(
    auth: AuthDep,
    request: Request,
    as_of: AsOf = None,
    lang: LangQ = "zh",
    plan_id: str = PLAN_PATH,
) -> Response:
    """重大项目进展（挣值法）/ The plan's projects with earned-value progress."""
    scope, year = await place(request, auth.actor, plan_id, as_of, None)
    return await cached_answer(
        request,
        f"evaluation-projects:{plan_id}:{year}:{scope}:{lang}",
        lambda: plan_projects(request, auth.actor, plan_id, year, lang),
    )


@router.get("/evaluations", response_model=list[dict[str, Any]])
async def get_evaluations(
    auth: AuthDep,
    request: Request,
    plan: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """已存评估记录（新的在前）/ Stored evaluation records, newest first.

    Every reader allowed to read sees the same list, and storing an evaluation is an audited
    change, so the answer is cached under the data version like the others."""
    require(auth.actor, "read")
    return await cached_answer(
        request, f"evaluations:{plan}", lambda: stored(request, auth.actor, plan)
    )


class EvaluationRequest(BaseModel):
    plan: str = Field(max_length=100)
    as_of: int = Field(ge=1990, le=2100)
    region: str | None = Field(None, pattern=r"^\d{6}$")
    level: str | None = Field(None, pattern="^(province|city|county)$")
    kind: str = Field("annual", pattern="^(annual|midterm|final)$")


@router.post("/evaluations", status_code=201)
def post_evaluation(body: EvaluationRequest, auth: AuthDep, request: Request) -> dict[str, Any]:
    """运行并保存一次评估（需写权限）/ Run and store an evaluation (``write`` in the region)."""
    return run(request, auth.actor, body.plan, body.as_of, body.region, body.level, body.kind)


@router.get(
    "/evaluation/{plan_id}/report",
    response_class=Response,
    responses={
        200: {
            "content": {m.split(";")[0]: {} for m in MEDIA.values()},
            "description": "报告文件 / the report file (attachment)",
        }
    },
)
def get_report(
    auth: AuthDep,
    request: Request,
    as_of: AsOf = None,
    format: Annotated[str, Query(pattern="^(html|pdf|xlsx)$")] = "html",
    lang: LangQ = "zh",
    region: RegionQ = None,
    plan_id: str = PLAN_PATH,
) -> Response:
    """下载评估报告（HTML/PDF/XLSX，中/英）/ Download the evaluation report (not stored)."""
    return report(request, auth.actor, plan_id, as_of, format, lang, region)
