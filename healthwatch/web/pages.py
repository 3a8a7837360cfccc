"""The HTML pages (Jinja2, zh-CN by default, English by a switch): thin views over the API's data.

Each page checks the session like the API does (cookie, idle timeout) and sends to the login
page when there is none; each form carries the session's CSRF token, checked on the server.
Charts and maps are drawn in the browser by Apache ECharts from the same ``/api/v1`` answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from healthwatch.errors import HealthwatchError, Problem
from healthwatch.store.db import session_scope
from healthwatch.users.passwords import AuthenticationError
from healthwatch.web.app import WEB_DIR, Settings, node_modules
from healthwatch.web.i18n import LANG_COOKIE, TEXTS, choose_language, counted, pick, translate
from healthwatch.web.routing import GatedRouter
from healthwatch.web.security import (
    LOGIN_CSRF_COOKIE,
    Auth,
    RateLimited,
    authenticate_request,
    check_csrf,
    client_address,
    csrf_refused,
    new_login_csrf,
    same_token,
)

if TYPE_CHECKING:  # forms.py imports this module (page_auth): imported where used
    from healthwatch.web.forms import PostedForm

templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = GatedRouter(include_in_schema=False)

NAV = [
    ("/plans", "nav_plans"),
    ("/findings", "nav_findings"),
    ("/map", "nav_map"),
    ("/access", "nav_access"),
    ("/surveillance", "nav_surveillance"),
    ("/warning", "nav_warning"),
]


class LoginRedirect(Exception):
    """Raised by a page without a live session: answered with a redirect to the login page."""

    def __init__(self, target: str, reason: str = "") -> None:
        self.target = target
        self.reason = reason


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRedirect)
    async def to_login(request: Request, exc: LoginRedirect) -> Response:
        url = f"/login?next={quote(exc.target, safe='/')}"
        if exc.reason:
            url += f"&reason={exc.reason}"
        return RedirectResponse(url, status_code=303)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def language(request: Request) -> str:
    return choose_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def _safe_next(target: str | None) -> str:
    """Only local paths (no scheme, no '//host'), so the login cannot redirect elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/plans"
    return target


def page_auth(request: Request) -> Auth:
    """The session of a page request, or a redirect to the login page."""
    settings = _settings(request)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not request.cookies.get("hw_session"):
        raise LoginRedirect(target)
    try:
        auth = authenticate_request(request, settings.db, idle=settings.idle_timeout)
    except AuthenticationError:
        raise LoginRedirect(target, "ended") from None
    request.state.page_auth = auth  # the error page of this request keeps the navigation
    return auth


def here_without_lang(request: Request) -> str:
    """This page's path and query, less any ``lang`` parameter: where the language switch
    returns to.

    Why the query: a page such as ``/indicator?plan=…&indicator=…`` shows nothing useful
    without it. Why not ``lang``: a ``?lang=zh`` left in the address would override the
    cookie the switch has just set and undo the switch.
    """
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def render(
    request: Request, name: str, context: dict[str, Any], auth: Auth | None, status: int = 200
) -> HTMLResponse:
    lang = language(request)
    base = {
        "lang": lang,
        "t": lambda key: translate(lang, key),
        "n": lambda count, key: counted(lang, key, count),
        "pick": lambda zh, en: pick(lang, zh, en),
        "auth": auth,
        "nav": NAV,
        "path": request.url.path,
        "here": here_without_lang(request),
        "charts": (node_modules() / "echarts" / "dist" / "echarts.min.js").is_file(),
        "csrf": auth.csrf_token if auth else None,
        "other_lang": "en" if lang == "zh" else "zh",
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", httponly=True, path="/")
    return response


def error_page(
    request: Request, status: int, message_zh: str, message_en: str, problems: list[Problem]
) -> HTMLResponse:
    context = {
        "status": status,
        "message_zh": message_zh,
        "message_en": message_en,
        "problems": problems,
    }
    return render(request, "error.html", context, _quiet_auth(request), status)


def _quiet_auth(request: Request) -> Auth | None:
    """The session of a request that ended in an error, if it has a live one: the error page
    then keeps the navigation bar (a user refused one page goes on to another), else None.

    The page's own check has usually run (kept on ``request.state``); otherwise the cookie is
    checked here, and any failure just means the page is shown without the navigation.
    """
    known = getattr(request.state, "page_auth", None)
    if isinstance(known, Auth):
        return known
    if not request.cookies.get("hw_session") or request.url.path.startswith("/api/"):
        return None
    settings = _settings(request)
    try:
        return authenticate_request(request, settings.db, idle=settings.idle_timeout)
    except HealthwatchError:
        return None


# --- login and language --------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/plans", reason: str = "") -> HTMLResponse:
    token = new_login_csrf()
    lang = language(request)
    message = {"ended": "session_ended", "logout": "logged_out"}.get(reason)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "next": _safe_next(next),
            "notice": translate(lang, message) if message else "",
            "error": None,
        },
        None,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login")
