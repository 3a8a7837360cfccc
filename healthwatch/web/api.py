"""The REST API under ``/api/v1``: thin handlers over the same functions the CLI calls.

Every handler but ``/health`` and login needs an authenticated actor (session cookie + CSRF
token for unsafe methods, or a bearer API token); every write passes the actor to a service
function that calls :func:`~healthwatch.users.require`, so the server decides by role and
region whatever the client shows or hides.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from healthwatch.errors import HealthwatchError, InputError, Problem
from healthwatch.store.db import session_scope
from healthwatch.users import require
from healthwatch.web import views
from healthwatch.web.app import Settings, json_bytes
from healthwatch.web.routing import GatedRouter, included
from healthwatch.web.security import (
    SESSION_COOKIE,
    Auth,
    authenticate_request_async,
    check_csrf,
    client_address,
    is_https,
)


class ProblemModel(BaseModel):
    reason_en: str
    reason_zh: str
    file: str | None = None
    line: int | None = None
    field: str | None = None


class ErrorModel(BaseModel):
    """Every error answer: a stable code, messages in both languages, and each problem."""

    code: str = Field(examples=["not_found"])
    error: str
    message_zh: str
    message_en: str
    problems: list[ProblemModel] = []


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorModel, "description": text}
    for status, text in (
        (400, "请求格式错误 / malformed request (e.g. unparsable JSON)"),
        (401, "未登录或会话已结束 / not authenticated"),
        (403, "无权限或 CSRF 令牌错误 / permission denied or CSRF token wrong"),
        (404, "不存在 / not found"),
        (422, "输入有误 / invalid input"),
    )
}

#: The two ways a caller proves who it is, as the OpenAPI document states them (see
#: :func:`document_authentication`; :func:`api_auth` reads the header and the cookie itself).
SECURITY_SCHEMES = {
    "HTTPBearer": {
        "type": "http",
        "description": "接口令牌 / API token (hw_...)",
        "scheme": "bearer",
    },
    "APIKeyCookie": {
        "type": "apiKey",
        "description": "登录会话 / session",
        "in": "cookie",
        "name": SESSION_COOKIE,
    },
}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def api_auth(request: Request) -> Auth:
    """The caller (bearer token or session); unsafe session requests need the CSRF header.

    Async: the one indexed read runs on the event loop instead of a thread-pool hop per request
    (see :func:`~healthwatch.web.security.authenticate_request_async`). It takes no
    sub-dependencies (FastAPI's ``HTTPBearer`` and ``APIKeyCookie`` would state the schemes in
    the OpenAPI document, at 0.1 ms of dependency solving per request each): the document gets
    them from :func:`document_authentication`.
    """
    settings = settings_of(request)
    auth = await authenticate_request_async(request, settings.db, idle=settings.idle_timeout)
    check_csrf(request, auth)
    return auth


def needs_auth(dependant: Any) -> bool:
    """Whether a route (its FastAPI ``dependant``) depends on :func:`api_auth`."""
    return any(d.call is api_auth or needs_auth(d) for d in dependant.dependencies)


def document_authentication(app: Any) -> None:
    """State :data:`SECURITY_SCHEMES` in the app's OpenAPI document, and on every operation of
    the included routers (:func:`~healthwatch.web.routing.included`) that authenticates with
    :func:`api_auth`, exactly as FastAPI's security dependencies would."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema: dict[str, Any] = generate()
        components = schema.setdefault("components", {})
        if "securitySchemes" not in components:  # once per generated document
            components["securitySchemes"] = SECURITY_SCHEMES
            required: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
            for router, prefix in included(app):
                for route in router.routes:
                    if not isinstance(route, APIRoute) or not needs_auth(route.dependant):
                        continue
                    for method in route.methods or ():
                        operation = schema["paths"].get(prefix + route.path, {}).get(method.lower())
                        if operation is not None:
                            operation["security"] = required
        return schema

    app.openapi = openapi


AuthDep = Annotated[Auth, Depends(api_auth)]
router = GatedRouter(responses=_ERRORS)


