"""The FastAPI application: REST API under ``/api/v1``, the pages, static files, error handling.

``create_app(db)`` builds one application for one database. The API and the pages call the same
service and store functions as the CLI; this module only wires them together, turns
:class:`~healthwatch.errors.HealthwatchError` into JSON errors with a code and messages in both
languages, and adds the security headers. Apache ECharts and Swagger UI are served from the
``node_modules`` folder that ``scripts/setup-web`` fills with ``npm ci`` (never from a CDN).
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from healthwatch.errors import HealthwatchError, InputError, NotFoundError, PermissionDeniedError
from healthwatch.users.passwords import AuthenticationError
from healthwatch.web.routing import include
from healthwatch.web.security import RateLimited, RateLimiter

log = logging.getLogger("healthwatch.web")

WEB_DIR = Path(__file__).parent
NODE_MODULES_ENV = "HEALTHWATCH_NODE_MODULES"
API_PREFIX = "/api/v1"

#: HTTP status and stable error code for each library error class (most specific first).
ERROR_STATUS: list[tuple[type[HealthwatchError], int, str]] = [
    (InputError, 422, "invalid_input"),
    (NotFoundError, 404, "not_found"),
    (AuthenticationError, 401, "not_authenticated"),
    (PermissionDeniedError, 403, "permission_denied"),
    (RateLimited, 429, "rate_limited"),
    (HealthwatchError, 400, "refused"),
]


def node_modules() -> Path:
    """Where ``npm ci`` put the browser libraries (``$HEALTHWATCH_NODE_MODULES`` overrides)."""
    override = os.environ.get(NODE_MODULES_ENV)
    return Path(override) if override else WEB_DIR.parents[1] / "node_modules"


@dataclass
class Settings:
    """Per-application settings (the defaults are the 等保 level-3 values)."""

    db: str | None = None
    secure_cookies: bool | None = None  # None: Secure exactly when the request came over HTTPS
    idle_timeout: timedelta = timedelta(minutes=30)
    login_limit: int = 10  # login attempts per address ...
    login_window: float = 60.0  # ... per this many seconds
    cache_seconds: float = 60.0  # how long results not keyed on the data version are reused
    cache_entries: int = 256  # at most this many of them
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    #: wall-clock moments (epoch seconds) after which some entries are stale (see deadline)
    deadlines: dict[str, float] = field(default_factory=dict)

    lock: Any = field(default_factory=threading.RLock)  # re-entrant: answers cache results

    def _fresh(self, key: str, max_age: float | None, versioned: bool) -> tuple[float, Any] | None:
        """The entry of ``key`` if younger than its life: :attr:`cache_seconds`, none for a
        ``versioned`` key (it names the data version, so it is never stale), and at most
        ``max_age`` seconds when given (values that depend on the clock)."""
        hit = self.cache.get(key)
        if hit is None:
            return None
        limit = math.inf if versioned else self.cache_seconds
        if max_age is not None:
            limit = min(limit, max_age)
        deadline = self.deadlines.get(key)
        if deadline is not None and time.time() >= deadline:
            return None
        return hit if time.monotonic() - hit[0] < limit else None

    def data_version(self) -> int:
        """The newest audit id of this app's database (one index lookup): it grows with every
        audited change, and the versioned cache keys name it."""
        from healthwatch.store.audit import latest_change
        from healthwatch.store.db import read_connection

        with read_connection(self.db) as conn:
            return latest_change(conn)

    def deadline(self, key: str, moment: float | None) -> None:
        """Make the entry of ``key`` stale at ``moment`` (epoch seconds; None: no deadline).

        For answers that change with the clock at a moment known when they are computed (an
        alert turns overdue at its deadline), so that they are kept exactly as long as true.
        """
        if moment is None:
            self.deadlines.pop(key, None)
        else:
            self.deadlines[key] = moment

    def peek(self, key: str, max_age: float | None = None, versioned: bool = False) -> Any:
        """The cached value of ``key`` if it is still fresh, else None (never computes)."""
        hit = self._fresh(key, max_age, versioned)
        return None if hit is None else hit[1]

    def cached(
        self,
        key: str,
        compute: Callable[[], Any],
        max_age: float | None = None,
        versioned: bool = False,
    ) -> Any:
        """``compute()``, reused while fresh (see :meth:`_fresh`).

        ``versioned`` keys carry the data version (the newest audit id) and stay until the
        cache is full: expiring them by time only made a busy page rebuild a second-long
        answer every minute although nothing had changed. One computation at a time:
        requests arriving meanwhile wait for its result instead of each starting the same
        model run. An exception is not kept: the next request computes again.
        """
        hit = self._fresh(key, max_age, versioned)
        if hit is not None:
            return hit[1]
        with self.lock:
            hit = self._fresh(key, max_age, versioned)
            if hit is not None:
                return hit[1]
            value = compute()
            now = time.monotonic()
            self.cache[key] = (now, value)
            while len(self.cache) > self.cache_entries:  # bounded: parameters come from clients
                oldest = min(self.cache, key=lambda k: self.cache[k][0])
                del self.cache[oldest]
                self.deadlines.pop(oldest, None)
        return value


def strict(value: Any) -> Any:
    """``value`` with NaN and infinities as None: strict JSON that every client can parse."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    return value


