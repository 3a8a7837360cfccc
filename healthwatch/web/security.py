"""Who is asking: session cookies, CSRF tokens, bearer API tokens, login rate limiting.

The controls 等保 2.0 level 3 expects of the application, and where each one lives:

* passwords (Argon2id, complexity), lockout after 5 failures, security log:
  :mod:`healthwatch.services.users`;
* session cookie ``hw_session``: random 256-bit value, only its SHA-256 stored, ``HttpOnly``,
  ``SameSite=Lax``, ``Secure`` whenever the request came over HTTPS (directly or through a
  proxy that uvicorn trusts) or the app was created with ``secure_cookies=True``;
* idle timeout (30 minutes) and maximum session age: checked on every request by
  :func:`~healthwatch.services.users.resolve_session`;
* CSRF: every unsafe request authenticated by the cookie must carry the session's CSRF token
  (header ``X-CSRF-Token`` or form field ``csrf_token``); the token is derived from the session
  secret, so it cannot be guessed without the HttpOnly cookie. The login form, which has no
  session yet, uses a double-submit cookie. Requests authenticated with a bearer token carry no
  ambient credential and need no CSRF token;
* login rate limiting: :class:`RateLimiter`, per client address, before any password is checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request

from healthwatch.errors import HealthwatchError, PermissionDeniedError
from healthwatch.users import Actor
from healthwatch.users.passwords import AuthenticationError

SESSION_COOKIE = "hw_session"
LOGIN_CSRF_COOKIE = "hw_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimited(HealthwatchError):
    """Too many attempts from one address; answered with 429 and ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"Too many login attempts from this address; wait {retry_after} seconds.",
            f"该地址登录尝试过于频繁，请 {retry_after} 秒后再试。",
        )


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (sliding window, thread-safe)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one event for ``key``; raise :class:`RateLimited` when over the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                raise RateLimited(max(1, int(self.window - (now - hits[0])) + 1))
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys so memory stays bounded
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] > self.window]:
                    del self._hits[k]


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session (derived, so nothing more is stored)."""
    return hashlib.sha256(b"healthwatch-csrf:" + session_token.encode()).hexdigest()


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False if either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def csrf_refused() -> PermissionDeniedError:
    return PermissionDeniedError(
        "Missing or wrong CSRF token: send the X-CSRF-Token header (or the csrf_token form field) "
        "given at login, or reload the page.",
        "缺少或错误的 CSRF 令牌：请在请求中带上登录时获得的 X-CSRF-Token（或表单字段 csrf_token），"
        "或刷新页面后重试。",
    )


def login_required() -> AuthenticationError:
    return AuthenticationError(
        "Log in first: POST /api/v1/session, or send 'Authorization: Bearer <token>'.",
        "请先登录（POST /api/v1/session），或在请求头中提供 Authorization: Bearer <令牌>。",
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


@dataclass(frozen=True)
class Auth:
    """The authenticated actor of a request and how it proved who it is."""

    actor: Actor
    via: str  # "session" or "token"
    session_token: str | None = None

    @property
    def csrf_token(self) -> str | None:
        return csrf_for(self.session_token) if self.session_token else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def quick_auth(
    conn: Any, request: Request, *, idle: timedelta = timedelta(minutes=30)
) -> tuple[Auth, bool] | None:
    """The request's :class:`Auth` from one indexed read on ``conn`` and whether its session's
    or token's last-seen time is due to be written, or None when the session ends now (then
    :func:`_writing_auth` ends and logs it).

    Raises :class:`AuthenticationError` for no credential, an unknown, revoked or expired
    token, or an unknown or ended session. Nothing is cached between requests: every request
    reads the current session, token and user rows, so logout, disabling, role changes and the
    idle timeout act at once in every server process (and after changes made with the CLI).
    """
    from healthwatch.services.users import peek_session, peek_token

    token = bearer_token(request)
    if token is not None:
        actor, due = peek_token(conn, token)
        return Auth(actor, "token"), due
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise login_required()
    found = peek_session(conn, cookie, idle=idle)
    if found is None:
        return None
    return Auth(found[0], "session", cookie), found[1]


def _writing_auth(request: Request, db: str | None, idle: timedelta) -> Auth:
    """The full check in a transaction: touches last-seen, ends and logs an ended session."""
    from healthwatch.services.users import resolve_session, resolve_token
    from healthwatch.store.db import session_scope

    token = bearer_token(request)
    if token is not None:
        with session_scope(db) as session:
            return Auth(resolve_token(session, token), "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise login_required()
    error: AuthenticationError | None = None
    with session_scope(db) as session:  # commit an ended session before answering
        try:
            actor = resolve_session(session, cookie, idle=idle)
        except AuthenticationError as exc:
            error = exc
    if error is not None:
        raise error
    return Auth(actor, "session", cookie)


def authenticate_request(
    request: Request, db: str | None, *, idle: timedelta = timedelta(minutes=30)
) -> Auth:
    """The request's :class:`Auth` from a bearer token or the session cookie, or an error.

    One read in the common case (:func:`quick_auth`); a transaction only when something must
    be written. Does not check CSRF (see :func:`check_csrf`): the form field can only be read
    from the body.
    """
    from healthwatch.store.db import read_connection

    with read_connection(db) as conn:
        quick = quick_auth(conn, request, idle=idle)
    if quick is None or quick[1]:
        return _writing_auth(request, db, idle)
    return quick[0]


async def authenticate_request_async(
    request: Request, db: str | None, *, idle: timedelta = timedelta(minutes=30)
) -> Auth:
    """:func:`authenticate_request` for async handlers: the one read runs on the event loop
    (an index lookup, shorter than a hop to the thread pool), a write in the thread pool.

    A live session or token due for its last-seen time is written by one request of this
    process; the requests arriving meanwhile with the same credential are served at once. Why:
    a browser or a client with fifty connections sends them together, and fifty transactions
    queueing for the same row stalled the server for a third of a second every minute.

    In the same connection it notes the newest audit id in ``request.state.data_version``, which
    the dashboard endpoints key their cached answers on (so a request checks out one connection).
    """
    from starlette.concurrency import run_in_threadpool

    from healthwatch.store.audit import latest_change
    from healthwatch.store.db import read_connection

    with read_connection(db) as conn:
        quick = quick_auth(conn, request, idle=idle)
        request.state.data_version = latest_change(conn)
    if quick is None:  # the session ends now: end and log it, refuse the request
        return await run_in_threadpool(_writing_auth, request, db, idle)
    auth, due = quick
    credential = auth.session_token or bearer_token(request) or ""
    if due and credential not in _TOUCHING:
        _TOUCHING.add(credential)
        try:
            auth = await run_in_threadpool(_writing_auth, request, db, idle)
        finally:
            _TOUCHING.discard(credential)
    return auth


#: Credentials whose last-seen time a request of this process is writing now.
_TOUCHING: set[str] = set()


def check_csrf(request: Request, auth: Auth, form_value: str | None = None) -> None:
    """Refuse an unsafe cookie-authenticated request without the session's CSRF token."""
    if request.method in SAFE_METHODS or auth.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER) or form_value
    if not same_token(sent, auth.csrf_token):
        raise csrf_refused()