def _db(request: Request) -> str | None:
    return settings_of(request).db


def _source(request: Request) -> str:
    return f"web {client_address(request)}"


#: Answers at least this long are also kept gzip-compressed (browsers accept gzip).
GZIP_FROM = 1024


def _packed(body: bytes) -> tuple[bytes, bytes | None]:
    """An answer and its gzip form, made once when the answer is cached, not per request."""
    return body, gzip.compress(body, 6) if len(body) >= GZIP_FROM else None


def _json(request: Request, packed: tuple[bytes, bytes | None]) -> Response:
    """The cached answer, gzip-compressed when the client accepts it."""
    body, compressed = packed
    headers = {"Vary": "Accept-Encoding"}
    if compressed is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = compressed
    return Response(body, media_type="application/json", headers=headers)


def _encode_for(serialised: bool) -> Callable[[Any], tuple[bytes, bytes | None]]:
    if serialised:
        return lambda text: _packed(text.encode("utf-8"))
    return lambda content: _packed(json_bytes(content))


def data_version(request: Request) -> int:
    """The newest audit id, which grows with every audited change (imports, approvals,
    plans, facilities …): the key under which cached answers stay valid.

    The authentication notes it in the same connection (``request.state.data_version``, see
    ``authenticate_request_async``); otherwise it is read here, one index lookup.
    """
    version = getattr(request.state, "data_version", None)
    return int(version) if version is not None else settings_of(request).data_version()


async def cached_answer(
    request: Request,
    key: str,
    compute: Callable[[], Any],
    *,
    serialised: bool = False,
    max_age: float | None = None,
    stale_at: Callable[[Any], float | None] | None = None,
) -> Response:
    """The serialised answer of a dashboard read, rebuilt only when the data changed.

    Why: plans, regions, populations, facilities, indicator data (imports, approvals) and
    alerts change rarely compared with how often they are read, and every change to them is
    audited; so the answer is kept as JSON bytes under the newest audit id (one index lookup
    per request, on the event loop) and rebuilt in the thread pool only after a change, after
    ``max_age`` seconds, or at the moment ``stale_at(answer)`` names (epoch seconds; answers
    that change with the clock at a moment they know). ``compute`` opens its own
    session; with ``serialised`` it returns JSON text.

    ``key`` must name everything else the answer depends on: the query parameters, the
    language, and :func:`scope_key` for answers restricted to what the reader may see.
    Permission checks the answer does not show must run before this call, on every request.
    """
    settings = settings_of(request)
    full_key = f"json:{data_version(request)}:{key}"
    body = settings.peek(full_key, max_age, versioned=True)
    if body is None:
        encode = _encode_for(serialised)

        def build() -> tuple[bytes, bytes | None]:
            content = compute()
            if stale_at is not None:
                settings.deadline(full_key, stale_at(content))
            return encode(content)

        body = await run_in_threadpool(settings.cached, full_key, build, max_age, True)
    return _json(request, body)


def scope_key(actor: Any) -> str:
    """The part of a cache key that says whose view an answer is: role and region scope.

    Why these two and not the user: the services decide what an actor reads from its region
    (inside it everything, drafts included; outside only approved figures; alerts only inside
    it) and what it may do from its role, never from its name; so readers with the same role
    and region share an answer, and no answer reaches a reader of another scope. A refusal is
    an exception and is never cached.
    """
    return f"{actor.role.value}@{actor.region or '*'}"


def _reading(request: Request, read: Callable[[Any], Any]) -> Callable[[], Any]:
    """``read(session)`` in a read session of this app's database, as a thunk."""
    db = _db(request)

    def run() -> Any:
        with session_scope(db) as session:
            return read(session)

    return run


# --- session -------------------------------------------------------------------------------


