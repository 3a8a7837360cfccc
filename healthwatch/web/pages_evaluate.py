"""The evaluation pages: one indicator, projects, stored evaluations with the run form and the
report downloads, and the status columns of the plan overview.

Thin like :mod:`healthwatch.web.pages`: the numbers come from :mod:`healthwatch.web.api_evaluate`
(the same answers as the REST API), the page only lays them out; the run form posts with the
session's CSRF token and the service decides whether the user may write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from healthwatch.errors import InputError, PermissionDeniedError, Problem
from healthwatch.store.db import session_scope
from healthwatch.users import Actor
from healthwatch.web import api_evaluate as data
from healthwatch.web import views
from healthwatch.web.forms import PostedForm, handle_form
from healthwatch.web.i18n import translate
from healthwatch.web.pages import language, page_auth, render
from healthwatch.web.routing import GatedRouter
from healthwatch.web.security import Auth

router = GatedRouter(include_in_schema=False)

CHART_LABELS = (
    "reported",
    "target_path",
    "forecast_band",
    "forecast_value",
    "target_goal",
    "col_value",
    "col_status",
    "regions_ranked",
)


def _plans(request: Request) -> list[dict[str, Any]]:
    from healthwatch.store.plans import list_plans

    with session_scope(data.settings_of(request).db) as session:
        return list_plans(session)


def _chosen(
    plans: list[dict[str, Any]], plan: str | None, actor: Actor, eligible: set[str] | None = None
) -> dict[str, Any] | None:
    """The plan the address names, else one the user may read (:func:`views.default_plan`)."""
    by_id = {p["id"]: p for p in plans}
    if plan in by_id:
        return by_id[plan]
    return views.default_plan(plans, actor, eligible)


def _with_projects(request: Request, plans: list[dict[str, Any]]) -> set[str]:
    """The plans that list projects: /projects opens one of them (a plan without projects
    would greet the user with "The plan lists no projects")."""
    from healthwatch.store.plans import get_plan

    with session_scope(data.settings_of(request).db) as session:
        return {p["id"] for p in plans if get_plan(session, p["id"]).get("projects")}


def _year(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and 1990 <= int(value) <= 2100 else None


def status_for_overview(request: Request, auth: Auth, plan_id: str) -> dict[str, Any] | None:
    """The plan status for the overview table, or None when the user may not read its region
    (the overview of targets is still shown; the page says why the status is missing)."""
    try:
        return data.plan_status(request, auth.actor, plan_id, None, language(request))
    except PermissionDeniedError:
        return None


@router.get("/indicators/{plan_id}/{code}")
def indicator_page(
    plan_id: str, code: str, request: Request, as_of: str | None = None, region: str | None = None
) -> HTMLResponse:
    auth = page_auth(request)
    lang = language(request)
    scope = region if region and region.isdigit() and len(region) == 6 else None
    detail = data.indicator_detail(request, auth.actor, plan_id, code, _year(as_of), scope, lang)
    plan = detail["plan"]
    page_data = {
        "detail": detail,
        "labels": {k: translate(lang, k) for k in CHART_LABELS},
    }
    fan = detail["forecast_fan"]
    year = fan[-1]["year"] if fan else detail["indicator"].get("target", {}).get("year")
    if year is not None:  # "Forecast for" needs its year
        page_data["labels"]["forecast_value"] = translate(lang, "forecast_for_year").format(
            year=year
        )
    years = list(range(int(plan["start_year"]), int(plan["end_year"]) + 1))
    return render(
        request,
        "indicator.html",
        {"d": detail, "years": years, "page_data": page_data, "scope": scope},
        auth,
    )


@router.get("/projects")
def projects_page(
    request: Request, plan: str | None = None, as_of: str | None = None
) -> HTMLResponse:
    auth = page_auth(request)
    plans = _plans(request)
    chosen = _chosen(plans, plan, auth.actor, _with_projects(request, plans))
    result, allowed = None, True
    if chosen:
        try:
            result = data.plan_projects(
                request, auth.actor, chosen["id"], _year(as_of), language(request)
            )
        except PermissionDeniedError:  # the chooser stays; the page says why nothing is shown
            allowed = False
    years = list(range(int(chosen["start_year"]), int(chosen["end_year"]) + 1)) if chosen else []
    return render(
        request,
        "projects.html",
        {"plans": plans, "chosen": chosen, "result": result, "years": years, "allowed": allowed},
        auth,
    )


@router.get("/evaluations")
def evaluations_page(
    request: Request, plan: str | None = None, as_of: str | None = None, saved: str | None = None
) -> HTMLResponse:
    auth = page_auth(request)
    plans = _plans(request)
    chosen = _chosen(plans, plan, auth.actor)
    year = _year(as_of) or (data.default_as_of(chosen) if chosen else None)
    rows = data.stored(request, auth.actor, chosen["id"] if chosen else None)
    reports = []
    if chosen:
        for lang in ("zh", "en"):
            for fmt in ("html", "pdf", "xlsx"):
                query = urlencode({"as_of": year, "format": fmt, "lang": lang})
                reports.append(
                    {
                        "lang": lang,
                        "format": fmt,
                        "href": f"/api/v1/evaluation/{chosen['id']}/report?{query}",
                    }
                )
    years = list(range(int(chosen["start_year"]), int(chosen["end_year"]) + 1)) if chosen else []
    return render(
        request,
        "evaluations.html",
        {
            "plans": plans,
            "chosen": chosen,
            "year": year,
            "years": years,
            "rows": rows,
            "reports": reports,
            "can_run": auth.actor.can("write"),
            "saved": saved if saved and saved.isdigit() else None,
        },
        auth,
    )


def _run_evaluation(posted: PostedForm) -> str:
    plan = posted.text("plan")
    year = _year(posted.text("as_of"))
    kind = posted.text("kind", default="annual")
    if year is None:
        raise InputError([Problem("as-of year missing", "缺少评估年份", field="as_of")])
    level_value = posted.text("level") or None
    doc = data.run(posted.request, posted.actor, plan, year, None, level_value, kind)
    query = urlencode({"plan": plan, "as_of": year, "saved": doc["evaluation_id"]})
    return f"/evaluations?{query}"


@router.post("/evaluations")
async def evaluations_run(request: Request) -> Response:
    """The run form: CSRF checked, then the service (``write`` in the plan's region); a refusal
    is the error page."""
    return await handle_form(request, _run_evaluation)


def map_choices(request: Request, lang: str) -> list[dict[str, Any]]:
    """Each plan with its indicators (code and name) and years, for the map's selectors."""
    from healthwatch.web.views import plan_overview

    out = []
    with session_scope(data.settings_of(request).db) as session:
        from healthwatch.store.plans import list_plans

        for p in list_plans(session):
            overview = plan_overview(session, p["id"], lang)
            out.append(
                {
                    "id": p["id"],
                    "name": p["name_en"] if lang == "en" else p["name_zh"],
                    "region": p["region"],
                    "years": list(range(int(p["start_year"]) - 1, int(p["end_year"]) + 1)),
                    "default_year": data.default_as_of(p),
                    "indicators": [
                        {"code": i["code"], "name": i["name"]} for i in overview["indicators"]
                    ],
                }
            )
    return out


def add_map_choices(request: Request, lang: str, page_data: dict[str, Any]) -> None:
    """Add the map page's indicator selectors: the choices, the ones the URL preselects
    (``?plan=&indicator=&year=&by=``) and their labels."""
    page_data["choices"] = map_choices(request, lang)
    page_data["chosen"] = {
        k: request.query_params.get(k) for k in ("plan", "indicator", "year", "by")
    }
    page_data["labels"].update(
        {k: translate(lang, k) for k in ("col_value", "col_status", "no_data")}
    )