def json_bytes(content: Any) -> bytes:
    """Strict, compact UTF-8 JSON: Chinese kept readable, missing numbers null, never NaN."""
    return json.dumps(
        strict(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")


class StrictJSONResponse(JSONResponse):
    """JSON answers with Chinese kept readable and missing numbers as null, never NaN."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


def error_body(exc: HealthwatchError) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body for a library error."""
    for cls, status, code in ERROR_STATUS:
        if isinstance(exc, cls):
            return status, {"code": code, **exc.to_dict()}
    raise AssertionError("unreachable")  # pragma: no cover


#: Where FastAPI says a value came from; the API names a field without it ("date_from").
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def _field_name(loc: Sequence[Any]) -> str | None:
    """``("body", "items", 0, "count")`` -> ``items[0].count``; None for the whole body.

    Why: the API's own errors name fields as a user wrote them; FastAPI's ``body.`` /
    ``query.`` prefix is noise to a caller who sent a query string or a JSON object.
    """
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or None


def _expected(ctx: dict[str, Any]) -> str:
    return str(ctx.get("expected", "")).replace("'", "")


#: Chinese wording per pydantic error type (``{f}`` the field, ``{ctx keys}`` the limits).
_ZH_BY_TYPE: dict[str, str] = {
    "missing": "缺少必填参数 {f}",
    "extra_forbidden": "不接受参数 {f}",
    "string_too_short": "参数 {f} 过短：至少 {min_length} 个字符",
    "string_too_long": "参数 {f} 过长：最多 {max_length} 个字符",
    "too_short": "参数 {f} 的项数过少：至少 {min_length} 项",
    "too_long": "参数 {f} 的项数过多：最多 {max_length} 项",
    "string_pattern_mismatch": "参数 {f} 格式不符：须匹配 {pattern}",
    "greater_than": "参数 {f} 须大于 {gt}",
    "greater_than_equal": "参数 {f} 须大于或等于 {ge}",
    "less_than": "参数 {f} 须小于 {lt}",
    "less_than_equal": "参数 {f} 须小于或等于 {le}",
    "enum": "参数 {f} 的取值无效，可选：{expected}",
    "literal_error": "参数 {f} 的取值无效，可选：{expected}",
    "int_parsing": "参数 {f} 须为整数",
    "int_type": "参数 {f} 须为整数",
    "int_from_float": "参数 {f} 须为整数（不能有小数）",
    "float_parsing": "参数 {f} 须为数字",
    "float_type": "参数 {f} 须为数字",
    "finite_number": "参数 {f} 须为有限的数字",
    "bool_parsing": "参数 {f} 须为布尔值（true 或 false）",
    "bool_type": "参数 {f} 须为布尔值（true 或 false）",
    "string_type": "参数 {f} 须为文本",
    "date_parsing": "参数 {f} 须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "参数 {f} 须为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "参数 {f} 须为日期（YYYY-MM-DD），不能带时刻",
    "date_type": "参数 {f} 须为日期（YYYY-MM-DD）",
    "datetime_parsing": "参数 {f} 须为时刻（ISO 8601，例如 2026-01-31T08:00:00+08:00）",
    "datetime_from_date_parsing": "参数 {f} 须为时刻（ISO 8601，例如 2026-01-31T08:00:00+08:00）",
    "datetime_type": "参数 {f} 须为时刻（ISO 8601）",
    "list_type": "参数 {f} 须为列表（JSON 数组）",
    "dict_type": "参数 {f} 须为对象（JSON 对象）",
    "model_type": "参数 {f} 须为对象（JSON 对象）",
    "model_attributes_type": "参数 {f} 须为对象（JSON 对象）",
    "value_error": "参数 {f} 无效：{error}",
}


def _problem(err: Mapping[str, Any]) -> dict[str, Any]:
    """One pydantic error as a bilingual problem (see :data:`_ZH_BY_TYPE`)."""
    kind = str(err.get("type", ""))
    loc = tuple(err.get("loc", ()))
    ctx = dict(err.get("ctx") or {})
    msg = str(err.get("msg", "invalid"))
    if kind == "json_invalid":
        # FastAPI puts the 0-based character offset where a field name would be: ("body", 83);
        # a reader counts from 1
        pos = loc[1] + 1 if len(loc) > 1 and isinstance(loc[1], int) else None
        detail = str(ctx.get("error", "")).strip()
        at_zh = f"第 {pos} 个字符处" if pos is not None else ""
        at_en = f" at character {pos}" if pos is not None else ""
        return {
            "reason_en": f"The request body is not valid JSON{at_en}"
            + (f" ({detail})" if detail else "")
            + ".",
            "reason_zh": f"请求正文不是有效的 JSON：{at_zh}无法解析。",
            "file": None,
            "line": None,
            "field": "body",
        }
    name = _field_name(loc)
    shown = name or "请求正文"
    if "expected" in ctx:
        ctx["expected"] = _expected(ctx)
    template = _ZH_BY_TYPE.get(kind)
    if template is None:
        zh = f"参数 {shown} 的取值无效"
    else:
        if kind == "value_error":
            ctx["error"] = str(ctx.get("error", msg)).removeprefix("Value error, ")
        try:
            zh = template.format(f=shown, **ctx)
        except (KeyError, IndexError, ValueError):
            zh = f"参数 {shown} 的取值无效"
    return {
        "reason_en": f"Parameter {name}: {msg}" if name else f"Request body: {msg}",
        "reason_zh": zh,
        "file": None,
        "line": None,
        "field": name,
    }


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    """FastAPI's validation errors in the API's error format, each reason in both languages."""
    return {
        "code": "invalid_request",
        "error": "InputError",
        "message_zh": "请求参数有误，未作任何修改。",
        "message_en": "The request is invalid; nothing was changed.",
        "problems": [_problem(err) for err in exc.errors()],
    }


_HTTP_MESSAGES = {
    400: (
        "bad_request",
        "请求格式错误（例如 JSON 无法解析），未作任何修改。",
        "Malformed request (for example the JSON body cannot be parsed); nothing was changed.",
    ),
    404: ("not_found", "没有这个地址。", "No such address."),
    405: ("method_not_allowed", "该地址不支持此请求方法。", "Method not allowed here."),
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HealthwatchError)
    async def library_error(request: Request, exc: HealthwatchError) -> Response:
        status, body = error_body(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        if not _wants_json(request):
            from healthwatch.web.pages import error_page

            return error_page(request, status, exc.message_zh, exc.message_en, exc.problems)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse(_validation_body(exc), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, zh, en = _HTTP_MESSAGES.get(
            exc.status_code, ("http_error", "请求无法处理。", str(exc.detail))
        )
        if not _wants_json(request):
            from healthwatch.web.pages import error_page

            return error_page(request, exc.status_code, zh, en, [])
        body = {
            "code": code,
            "error": "HTTPError",
            "message_zh": zh,
            "message_en": en,
            "problems": [],
        }
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = {
            "code": "internal_error",
            "error": "InternalError",
            "message_zh": "服务器内部错误，已记录；请稍后重试或联系管理员。",
            "message_en": "Internal server error (logged); try again later or tell the "
            "administrator.",
            "problems": [],
        }
        return JSONResponse(body, status_code=500)


_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


_CSP_RAW = _CSP.encode()
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds the browser-hardening headers to every answer (a plain ASGI middleware).

    Why not ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs each request
    through an extra task and stream, about a third of the cost of a cached dashboard answer.
    Headers the handler set itself are kept.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _hardened(path, message.get("headers", ()))}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _hardened(path: str, headers: Any) -> list[tuple[bytes, bytes]]:
    """The raw ASGI ``headers`` with the security headers added where not set by the handler
    (names in ASGI are lower-case bytes; compared as such, without a Headers object)."""
    raw = list(headers)
    present = {name.lower() for name, _ in raw}
    raw += [(name, value) for name, value in _SECURITY_HEADERS if name not in present]
    if not path.startswith("/api/docs") and b"content-security-policy" not in present:
        raw.append((b"content-security-policy", _CSP_RAW))
    if b"cache-control" not in present:
        kind = next((v for n, v in raw if n.lower() == b"content-type"), b"")
        if path.startswith("/api/") or kind.startswith(b"text/html"):
            raw.append((b"cache-control", b"no-store"))
    return raw


def _install_security_headers(app: FastAPI) -> None:
    app.add_middleware(SecurityHeaders)


def _mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    modules = node_modules()
    for package, folder in (("echarts", "dist"), ("swagger-ui-dist", "")):
        path = modules / package / folder
        if path.is_dir():
            app.mount(f"/vendor/{package}", StaticFiles(directory=path), name=package)


def _warm(settings: Settings) -> None:
    """Compute the slow, cacheable answers once at start-up (boundaries, access models)."""
    from healthwatch.regions.hierarchy import LIAONING, descendants
    from healthwatch.services.access import ems_coverage, ratios
    from healthwatch.web.maps import simplified_boundary

    try:
        version = settings.data_version()  # the keys the access endpoints will look up
        levels = ("province", "city")
        settings.cached(
            f"ratios:{version}:None:{levels}",
            lambda: ratios(levels=levels, db=settings.db),
            versioned=True,
        )
        settings.cached(
            f"coverage:{version}",
            lambda: ems_coverage(with_geojson=True, db=settings.db),
            versioned=True,
        )
        for region in descendants(LIAONING):
            simplified_boundary(region.adcode)
        from healthwatch.web.api_evaluate import warm_plan_evaluations

        warm_plan_evaluations(settings)  # the plan overview's statuses
    except Exception:  # a failed warm-up only means the first request computes it
        log.exception("warm-up failed")
    # What is alive now (modules, models, the warmed answers) lives as long as the process:
    # take it out of the garbage collector's view, so that a full collection during serving
    # does not walk the 340,000 start-up objects (0.2 s on the demo database, a pause every
    # request in flight waits for; the p95 of benchmarks/web.py showed it).
    gc.collect()
    gc.freeze()


def create_app(
    db: str | None = None,
    *,
    warm: bool = False,
    secure_cookies: bool | None = None,
    idle_timeout: timedelta = timedelta(minutes=30),
    login_limit: int = 10,
    login_window: float = 60.0,
) -> FastAPI:
    """The web application for database ``db`` (default ``$HEALTHWATCH_DB`` / the SQLite file).

    ``warm`` computes the region boundaries and access models in a background thread at
    start-up, so the first visitor of the map and access pages does not wait for them.
    """
    from healthwatch import __version__
    from healthwatch.store.db import resolve_url
    from healthwatch.web import api, pages

    settings = Settings(
        db=resolve_url(db),
        secure_cookies=secure_cookies,
        idle_timeout=idle_timeout,
        login_limit=login_limit,
        login_window=login_window,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=_warm, args=(settings,), daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="healthwatch API",
        version=__version__,
        description=(
            "健康规划监测平台接口 / healthwatch REST API. Log in with `POST /api/v1/session` "
            "(cookie + CSRF token) or send `Authorization: Bearer <token>` (issue one with "
            "`healthwatch users token issue USER`). Errors are JSON with `code`, `message_zh`, "
            "`message_en` and `problems`."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        default_response_class=StrictJSONResponse,
    )
    app.state.settings = settings
    app.state.login_limiter = RateLimiter(login_limit, login_window)
    _install_error_handlers(app)
    _install_security_headers(app)
    _mount_static(app)
    include(app, api.router, API_PREFIX)
    include(app, _evaluation_router(), API_PREFIX)
    include(app, pages.router)
    from healthwatch.web import api_data, pages_data  # indicator data (issue 12)

    include(app, api_data.router, API_PREFIX)
    include(app, pages_data.router)
    include(app, _evaluation_router(pages=True))
    pages.install(app)
    from healthwatch.web import api_warning, pages_warning

    include(app, api_warning.router, API_PREFIX)
    include(app, pages_warning.router)
    api.document_authentication(app)

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if not (node_modules() / "swagger-ui-dist").is_dir():
            return HTMLResponse(
                "<p>Swagger UI 未安装，请运行 scripts/setup-web / Swagger UI is not installed: run "
                f'scripts/setup-web. <a href="{API_PREFIX}/openapi.json">openapi.json</a></p>'
            )
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="healthwatch API",
            swagger_js_url="/vendor/swagger-ui-dist/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui-dist/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    return app


def _evaluation_router(pages: bool = False) -> Any:
    """The evaluation endpoints (``web/api_evaluate.py``) or pages (``web/pages_evaluate.py``),
    imported when the app is built."""
    if pages:
        from healthwatch.web.pages_evaluate import router as page_router

        return page_router
    from healthwatch.web.api_evaluate import router

    return router