class LoginBody(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class UserModel(BaseModel):
    username: str
    display_name: str
    role: str
    role_zh: str
    region: str | None
    disabled: bool
    locked_until: str | None
    failed_logins: int
    password_changed_at: str
    created_at: str


class MeModel(BaseModel):
    username: str
    role: str
    region: str | None
    via: str = Field(description="session or token")
    csrf_token: str | None = Field(description="send as X-CSRF-Token on unsafe requests")


class LoginAnswer(BaseModel):
    user: MeModel
    idle_timeout_seconds: int


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """``hw_session``: HttpOnly, SameSite=Lax, Secure over HTTPS (or when configured)."""
    settings = settings_of(request)
    secure = settings.secure_cookies if settings.secure_cookies is not None else is_https(request)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/"
    )


def login(request: Request, username: str, password: str) -> tuple[Auth, str]:
    """Rate limit, check the password (lockout, security log), start a session."""
    from healthwatch.services.users import authenticate, start_session

    request.app.state.login_limiter.hit(client_address(request))
    db = _db(request)
    actor = authenticate(db, username, password, source=_source(request))
    with session_scope(db) as session:
        token = start_session(session, actor, source=_source(request))
    return Auth(actor, "session", token), token


def _me(auth: Auth) -> MeModel:
    return MeModel(
        username=auth.actor.username,
        role=auth.actor.role.value,
        region=auth.actor.region,
        via=auth.via,
        csrf_token=auth.csrf_token,
    )


@router.post(
    "/session",
    response_model=LoginAnswer,
    tags=["session"],
    responses={429: {"model": ErrorModel, "description": "登录过于频繁 / too many attempts"}},
)
def post_session(body: LoginBody, request: Request, response: Response) -> LoginAnswer:
    """登录：设置会话 Cookie，返回 CSRF 令牌 / Log in: sets the cookie, returns the CSRF token."""
    auth, token = login(request, body.username, body.password)
    set_session_cookie(request, response, token)
    seconds = int(settings_of(request).idle_timeout.total_seconds())
    return LoginAnswer(user=_me(auth), idle_timeout_seconds=seconds)


@router.delete("/session", status_code=204, tags=["session"])
def delete_session(auth: AuthDep, request: Request, response: Response) -> Response:
    """退出登录 / Log out (ends the session at once)."""
    from healthwatch.services.users import end_session

    if auth.session_token:
        with session_scope(_db(request)) as session:
            end_session(session, auth.session_token, source=_source(request))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeModel, tags=["session"])
async def get_me(auth: AuthDep) -> MeModel:
    """当前用户 / Who am I (and the CSRF token of this session)."""
    return _me(auth)


class PasswordBody(BaseModel):
    old_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


@router.post("/me/password", status_code=204, tags=["session"])
def post_my_password(body: PasswordBody, auth: AuthDep, request: Request) -> Response:
    """修改本人密码 / Change my password (the current one is required)."""
    from healthwatch.services.users import change_password

    with session_scope(_db(request)) as session:
        change_password(
            session,
            auth.actor,
            auth.actor.username,
            body.new_password,
            old_password=body.old_password,
            source=_source(request),
        )
    return Response(status_code=204)


@router.get("/health", tags=["session"])
async def health() -> dict[str, str]:
    """服务状态（无需登录）/ Liveness check, no login needed."""
    from healthwatch import __version__

    return {"status": "ok", "version": __version__}


# --- plans and findings --------------------------------------------------------------------


@router.get("/plans", tags=["plans"], response_model=list[dict[str, Any]])
async def get_plans(auth: AuthDep, request: Request) -> Response:
    """规划列表 / The stored plans."""
    from healthwatch.store.plans import list_plans

    require(auth.actor, "read")
    return await cached_answer(request, "plans", _reading(request, list_plans))


@router.get("/plans/{plan_id}", tags=["plans"], response_model=dict[str, Any])
async def get_plan_document(plan_id: str, auth: AuthDep, request: Request) -> Response:
    """规划全文（当前版本）/ The plan document (current version)."""
    from healthwatch.store.plans import get_plan

    require(auth.actor, "read")
    read = _reading(request, lambda session: get_plan(session, plan_id))
    return await cached_answer(request, f"plan:{plan_id}", read)