async def login_submit(request: Request) -> Response:
    from healthwatch.web.api import login, set_session_cookie

    form = await request.form()
    lang = language(request)
    target = _safe_next(str(form.get("next", "")))
    error: HealthwatchError | None = None
    if not same_token(str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE)):
        error = csrf_refused()
    else:
        try:
            _, token = login(request, str(form.get("username", "")), str(form.get("password", "")))
        except (AuthenticationError, RateLimited) as exc:
            error = exc
    if error is None:
        response: Response = RedirectResponse(target, status_code=303)
        set_session_cookie(request, response, token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response
    fresh = new_login_csrf()
    status = 429 if isinstance(error, RateLimited) else 403 if "CSRF" in error.message_en else 401
    message = pick(lang, error.message_zh, error.message_en)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": fresh,
            "next": target,
            "notice": "",
            "error": message,
            "username": str(form.get("username", ""))[:64],
        },
        None,
        status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, fresh, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    from healthwatch.services.users import end_session

    auth = page_auth(request)
    form = await request.form()
    check_csrf(request, auth, str(form.get("csrf_token", "")))
    if auth.session_token:
        with session_scope(_settings(request).db) as session:
            end_session(session, auth.session_token, source=f"web {client_address(request)}")
    response = RedirectResponse("/login?reason=logout", status_code=303)
    response.delete_cookie("hw_session", path="/")
    return response


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, next: str = "/plans") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, code, samesite="lax", httponly=True, path="/")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/plans", status_code=303)


# --- pages ---------------------------------------------------------------------------------


@router.get("/plans")
def plans_page(request: Request, plan: str | None = None) -> HTMLResponse:
    from healthwatch.store.plans import list_plans
    from healthwatch.web.views import default_plan, plan_overview, read_scope

    auth = page_auth(request)
    lang = language(request)
    with session_scope(_settings(request).db) as session:
        plans = list_plans(session)
        by_id = {p["id"]: p for p in plans}
        picked = by_id.get(plan or "") or default_plan(plans, auth.actor)
        chosen = picked["id"] if picked else None
        scope = read_scope(auth.actor, str(picked["region"])) if picked else None
        overview = plan_overview(session, chosen, lang) if chosen else None
    status = None
    if overview is not None:  # latest value and status of each indicator (evaluation pages)
        from healthwatch.web.pages_evaluate import status_for_overview
        from healthwatch.web.views import with_status

        status = status_for_overview(request, auth, str(chosen))
        overview = with_status(overview, status)
    chart = overview["by_nature"] if overview else {}
    return render(
        request,
        "plans.html",
        {
            "plans": plans,
            "chosen": chosen,
            "overview": overview,
            "status": status,
            # where the indicator links open: nowhere when the user may read none of the
            # plan's regions, the user's own region when only that part is readable
            "link_query": None
            if scope is None
            else ""
            if picked and scope == picked["region"]
            else f"?region={scope}",
            "page_data": {
                "by_nature": chart,
                "labels": {n: translate(lang, f"nature_{n}") for n in chart},
                "title": translate(lang, "chart_nature"),
            },
        },
        auth,
    )


@router.get("/findings")
def findings_page(request: Request, plan: str | None = None) -> HTMLResponse:
    from healthwatch.store.plans import list_plans
    from healthwatch.web.views import findings

    auth = page_auth(request)
    with session_scope(_settings(request).db) as session:
        plans = list_plans(session)
        ids = [plan] if plan is not None and plan in {p["id"] for p in plans} else None
        rows = findings(session, ids)
    return render(request, "findings.html", {"plans": plans, "chosen": plan, "rows": rows}, auth)


def _regions_above(session: Any, adcode: str) -> list[str]:
    """The regions above ``adcode``, the province first (from the stored parents)."""
    from healthwatch.store.models import Region

    above: list[str] = []
    region = session.get(Region, adcode)
    while region is not None and region.parent and region.parent not in above:
        above.insert(0, region.parent)
        region = session.get(Region, region.parent)
    return above


@router.get("/map")
def map_page(request: Request, region: str | None = None) -> HTMLResponse:
    """The regions map. It opens at the user's own region (a duty officer of Anshan sees
    Anshan's counties, not the province) unless the address names another; the regions above
    the start are passed along so that "up" still leads to the city and the province, whose
    boundaries and populations every reader may see."""
    auth = page_auth(request)
    lang = language(request)
    own = auth.actor.region or "210000"
    code = region if region and region.isdigit() and len(region) == 6 else own
    with session_scope(_settings(request).db) as session:
        above = _regions_above(session, code)
    data: dict[str, Any] = {
        "start": code,
        "above": above,
        "labels": {
            k: translate(lang, k)
            for k in ("population", "map_up", "level_province", "level_city", "level_county")
        },
    }
    from healthwatch.web.pages_evaluate import add_map_choices

    add_map_choices(request, lang, data)  # colouring by an indicator (evaluation pages)
    return render(request, "map.html", {"page_data": data}, auth)


