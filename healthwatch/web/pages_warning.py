"""The early-warning pages: today's alerts on a map and in a list, one alert with its evidence.

Thin views over :mod:`healthwatch.services.warning` (the same calls as ``/api/v1/warning``).
The alert page shows only the lifecycle buttons the user may use now (its role answers alerts and
the alert's status allows the step); the server checks every step again (role, region, status,
CSRF token) whatever the page showed.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from healthwatch.services import warning as svc
from healthwatch.store.db import session_scope
from healthwatch.warning.catalogue import SOURCES
from healthwatch.warning.lifecycle import InvalidTransition
from healthwatch.web.api_warning import AlertId, region_label, with_region_names
from healthwatch.web.forms import PostedForm, handle_form
from healthwatch.web.i18n import translate
from healthwatch.web.pages import _settings, error_page, language, page_auth, render
from healthwatch.web.routing import GatedRouter

router = GatedRouter(include_in_schema=False)

LEVEL_COLOURS = {"blue": "#2e86c1", "yellow": "#d4ac0d", "orange": "#e67e22", "red": "#c0392b"}
STATUS_FILTERS = ("open", "overdue", "new", "acknowledged", "investigating", "closed", "all")
STEP_ACTIONS = ("acknowledge", "investigate", "confirm", "rule_out", "close")


def source_label(code: str, lang: str) -> str:
    """The source's name in the page's language (``发热门诊就诊``), not its code; a code the
    catalogue does not know is shown as it is."""
    source = SOURCES.get(code)
    if source is None:
        return code
    return source.name_en if lang == "en" else source.name_zh


def _labels(lang: str, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: translate(lang, k) for k in keys}


@router.get("/warning")
def warning_page(request: Request, status: str = "open") -> HTMLResponse:
    auth = page_auth(request)
    lang = language(request)
    chosen = status if status in STATUS_FILTERS else "open"
    with session_scope(_settings(request).db) as session:
        alerts = svc.list_alerts(
            session, actor=auth.actor, status=None if chosen == "all" else chosen
        )
    alerts = [with_region_names(a) for a in alerts]
    data = {
        "colours": LEVEL_COLOURS,
        "labels": _labels(
            lang, ("level_blue", "level_yellow", "level_orange", "level_red", "warn_no_alert")
        ),
    }
    return render(
        request,
        "warning.html",
        {
            "alerts": alerts,
            "status": chosen,
            "filters": STATUS_FILTERS,
            "colours": LEVEL_COLOURS,
            "page_data": data,
        },
        auth,
    )


@router.get("/warning/alerts/{alert_id}")
def alert_page(alert_id: AlertId, request: Request, done: str = "") -> HTMLResponse:
    auth = page_auth(request)
    lang = language(request)
    with session_scope(_settings(request).db) as session:
        alert = with_region_names(svc.alert_evidence(session, alert_id, actor=auth.actor))
    may_answer = auth.actor.can("answer_alerts")
    actions = [a for a in alert["actions"] if a in STEP_ACTIONS] if may_answer else []
    data = {
        "series": alert["series"],
        "labels": _labels(
            lang, ("warn_observed", "warn_expected", "warn_threshold", "warn_signal_day")
        ),
        "lang": lang,
    }
    notice = translate(lang, f"warn_done_{done}") if done in STEP_ACTIONS else ""
    return render(
        request,
        "warning_alert.html",
        {
            "alert": alert,
            "actions": actions,
            "colours": LEVEL_COLOURS,
            "notice": notice,
            "page_data": data,
            "region_label": lambda code: region_label(str(code), lang),
            "source_label": lambda code: source_label(str(code), lang),
        },
        auth,
    )


@router.post("/warning/alerts/{alert_id}/{action}")
async def alert_step(alert_id: AlertId, action: str, request: Request) -> Response:
    def step(posted: PostedForm) -> str | Response:
        if action not in STEP_ACTIONS:
            return error_page(request, 404, "没有这个操作。", "No such action.", [])
        note = posted.text("note", 2000)
        try:
            with session_scope(posted.db, actor=posted.actor.username) as session:
                svc.change_alert(session, alert_id, action, actor=posted.actor, note=note)
        except InvalidTransition as exc:  # the error page with the steps that are possible
            return error_page(request, 409, exc.message_zh, exc.message_en, exc.problems)
        return f"/warning/alerts/{alert_id}?done={action}"

    return await handle_form(request, step)


__all__ = ["router"]