@router.get("/plans/{plan_id}/overview", tags=["plans"], response_model=dict[str, Any])
async def get_plan_overview(
    plan_id: str, auth: AuthDep, request: Request, lang: str = Query("zh", pattern="^(zh|en)$")
) -> Response:
    """指标总览：约束性在前，含基期值与目标 / Indicators, binding first, baseline and target."""
    require(auth.actor, "read")
    read = _reading(request, lambda session: views.plan_overview(session, plan_id, lang))
    return await cached_answer(request, f"overview:{plan_id}:{lang}", read)


@router.get("/findings", tags=["plans"], response_model=list[dict[str, Any]])
async def get_findings(
    auth: AuthDep, request: Request, plan: Annotated[list[str] | None, Query()] = None
) -> Response:
    """一致性检查结果 / Consistency findings of the stored plans (or the given ones)."""
    require(auth.actor, "read")
    read = _reading(request, lambda session: views.findings(session, plan))
    return await cached_answer(request, f"findings:{sorted(set(plan or []))}", read)


# --- regions -------------------------------------------------------------------------------


@router.get("/regions", tags=["regions"], response_model=list[dict[str, Any]])
async def get_regions(
    auth: AuthDep, request: Request, parent: str | None = Query(None, pattern=r"^\d{6}$")
) -> Response:
    """行政区划（可按上级筛选）/ Stored regions, optionally the children of ``parent``."""
    from healthwatch.store.regions import list_regions

    require(auth.actor, "read")
    read = _reading(request, lambda session: list_regions(session, parent=parent))
    return await cached_answer(request, f"regions:{parent}", read)


@router.get(
    "/regions/{adcode}/map",
    tags=["regions"],
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "GeoJSON FeatureCollection",
        }
    },
)
async def get_region_map(
    auth: AuthDep, request: Request, adcode: str = views.ADCODE_PATH
) -> Response:
    """下级区划边界 GeoJSON（WGS84，含人口）/ The children's boundaries (WGS84 GeoJSON)."""
    require(auth.actor, "read")
    read = _reading(request, lambda session: views.region_map(session, adcode))
    return await cached_answer(request, f"map:{adcode}", read, serialised=True)


# --- access --------------------------------------------------------------------------------


def get_ratios(
    auth: Auth, request: Request, year: int | None = None, level: list[str] | None = None
) -> dict[str, Any]:
    """Resource ratios and gaps (the access page calls this too), once per data version."""
    from healthwatch.services.access import ratios

    require(auth.actor, "read")
    levels = _levels(level)
    settings = settings_of(request)
    run = settings.cached(
        f"ratios:{data_version(request)}:{year}:{levels}",
        lambda: ratios(year=year, levels=levels, db=settings.db),
        versioned=True,
    )
    return {**run.to_dict(), "synthetic": run.synthetic}


def _levels(level: list[str] | None) -> tuple[str, ...]:
    from healthwatch.services.access import LEVELS

    levels = tuple(level or ("province", "city"))
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise InputError(
            [Problem(f"Unknown level {b!r}.", f"未知层级 {b!r}。", field="level") for b in bad]
        )
    return levels


def get_coverage(auth: Auth, request: Request, geojson: bool = False) -> dict[str, Any]:
    """EMS coverage (the access page calls this too), once per data version."""
    from healthwatch.services.access import ems_coverage

    require(auth.actor, "read")
    settings = settings_of(request)
    run = settings.cached(
        f"coverage:{data_version(request)}",
        lambda: ems_coverage(with_geojson=True, db=settings.db),
        versioned=True,
    )
    return {**run.summary, "geojson": run.geojson if geojson else None}