def _with_target_labels(ratios: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """The ratio rows with ``target_label``: comparator and value of the plan's target for
    the row's resource (the rows carry only the printed Chinese text and the kind)."""
    from healthwatch.web.views import ratio_target_text

    targets = {t["code"]: t["target"] for t in ratios["targets"]["resources"]}
    rows = []
    for row in ratios["resources"]:
        target = targets.get(row["code"], {"kind": row["target_kind"], "text_zh": row["target"]})
        rows.append({**row, "target_label": ratio_target_text(target, lang)})
    return rows


@router.get("/access")
def access_page(request: Request) -> HTMLResponse:
    from healthwatch.web.api import get_coverage, get_ratios

    auth = page_auth(request)
    lang = language(request)
    ratios = get_ratios(auth, request, None, None)
    ratios = {**ratios, "resources": _with_target_labels(ratios, lang)}
    coverage = get_coverage(auth, request, False)
    data = {
        "labels": {
            k: translate(lang, k)
            for k in (
                "covered",
                "uncovered",
                "stations",
                "selected_sites",
                "objective",
                "solver_optimal",
                "solver_feasible",
            )
        },
    }
    return render(
        request, "access.html", {"ratios": ratios, "coverage": coverage, "page_data": data}, auth
    )


@router.get("/surveillance")
def surveillance_page(request: Request) -> HTMLResponse:
    from healthwatch.web.views import detection_methods

    auth = page_auth(request)
    lang = language(request)
    keys = ("series", "observed", "expected", "upperbound", "alarm", "alarms")
    data = {"labels": {k: translate(lang, k) for k in keys}}
    return render(
        request, "surveillance.html", {"methods": detection_methods(), "page_data": data}, auth
    )


@router.get("/users")
def users_page(request: Request) -> HTMLResponse:
    auth = page_auth(request)
    notice = request.query_params.get("saved") and translate(language(request), "saved")
    return _users_page(request, auth, notice=notice)


def _users_page(request: Request, auth: Auth, status: int = 200, **extra: Any) -> HTMLResponse:
    """The users page: the list, the add-user form (``entered`` refills it) and the log."""
    from healthwatch.services.users import list_users, security_log, verify_security_log
    from healthwatch.users import Role

    with session_scope(_settings(request).db) as session:
        users = list_users(session, auth.actor)
        log = security_log(session, auth.actor, limit=50)
        chain = verify_security_log(session)
    context = {
        "users": users,
        "log": log,
        "chain": chain,
        "roles": [r.value for r in Role],
        "entered": {},
        **extra,
    }
    return render(request, "users.html", context, auth, status)


def _add_user_refused(posted: PostedForm, status: int, report: dict[str, Any]) -> Response:
    """A refused new user (weak password, unknown region …): the users page again with the
    error in Chinese and English and the entries kept, so the administrator corrects one field
    instead of typing the form again. The password is never sent back."""
    entered = {
        name: posted.text(name, 200).strip()
        for name in ("username", "display_name", "role", "region")
    }
    return _users_page(posted.request, posted.auth, status, report=report, entered=entered)


@router.post("/users")
async def users_add(request: Request) -> Response:
    from healthwatch.web.forms import handle_form

    return await handle_form(request, _add_user, _add_user_refused)


def _add_user(posted: PostedForm) -> str:
    from healthwatch.services.users import add_user

    with session_scope(posted.db) as session:
        add_user(
            session,
            posted.actor,
            posted.text("username").strip(),
            posted.text("password"),
            posted.text("role"),
            region=posted.text("region").strip() or None,
            display_name=posted.text("display_name").strip(),
            source=f"web {client_address(posted.request)}",
        )
    return "/users?saved=1"


@router.post("/users/{username}/{action}")
async def users_toggle(username: str, action: str, request: Request) -> Response:
    from healthwatch.services.users import set_disabled
    from healthwatch.web.forms import handle_form

    def toggle(posted: PostedForm) -> str | Response:
        if action not in ("disable", "enable"):
            return error_page(request, 404, "没有这个操作。", "No such action.", [])
        with session_scope(posted.db) as session:
            set_disabled(
                session,
                posted.actor,
                username,
                action == "disable",
                source=f"web {client_address(request)}",
            )
        return "/users?saved=1"

    return await handle_form(request, toggle)


__all__ = ["TEXTS", "error_page", "install", "router"]
