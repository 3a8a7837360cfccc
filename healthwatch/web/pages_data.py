"""The indicator-data pages: upload with the error report, template, approval queue, values,
history with revert.

Server-rendered forms (no script needed): every form posts the session's CSRF token, every
action goes through the same service function as the API and the CLI with the user's actor, so
the server refuses what the role or region does not allow even when a button is forged. Buttons
are only shown when the user may use them.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from healthwatch.errors import HealthwatchError
from healthwatch.store.db import session_scope
from healthwatch.users import Actor, in_region_scope, region_covers
from healthwatch.web.forms import PostedForm, handle_form
from healthwatch.web.i18n import translate
from healthwatch.web.pages import language, page_auth, render
from healthwatch.web.routing import GatedRouter
from healthwatch.web.security import Auth

router = GatedRouter(include_in_schema=False)

_ADCODE = re.compile(r"^\d{6}$")
_PERIOD = re.compile(r"^\d{4}(Q[1-4]|\d{2})?$")
VALUES_SHOWN = 500


def _db(request: Request) -> str | None:
    db: str | None = request.app.state.settings.db
    return db


def _period(value: str | None) -> str:
    """The period asked for, else last year (the year being reported)."""
    return value if value and _PERIOD.match(value) else str(date.today().year - 1)


def _region(value: str | None, actor: Actor) -> str:
    """The region asked for when the user may see it, else the user's own (or the province)."""
    own = actor.region or "210000"
    if value and _ADCODE.match(value) and in_region_scope(actor, value):
        return value
    return own


def _regions(db: str | None) -> list[dict[str, str]]:
    from healthwatch.store.models import Region

    with session_scope(db) as session:
        rows = session.execute(
            select(Region.adcode, Region.name, Region.level).order_by(Region.adcode)
        ).all()
    return [{"adcode": a, "name": n, "level": lv} for a, n, lv in rows]


def _actions(actor: Actor, row: dict[str, Any]) -> list[str]:
    """The workflow buttons ``actor`` may use on a status row (the server checks again)."""
    if not in_region_scope(actor, row["region"]):
        return []
    out = []
    if row["status"] == "draft" and actor.can("submit"):
        out.append("submit")
    if row["status"] == "submitted" and actor.can("approve"):
        out.append("approve")
    if row["locked"] and actor.can("unlock"):
        out.append("unlock")
    return out