@router.get("/access/ratios", tags=["access"], response_model=dict[str, Any])
async def get_ratios_answer(
    auth: AuthDep,
    request: Request,
    year: int | None = Query(None, ge=1949, le=2100),
    level: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """每千人口资源与规划目标差距 / Resource ratios and gaps against the plan's targets."""
    require(auth.actor, "read")
    levels = _levels(level)
    key = f"ratios:{year}:{levels}"
    return await cached_answer(request, key, lambda: get_ratios(auth, request, year, list(levels)))


@router.get("/access/coverage", tags=["access"], response_model=dict[str, Any])
async def get_coverage_answer(
    auth: AuthDep, request: Request, geojson: bool = Query(False)
) -> Response:
    """急救站服务半径覆盖 / EMS station coverage of the population (with points as GeoJSON)."""
    require(auth.actor, "read")
    key = f"coverage:{geojson}"
    return await cached_answer(request, key, lambda: get_coverage(auth, request, geojson))


@router.get("/access/siting", tags=["access"])
def get_siting(
    auth: AuthDep,
    request: Request,
    model: str = Query("mclp", pattern="^(lscp|mclp|mexclp)$"),
    p: int = Query(5, ge=1, le=50),
) -> dict[str, Any]:
    """急救站选址（LSCP / MCLP / MEXCLP）/ EMS siting with a location model."""
    from healthwatch.services.access import site_stations

    require(auth.actor, "read")
    settings = settings_of(request)
    run = settings.cached(
        f"siting:{data_version(request)}:{model}:{p}",
        lambda: site_stations(model, p=p, time_limit=60.0),
        versioned=True,
    )
    new = [
        {k: row[k] for k in ("id", "lon", "lat", "ambulances")}
        for row in run.full["selected"]
        if not row.get("existing")
    ]
    return {**run.stable, "new_sites": new, "synthetic": run.synthetic, "geojson": run.geojson}


# --- surveillance --------------------------------------------------------------------------

MAX_UPLOAD = 20 * 1024 * 1024


@router.get("/surveillance/methods", tags=["surveillance"])
def get_methods(auth: AuthDep) -> list[dict[str, Any]]:
    """探测方法及默认参数 / Detection methods and their default parameters."""
    require(auth.actor, "read")
    return views.detection_methods()


@router.post("/surveillance/detect", tags=["surveillance"])
def post_detect(
    auth: AuthDep,
    file: Annotated[UploadFile, File(description="长表 CSV series,t,count[,date][,population]")],
    method: Annotated[str, Form()],
    freq: Annotated[int, Form()] = 52,
    params: Annotated[str, Form(description='JSON object, e.g. {"b": 3}')] = "{}",
) -> dict[str, Any]:
    """对上传文件运行探测方法 / Run a detection method on an uploaded counts file."""
    from healthwatch.data.counts import read_counts

    require(auth.actor, "read")
    control = views.detection_params(method, params, freq)
    name = PurePath(file.filename or "upload.csv").name or "upload.csv"
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InputError([Problem("The file is larger than 20 MB.", "文件超过 20 MB。", file=name)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            counts = read_counts(path, freq)
        except HealthwatchError as exc:
            # the user must see their own file name, never the server's temporary path
            exc.problems = [
                replace(p, file=p.file.replace(str(path), name)) if p.file else p
                for p in exc.problems
            ]
            raise
    return views.run_detection(counts, method, control)


# --- users, tokens, security log -----------------------------------------------------------


class NewUser(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: str = Field(max_length=20)
    region: str | None = Field(None, pattern=r"^\d{6}$")
    display_name: str = Field("", max_length=200)


class UserChange(BaseModel):
    """Fields to change; ``region`` null removes the region limit (only when given)."""

    role: str | None = Field(None, max_length=20)
    region: str | None = Field(None, pattern=r"^\d{6}$")
    disabled: bool | None = None


class NewToken(BaseModel):
    name: str = Field("", max_length=200)
    expires_days: int | None = Field(None, ge=1, le=3650)


class TokenModel(BaseModel):
    id: int
    username: str
    name: str
    hint: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class IssuedToken(TokenModel):
    token: str = Field(description="shown once; only its hash is stored")


@router.get("/users", response_model=list[UserModel], tags=["users"])
def get_users(auth: AuthDep, request: Request) -> list[dict[str, Any]]:
    """用户列表（管理员）/ Users the caller manages."""
    from healthwatch.services.users import list_users

    with session_scope(_db(request)) as session:
        return list_users(session, auth.actor)


@router.post("/users", response_model=UserModel, status_code=201, tags=["users"])
def post_user(body: NewUser, auth: AuthDep, request: Request) -> dict[str, Any]:
    """新建用户（管理员，辖区内）/ Add a user (administrators, inside their region)."""
    from healthwatch.services.users import add_user

    with session_scope(_db(request)) as session:
        return add_user(
            session,
            auth.actor,
            body.username,
            body.password,
            body.role,
            region=body.region,
            display_name=body.display_name,
            source=_source(request),
        )


@router.get("/users/{username}", response_model=UserModel, tags=["users"])
def get_one_user(username: str, auth: AuthDep, request: Request) -> dict[str, Any]:
    """单个用户 / One user (administrators, or the user itself)."""
    from healthwatch.services.users import get_user

    with session_scope(_db(request)) as session:
        return get_user(session, auth.actor, username)


@router.patch("/users/{username}", response_model=UserModel, tags=["users"])
def patch_user(username: str, body: UserChange, auth: AuthDep, request: Request) -> dict[str, Any]:
    """修改角色、辖区或停用（记入安全审计）/ Change role, region or disabled (audited)."""
    from healthwatch.services.users import get_user, set_disabled, set_role

    given = body.model_fields_set
    with session_scope(_db(request)) as session:
        row = get_user(session, auth.actor, username)
        if "role" in given or "region" in given:
            row = set_role(
                session,
                auth.actor,
                username,
                body.role,
                region=body.region,
                change_region="region" in given,
                source=_source(request),
            )
        if body.disabled is not None:
            row = set_disabled(
                session, auth.actor, username, body.disabled, source=_source(request)
            )
        if not given:
            require(auth.actor, "manage_users", row["region"])
        return row


@router.get("/users/{username}/tokens", response_model=list[TokenModel], tags=["users"])
def get_tokens(username: str, auth: AuthDep, request: Request) -> list[dict[str, Any]]:
    """用户的接口令牌（不含令牌本身）/ A user's API tokens (never the tokens)."""
    from healthwatch.services.users import list_tokens

    with session_scope(_db(request)) as session:
        return list_tokens(session, auth.actor, username)


@router.post(
    "/users/{username}/tokens", response_model=IssuedToken, status_code=201, tags=["users"]
)
def post_token(username: str, body: NewToken, auth: AuthDep, request: Request) -> dict[str, Any]:
    """签发接口令牌（仅返回一次）/ Issue an API token; the answer is the only copy."""
    from healthwatch.services.users import issue_token

    with session_scope(_db(request)) as session:
        token, row = issue_token(
            session,
            auth.actor,
            username,
            name=body.name,
            expires_days=body.expires_days,
            source=_source(request),
        )
    return {**row, "token": token}


@router.delete("/tokens/{token_id}", response_model=TokenModel, tags=["users"])
def delete_token(
    auth: AuthDep, request: Request, token_id: int = views.TOKEN_ID_PATH
) -> dict[str, Any]:
    """吊销接口令牌 / Revoke an API token at once."""
    from healthwatch.services.users import revoke_token

    with session_scope(_db(request)) as session:
        return revoke_token(session, auth.actor, token_id, source=_source(request))


@router.get("/security-log", tags=["users"])
def get_security_log(
    auth: AuthDep,
    request: Request,
    user: str | None = Query(None, max_length=200),
    event: str | None = Query(None, max_length=40),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """安全审计日志（管理员）/ The security log, newest first (administrators)."""
    from healthwatch.services.users import security_log

    with session_scope(_db(request)) as session:
        return security_log(session, auth.actor, subject=user, event=event, limit=limit)


@router.get("/security-log/verify", tags=["users"])
def get_security_log_check(auth: AuthDep, request: Request) -> dict[str, Any]:
    """校验安全审计日志哈希链 / Check the security log's hash chain for tampering."""
    from healthwatch.services.users import verify_security_log

    require(auth.actor, "manage_users")
    with session_scope(_db(request)) as session:
        return verify_security_log(session)