def _plans_for(actor: Actor, plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plans whose template the user can use: those covering the user's region.

    A plan covers its own region and everything under it, so a county reporter of Anshan gets
    Liaoning's and Anshan's plans and Dalian's gets Liaoning's only. A plan inside the user's
    region counts too: a province-wide user (no region, or the province) is offered every plan.
    """
    if actor.region is None:
        return plans
    return [
        p
        for p in plans
        if region_covers(str(p["region"]), actor.region) or in_region_scope(actor, str(p["region"]))
    ]


def _element_names(lang: str) -> dict[str, str]:
    from healthwatch.data.elements import indicator_names, load_definitions

    defs = load_definitions()
    names = {c: (e.name_en if lang == "en" else e.name_zh) or c for c, e in defs.elements.items()}
    for code, (zh, en) in indicator_names().items():
        names.setdefault(code, (en if lang == "en" else zh) or code)
    return names


def _data_context(request: Request, auth: Auth, period: str, region: str) -> dict[str, Any]:
    """Everything the data page shows for ``period`` and ``region``."""
    from healthwatch.services.data import current_values, status
    from healthwatch.store.plans import list_plans

    db = _db(request)
    actor = auth.actor
    regions = _regions(db)
    names = {r["adcode"]: r["name"] for r in regions}
    queue = status(period, region=region, db=db, actor=actor)
    for row in queue:
        row["actions"] = _actions(actor, row)
        row["name"] = names.get(row["region"], "")
    frame = current_values(db, actor=actor, region=region, period=period)
    frame["stored_at"] = frame["stored_at"].astype(str)
    values = frame.head(VALUES_SHOWN).to_dict("records")
    for v in values:
        v["in_scope"] = in_region_scope(actor, v["region"])
    with session_scope(db) as session:
        plans = list_plans(session)
    # The forms offer only regions of the user's scope (everything for a user without a region,
    # e.g. the province's administrators and analysts); the reporting forms (upload, template)
    # only to users who may write. The server refuses anything else again.
    scope = [r for r in regions if in_region_scope(actor, r["adcode"])]
    return {
        "period": period,
        "region": region,
        "region_name": names.get(region, ""),
        "plans": _plans_for(actor, plans),
        "scope_regions": scope,
        "write_regions": scope if actor.can("write") else [],
        "queue": queue,
        "values": values,
        "values_total": len(frame),
        "element_names": _element_names(language(request)),
        "year": int(period[:4]) if period[:4].isdigit() else date.today().year - 1,
        "formats": ["csv", "xlsx", "dhis2-json", "dhis2-csv", "fhir"],
        "can_write": actor.can("write"),
    }


def _data_page(
    request: Request,
    auth: Auth,
    period: str,
    region: str,
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = _data_context(request, auth, period, region)
    context.update(extra)
    return render(request, "data.html", context, auth, status)


@router.get("/data")
def data_page(request: Request, period: str | None = None, region: str | None = None) -> Response:
    auth = page_auth(request)
    lang = language(request)
    saved = request.query_params.get("saved")
    known = saved in ("submit", "approve", "unlock")
    notice = translate(lang, f"data_done_{saved}") if known else ""
    shown = _upload_outcome(request, auth)
    if shown is None:
        shown = {"notice": translate(lang, "data_report_gone")}
    elif not shown:
        shown = {"notice": notice}
    return _data_page(request, auth, _period(period), _region(region, auth.actor), **shown)


def _stored_import(request: Request, auth: Auth, import_id: str) -> dict[str, Any] | None:
    """An accepted import's result, read back from its record, for the user who made it only."""
    from healthwatch.store.data_models import DataImport

    if not import_id.isdigit() or len(import_id) > 18:
        return None
    with session_scope(_db(request)) as session:
        record = session.get(DataImport, int(import_id))
        if record is None or record.actor != auth.actor.username or record.format == "revert":
            return None
        return {
            "file": record.file,
            "format": record.format,
            "rows": record.rows,
            "inserted": record.inserted,
            "updated": record.updated,
            "unchanged": record.unchanged,
            "warnings": list(record.warnings or []),
            "import_id": record.id,
            "dry_run": False,
        }


def _upload_outcome(request: Request, auth: Auth) -> dict[str, Any] | None:
    """What the page after an accepted upload shows: ``{"result": …}``; ``{}`` when the
    address names no import; None when it names one that this user cannot see."""
    query = request.query_params
    if "import" in query:
        result = _stored_import(request, auth, query["import"])
        return None if result is None else {"result": result}
    return {}


def _where(posted: PostedForm) -> tuple[str, str]:
    """The period and region a data-page form was posted from (checked as in the URL)."""
    return _period(posted.text("period")), _region(posted.text("region"), posted.actor)


def _data_refused(posted: PostedForm, status: int, report: dict[str, Any]) -> Response:
    """The data page again with the refusal's report (every problem)."""
    period, region = _where(posted)
    return _data_page(posted.request, posted.auth, period, region, status=status, report=report)


def _after_import(posted: PostedForm, import_id: int) -> str:
    """The address of the page showing an accepted import, read back from its record.

    Why a redirect (303) only here: a reload of the page must not post the file again, which
    matters only when the post wrote something. A refused file, a dry run or a file that
    changed nothing is answered with the page itself: posting it again changes nothing, and
    the report needs no storage of its own (so any worker process can answer).
    """
    period, region = _where(posted)
    query = urlencode({"period": period, "region": region, "import": str(import_id)})
    return f"/data?{query}#import-result"


def _upload(posted: PostedForm) -> str | Response:
    from healthwatch.web.api_data import run_import

    upload = posted.fields.get("file")
    fmt = posted.text("format") or None
    dry_run = posted.fields.get("dry_run") in ("1", "on", "true")
    if not isinstance(upload, UploadFile) or not upload.filename:
        report = {
            "code": "invalid_input",
            "message_zh": translate("zh", "data_no_file"),
            "message_en": translate("en", "data_no_file"),
            "problems": [],
        }
        return _data_refused(posted, 422, report)
    result = run_import(upload, auth_actor=posted.actor, db=posted.db, format=fmt,
                        dry_run=dry_run)  # fmt: skip
    import_id = result.get("import_id")
    if import_id is not None and not result.get("dry_run"):
        return _after_import(posted, int(import_id))
    period, region = _where(posted)
    return _data_page(posted.request, posted.auth, period, region, result=result)


@router.post("/data/upload")
async def data_upload(request: Request) -> Response:
    return await handle_form(request, _upload, _data_refused)


@router.get("/data/template")
def data_template(request: Request, plan: str, region: str, year: int) -> Response:
    from healthwatch.services.data import template
    from healthwatch.web.api_data import XLSX

    auth = page_auth(request)
    with tempfile.TemporaryDirectory(prefix="hw-template-") as tmp:
        path = Path(tmp) / "template.xlsx"
        template(path, plan=plan, region=region, year=year, actor=auth.actor, db=_db(request))
        content = path.read_bytes()
    name = f"{plan}-{region}-{year}.xlsx"
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _workflow(posted: PostedForm) -> str:
    from healthwatch.services import data as svc

    action, target, text = posted.text("action"), posted.text("target"), posted.text("text", 1000)
    period, region = _where(posted)
    actor, db = posted.actor, posted.db
    if action == "unlock":
        svc.unlock(target, period, actor=actor, reason=text, db=db)
    elif action in ("submit", "approve"):
        run = svc.submit if action == "submit" else svc.approve
        run(target, period, actor=actor, db=db, comment=text)
    else:
        raise HealthwatchError(f"No action {action!r}.", f"没有操作 {action!r}。")
    query = urlencode({"period": period, "region": region, "saved": action})
    return f"/data?{query}#queue"


@router.post("/data/workflow")
async def data_workflow(request: Request) -> Response:
    return await handle_form(request, _workflow, _data_refused)


def _history_page(
    request: Request, auth: Auth, region: str, period: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    from healthwatch.services.data import history
    from healthwatch.services.data import status as workflow_status

    db = _db(request)
    found = history(region, period, db=db, actor=auth.actor)
    state = [r for r in workflow_status(period, region=region, db=db, actor=auth.actor)
             if r["region"] == region]  # fmt: skip
    locked = bool(state and state[0]["locked"])
    names = {r["adcode"]: r["name"] for r in _regions(db)}
    context = {
        "history": found,
        "region": region,
        "region_name": names.get(region, ""),
        "period": period,
        "locked": locked,
        "can_revert": auth.actor.can("write")
        and in_region_scope(auth.actor, region)
        and not locked,
        "element_names": _element_names(language(request)),
        **extra,
    }
    return render(request, "data_history.html", context, auth, status)


@router.get("/data/history")
def data_history(request: Request, region: str, period: str) -> Response:
    auth = page_auth(request)
    if not _ADCODE.match(region) or not _PERIOD.match(period):
        return RedirectResponse("/data", status_code=303)
    saved = request.query_params.get("saved")
    notice = translate(language(request), "data_done_revert") if saved else ""
    return _history_page(request, auth, region, period, notice=notice)


def _history_refused(posted: PostedForm, status: int, report: dict[str, Any]) -> Response:
    """The history page again with the refusal's report."""
    region, period = posted.text("region"), posted.text("period")
    return _history_page(posted.request, posted.auth, region, period, status, report=report)


def _revert(posted: PostedForm) -> str | Response:
    from healthwatch.services.data import revert

    region, period = posted.text("region"), posted.text("period")
    if not _ADCODE.match(region) or not _PERIOD.match(period):
        return "/data"
    try:
        version = int(posted.text("version"))
    except ValueError:
        report = {
            "code": "invalid_input",
            "message_zh": "版本号无效。",
            "message_en": "The version is not a number.",
            "problems": [],
        }
        return _history_refused(posted, 422, report)
    revert(region, period, posted.text("element"), version, reason=posted.text("reason", 1000),
           actor=posted.actor, db=posted.db)  # fmt: skip
    query = urlencode({"region": region, "period": period, "saved": 1})
    return f"/data/history?{query}"


@router.post("/data/revert")
async def data_revert(request: Request) -> Response:
    return await handle_form(request, _revert, _history_refused)
