"""Users, logins, API tokens and the security audit log: what the CLI and the web app call.

Every change to an account is made by an :class:`~healthwatch.users.Actor` and authorised with
:func:`~healthwatch.users.require` (``manage_users``, inside the actor's region scope), and every
security-relevant event is appended to the tamper-evident security log
(:class:`~healthwatch.store.user_models.SecurityEvent`) in the same transaction as the change.

Logins follow 等保 2.0 level 3: after :data:`MAX_FAILED_LOGINS` wrong passwords in a row the
account is locked for :data:`LOCKOUT` (even the right password is refused meanwhile), and every
success, failure, lockout and logout is logged. Because a refused login must still record the
failure, :func:`authenticate` commits its own transaction before raising; the in-transaction
:func:`check_login` returns the outcome instead of raising.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from healthwatch.errors import InputError, NotFoundError, PermissionDeniedError, Problem
from healthwatch.store.audit import iso_utc
from healthwatch.store.models import Region, utcnow
from healthwatch.store.quick import QuickRead, ReadConnection
from healthwatch.store.user_models import ApiToken, SecurityEvent, User, WebSession
from healthwatch.users import Actor, Role, require
from healthwatch.users.passwords import (
    AuthenticationError,
    check_password,
    hash_password,
    hash_token,
    new_token,
    verify_password,
)

__all__ = [
    "GENESIS_HASH",
    "IDLE_TIMEOUT",
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "AuthenticationError",
    "LoginOutcome",
    "actor_for",
    "add_user",
    "authenticate",
    "change_password",
    "check_login",
    "end_session",
    "get_user",
    "issue_token",
    "list_tokens",
    "list_users",
    "log_event",
    "peek_session",
    "peek_token",
    "resolve_session",
    "resolve_token",
    "revoke_token",
    "security_log",
    "set_disabled",
    "set_role",
    "start_session",
    "verify_security_log",
]

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
#: ``prev_hash`` of the first security-log entry.
GENESIS_HASH = "0" * 64
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
_TOKEN_TOUCH = timedelta(minutes=5)


# --- the security log ------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    """SQLite returns stored UTC times without an offset; make them comparable."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _entry_hash(
    prev_hash: str, at: datetime, actor: str, event: str, subject: str, source: str, detail: Any
) -> str:
    """SHA-256 over the previous hash and this entry's content (canonical JSON)."""
    content = json.dumps(
        [prev_hash, iso_utc(_aware(at)), actor, event, subject, source, detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _lock_log(session: Session) -> None:
    """Serialise writers of the chain (PostgreSQL); SQLite serialises writers by itself."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(2250001)"))


def log_event(
    session: Session,
    event: str,
    *,
    actor: str,
    subject: str = "",
    source: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event to the security log (in the caller's transaction)."""
    _lock_log(session)
    last = session.scalar(select(SecurityEvent.hash).order_by(SecurityEvent.id.desc()).limit(1))
    prev = last or GENESIS_HASH
    at = utcnow()
    row = SecurityEvent(
        at=at,
        actor=actor[:200],
        event=event,
        subject=subject[:200],
        source=source[:200],
        detail=detail,
        prev_hash=prev,
        hash=_entry_hash(prev, at, actor[:200], event, subject[:200], source[:200], detail),
    )
    session.add(row)
    session.flush()


def security_log(
    session: Session,
    actor: Actor,
    *,
    subject: str | None = None,
    event: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The newest security-log entries (administrators only), newest first."""
    require(actor, "manage_users")
    query = select(SecurityEvent).order_by(SecurityEvent.id.desc()).limit(limit)
    if subject:
        query = query.where(SecurityEvent.subject == subject)
    if event:
        query = query.where(SecurityEvent.event == event)
    return [
        {
            "id": e.id,
            "at": iso_utc(e.at),
            "actor": e.actor,
            "event": e.event,
            "subject": e.subject,
            "source": e.source,
            "detail": e.detail,
        }
        for e in session.scalars(query)
    ]


def verify_security_log(session: Session) -> dict[str, Any]:
    """Recompute the hash chain; report the first entry that was changed, removed or inserted.

    Returns ``{"ok", "entries", "first_bad_id", "reason_en", "reason_zh"}``.
    """
    prev = GENESIS_HASH
    count = 0
    for e in session.scalars(select(SecurityEvent).order_by(SecurityEvent.id)):
        count += 1
        if e.prev_hash != prev:
            return _chain_broken(
                e.id, count, "does not follow the entry before it", "与前一条不衔接"
            )
        expected = _entry_hash(prev, e.at, e.actor, e.event, e.subject, e.source, e.detail)
        if e.hash != expected:
            return _chain_broken(e.id, count, "content was altered", "内容被篡改")
        prev = e.hash
    return {"ok": True, "entries": count, "first_bad_id": None, "reason_en": "", "reason_zh": ""}


def _chain_broken(entry_id: int, count: int, en: str, zh: str) -> dict[str, Any]:
    return {
        "ok": False,
        "entries": count,
        "first_bad_id": entry_id,
        "reason_en": f"Security log entry {entry_id}: {en}.",
        "reason_zh": f"安全审计日志第 {entry_id} 条：{zh}。",
    }


# --- accounts --------------------------------------------------------------------------------


def _user_dict(u: User) -> dict[str, Any]:
    role = Role(u.role)
    return {
        "username": u.username,
        "display_name": u.display_name,
        "role": role.value,
        "role_zh": role.label_zh,
        "region": u.region,
        "disabled": u.disabled,
        "locked_until": iso_utc(u.locked_until) if u.locked_until else None,
        "failed_logins": u.failed_logins,
        "password_changed_at": iso_utc(u.password_changed_at),
        "created_at": iso_utc(u.created_at),
    }


def _find(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def _user_not_found(username: str) -> NotFoundError:
    return NotFoundError(
        f"No user {username!r}. List users with `healthwatch users list`.",
        f"没有用户 {username!r}。可用 `healthwatch users list` 查看用户。",
    )


def _get(session: Session, username: str) -> User:
    user = _find(session, username)
    if user is None:
        raise _user_not_found(username)
    return user


def _parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InputError(
            [
                Problem(
                    f"Unknown role {role!r}; one of {names}.",
                    f"未知角色 {role!r}，可选：{names}。",
                    field="role",
                )
            ],
            "The role was rejected; nothing was changed.",
            "角色无效，未作任何修改。",
        ) from None


def _check_region(session: Session, region: str | None, problems: list[Problem]) -> None:
    if region is not None and session.get(Region, region) is None:
        problems.append(
            Problem(
                f"Unknown region code {region!r}; see `healthwatch regions list`.",
                f"未知行政区划代码 {region!r}，请用 `healthwatch regions list` 查看。",
                field="region",
            )
        )


def _require_manage(actor: Actor, region: str | None) -> None:
    """Managing a user needs ``manage_users`` over the user's whole region scope."""
    require(actor, "manage_users", region)
    if region is None and actor.region is not None:
        raise PermissionDeniedError(
            f"User {actor.username!r} manages only region {actor.region}; an account without a "
            "region limit must be created by a province-wide administrator.",
            f"用户 {actor.username!r} 只能管理其辖区 {actor.region} 内的账户；不限区域的账户须由"
            "全省管理员创建。",
        )


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: str | Role,
    *,
    region: str | None = None,
    display_name: str = "",
    source: str = "",
) -> dict[str, Any]:
    """Create an account (password checked against the complexity rule and stored as Argon2)."""
    _require_manage(actor, region)
    problems: list[Problem] = []
    if not _USERNAME.match(username):
        problems.append(
            Problem(
                "A user name is 2-64 letters, digits, '.', '_' or '-', starting with a letter "
                "or digit.",
                "用户名为 2–64 位字母、数字或 . _ -，且以字母或数字开头。",
                field="username",
            )
        )
    elif _find(session, username) is not None:
        problems.append(
            Problem(
                f"User {username!r} already exists.",
                f"用户 {username!r} 已存在。",
                field="username",
            )
        )
    try:
        parsed_role = _parse_role(role)
    except InputError as exc:
        problems += exc.problems
        parsed_role = Role.VIEWER
    _check_region(session, region, problems)
    try:
        check_password(password, username)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems, "The user was not created.", "未创建用户。")
    user = User(
        username=username,
        display_name=display_name,
        role=parsed_role.value,
        region=region,
        password_hash=hash_password(password),
        disabled=False,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    log_event(
        session,
        "user_added",
        actor=actor.username,
        subject=username,
        source=source,
        detail={"role": parsed_role.value, "region": region},
    )
    return _user_dict(user)


def get_user(session: Session, actor: Actor, username: str) -> dict[str, Any]:
    """One account (administrators in scope, or the user itself)."""
    user = _get(session, username)
    if actor.username != username:
        require(actor, "manage_users", user.region or None)
    return _user_dict(user)


def list_users(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Accounts the actor manages (its region subtree), by user name."""
    require(actor, "manage_users")
    rows = session.scalars(select(User).order_by(User.username))
    from healthwatch.users import in_region_scope

    return [
        _user_dict(u)
        for u in rows
        if actor.region is None or (u.region is not None and in_region_scope(actor, u.region))
    ]


def set_disabled(
    session: Session, actor: Actor, username: str, disabled: bool = True, *, source: str = ""
) -> dict[str, Any]:
    """Disable an account (it can no longer log in or use its tokens) or enable it again.

    Enabling also clears a lockout.
    """
    user = _get(session, username)
    _require_manage(actor, user.region)
    if disabled and username == actor.username:
        raise PermissionDeniedError(
            "You cannot disable your own account; ask another administrator.",
            "不能停用自己的账户，请由其他管理员操作。",
        )
    user.disabled = disabled
    if not disabled:
        user.failed_logins = 0
        user.locked_until = None
    log_event(
        session,
        "user_disabled" if disabled else "user_enabled",
        actor=actor.username,
        subject=username,
        source=source,
    )
    return _user_dict(user)


def set_role(
    session: Session,
    actor: Actor,
    username: str,
    role: str | Role | None = None,
    *,
    region: str | None = None,
    change_region: bool = False,
    source: str = "",
) -> dict[str, Any]:
    """Change a user's role and/or region scope (``change_region`` True applies ``region``).

    The actor needs ``manage_users`` over both the old and the new region scope.
    """
    user = _get(session, username)
    _require_manage(actor, user.region)
    problems: list[Problem] = []
    new_role = Role(user.role)
    if role is not None:
        try:
            new_role = _parse_role(role)
        except InputError as exc:
            problems += exc.problems
    new_region = region if change_region else user.region
    if change_region:
        _check_region(session, region, problems)
    if problems:
        raise InputError(problems, "Nothing was changed.", "未作任何修改。")
    _require_manage(actor, new_region)
    if username == actor.username and new_role is not Role.ADMIN:
        raise PermissionDeniedError(
            "You cannot remove your own administrator role; ask another administrator.",
            "不能取消自己的管理员角色，请由其他管理员操作。",
        )
    before = {"role": user.role, "region": user.region}
    after = {"role": new_role.value, "region": new_region}
    if before != after:
        user.role = new_role.value
        user.region = new_region
        log_event(
            session,
            "role_changed",
            actor=actor.username,
            subject=username,
            source=source,
            detail={"before": before, "after": after},
        )
    return _user_dict(user)


def change_password(
    session: Session,
    actor: Actor,
    username: str,
    new_password: str,
    *,
    old_password: str | None = None,
    source: str = "",
) -> None:
    """Set a new password: users change their own (giving the old one), administrators reset."""
    user = _get(session, username)
    if actor.username == username and not actor.can("manage_users"):
        if old_password is None or not verify_password(user.password_hash, old_password)[0]:
            raise AuthenticationError(
                "The current password is wrong; the password was not changed.",
                "当前密码错误，密码未修改。",
            )
    elif actor.username != username:
        _require_manage(actor, user.region)
    check_password(new_password, username)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    log_event(session, "password_changed", actor=actor.username, subject=username, source=source)


# --- logins ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt came to: an actor, or the error to show (already logged)."""

    actor: Actor | None
    error: AuthenticationError | None


def _bad_credentials() -> AuthenticationError:
    return AuthenticationError(
        "Wrong user name or password.",
        "用户名或密码错误。",
    )


def _locked(until: datetime) -> AuthenticationError:
    local = _aware(until).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return AuthenticationError(
        f"Too many failed logins: the account is locked until {local}. Try again later or ask "
        "an administrator to unlock it (`healthwatch users enable`).",
        f"登录失败次数过多，账户已锁定至 {local}。请稍后再试，或请管理员解锁"
        "（`healthwatch users enable`）。",
    )


def _disabled(username: str) -> AuthenticationError:
    return AuthenticationError(
        f"The account {username!r} is disabled; ask an administrator.",
        f"账户 {username!r} 已停用，请联系管理员。",
    )


def check_login(
    session: Session, username: str, password: str, *, source: str = ""
) -> LoginOutcome:
    """Check a user name and password, count failures, lock, and log; never raises for a refusal.

    The caller must commit even when the outcome is a refusal, or the failure is not counted.
    """
    now = utcnow()
    user = _find(session, username)
    if user is None:
        verify_password(None, password)  # same time as a wrong password
        log_event(
            session,
            "login_failed",
            actor=username,
            subject=username,
            source=source,
            detail={"reason": "unknown_user"},
        )
        return LoginOutcome(None, _bad_credentials())
    if user.locked_until is not None and _aware(user.locked_until) > now:
        log_event(
            session,
            "login_refused",
            actor=username,
            subject=username,
            source=source,
            detail={"reason": "locked"},
        )
        return LoginOutcome(None, _locked(user.locked_until))
    ok, rehash = verify_password(user.password_hash, password)
    if not ok:
        user.failed_logins += 1
        log_event(
            session,
            "login_failed",
            actor=username,
            subject=username,
            source=source,
            detail={"reason": "wrong_password", "failures": user.failed_logins},
        )
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            log_event(
                session,
                "lockout",
                actor="system",
                subject=username,
                source=source,
                detail={"until": iso_utc(user.locked_until)},
            )
            return LoginOutcome(None, _locked(user.locked_until))
        return LoginOutcome(None, _bad_credentials())
    if user.disabled:
        log_event(
            session,
            "login_refused",
            actor=username,
            subject=username,
            source=source,
            detail={"reason": "disabled"},
        )
        return LoginOutcome(None, _disabled(username))
    user.failed_logins = 0
    user.locked_until = None
    if rehash:
        user.password_hash = hash_password(password)
    log_event(session, "login", actor=username, subject=username, source=source)
    return LoginOutcome(_actor(user), None)


def authenticate(db: str | None, username: str, password: str, *, source: str = "") -> Actor:
    """Log in: the actor, or :class:`AuthenticationError` after the refusal has been committed."""
    from healthwatch.store.db import session_scope

    with session_scope(db) as session:
        outcome = check_login(session, username, password, source=source)
    if outcome.error is not None:
        raise outcome.error
    assert outcome.actor is not None
    return outcome.actor


def _actor(user: User) -> Actor:
    return Actor(user.username, Role(user.role), user.region)


def actor_for(session: Session, username: str) -> Actor:
    """The :class:`Actor` of an enabled account (``--as USER`` in the CLI)."""
    user = _find(session, username)
    if user is None:
        raise _user_not_found(username)
    if user.disabled:
        raise PermissionDeniedError(
            f"The account {username!r} is disabled; ask an administrator.",
            f"账户 {username!r} 已停用，请联系管理员。",
        )
    return _actor(user)


# --- API tokens ------------------------------------------------------------------------------


def _token_dict(t: ApiToken, username: str) -> dict[str, Any]:
    return {
        "id": t.id,
        "username": username,
        "name": t.name,
        "hint": t.hint,
        "created_at": iso_utc(t.created_at),
        "expires_at": iso_utc(t.expires_at) if t.expires_at else None,
        "revoked_at": iso_utc(t.revoked_at) if t.revoked_at else None,
        "last_used_at": iso_utc(t.last_used_at) if t.last_used_at else None,
    }


def _require_token_rights(actor: Actor, user: User) -> None:
    if actor.username != user.username:
        _require_manage(actor, user.region)


def issue_token(
    session: Session,
    actor: Actor,
    username: str,
    *,
    name: str = "",
    expires_days: int | None = None,
    source: str = "",
) -> tuple[str, dict[str, Any]]:
    """A new bearer token for ``username``: (the token, shown once and never stored; its record)."""
    user = _get(session, username)
    _require_token_rights(actor, user)
    if user.disabled:
        raise _disabled(username)
    if expires_days is not None and expires_days < 1:
        raise InputError(
            [Problem("Expiry must be at least 1 day.", "有效期至少 1 天。", field="expires_days")]
        )
    token = new_token()
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(token),
        hint=token[:7],
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(row)
    session.flush()
    log_event(
        session,
        "token_issued",
        actor=actor.username,
        subject=username,
        source=source,
        detail={"token_id": row.id, "name": name, "expires_days": expires_days},
    )
    return token, _token_dict(row, username)


def list_tokens(
    session: Session, actor: Actor, username: str | None = None
) -> list[dict[str, Any]]:
    """Token records (never the tokens): one user's, or every user's the actor manages."""
    query = select(ApiToken, User).join(User, ApiToken.user_id == User.id).order_by(ApiToken.id)
    if username is not None:
        _require_token_rights(actor, _get(session, username))
        query = query.where(User.username == username)
    else:
        require(actor, "manage_users")
    from healthwatch.users import in_region_scope

    def visible(user: User) -> bool:
        if username is not None or actor.region is None:
            return True
        return user.region is not None and in_region_scope(actor, user.region)

    return [_token_dict(t, u.username) for t, u in session.execute(query) if visible(u)]


def revoke_token(
    session: Session, actor: Actor, token_id: int, *, source: str = ""
) -> dict[str, Any]:
    """Revoke a token at once; revoking twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"No API token {token_id}.", f"没有编号为 {token_id} 的接口令牌。")
    user = session.get(User, token.user_id)
    assert user is not None
    _require_token_rights(actor, user)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        log_event(
            session,
            "token_revoked",
            actor=actor.username,
            subject=user.username,
            source=source,
            detail={"token_id": token_id},
        )
    return _token_dict(token, user.username)


def resolve_token(session: Session, token: str) -> Actor:
    """The actor a bearer token stands for; :class:`AuthenticationError` if it is not valid now."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = utcnow()
    invalid = AuthenticationError(
        "The API token is unknown, revoked or expired.", "接口令牌无效、已吊销或已过期。"
    )
    if row is None or row.revoked_at is not None:
        raise invalid
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        raise invalid
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise invalid
    if row.last_used_at is None or now - _aware(row.last_used_at) > _TOKEN_TOUCH:
        row.last_used_at = now
    return _actor(user)


_TOKEN_LOOKUP = QuickRead(
    select(
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.username,
        User.role,
        User.region,
        User.disabled,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def peek_token(conn: ReadConnection, token: str) -> tuple[Actor, bool]:
    """:func:`resolve_token` in one indexed read, without writing.

    Why: the web app authenticates every request; an ORM session and a transaction per request
    cost more than the dashboard answer itself. Returns the actor and whether the token's
    ``last_used_at`` is due to be written (then call :func:`resolve_token`, which writes it,
    once: the caller may serve the request meanwhile), or raises the same
    :class:`AuthenticationError` for an invalid token. Every check reads the current rows, so
    revoking, expiry and disabling act at once.
    """
    row = conn.first(_TOKEN_LOOKUP, token_hash=hash_token(token))
    now = utcnow()
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and _aware(row.expires_at) <= now)
        or row.disabled
    ):
        raise AuthenticationError(
            "The API token is unknown, revoked or expired.", "接口令牌无效、已吊销或已过期。"
        )
    due = row.last_used_at is None or now - _aware(row.last_used_at) > _TOKEN_TOUCH
    return Actor(row.username, Role(row.role), row.region), due


# --- browser sessions ------------------------------------------------------------------------

#: A session unused this long ends (等保 2.0 level 3: idle-session timeout).
IDLE_TIMEOUT = timedelta(minutes=30)
#: A session ends this long after login however busy it is.
SESSION_MAX_AGE = timedelta(hours=12)
_SESSION_TOUCH = timedelta(seconds=60)


def _session_expired() -> AuthenticationError:
    return AuthenticationError(
        "Your session has ended (logged out, idle for too long or expired); please log in again.",
        "会话已结束（已退出、长时间未操作或已过期），请重新登录。",
    )


def start_session(session: Session, actor: Actor, *, source: str = "") -> str:
    """A new browser session for a logged-in user; returns the cookie value (stored hashed)."""
    user = _get(session, actor.username)
    token = new_token()
    session.add(
        WebSession(
            token_hash=hash_token(token), user_id=user.id, end_reason="", source=source[:200]
        )
    )
    session.flush()
    return token


def resolve_session(
    session: Session,
    token: str,
    *,
    idle: timedelta = IDLE_TIMEOUT,
    max_age: timedelta = SESSION_MAX_AGE,
) -> Actor:
    """The actor of a live session; ends (and logs) a session idle too long or too old.

    The user's current role and region are read on every request, so a role change or disabling
    takes effect at once.
    """
    row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if row is None or row.ended_at is not None:
        raise _session_expired()
    user = session.get(User, row.user_id)
    now = utcnow()
    reason = ""
    if user is None or user.disabled:
        reason = "disabled"
    elif now - _aware(row.last_seen_at) > idle:
        reason = "idle"
    elif now - _aware(row.created_at) > max_age:
        reason = "max_age"
    if reason:
        row.ended_at, row.end_reason = now, reason
        log_event(
            session,
            "session_ended",
            actor="system",
            subject=user.username if user else "",
            source=row.source,
            detail={"reason": reason, "session": row.id},
        )
        raise _session_expired()
    if now - _aware(row.last_seen_at) > _SESSION_TOUCH:
        row.last_seen_at = now
    assert user is not None
    return _actor(user)


_SESSION_LOOKUP = QuickRead(
    select(
        WebSession.created_at,
        WebSession.last_seen_at,
        WebSession.ended_at,
        User.username,
        User.role,
        User.region,
        User.disabled,
    )
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.token_hash == bindparam("token_hash"))
)


def peek_session(
    conn: ReadConnection,
    token: str,
    *,
    idle: timedelta = IDLE_TIMEOUT,
    max_age: timedelta = SESSION_MAX_AGE,
) -> tuple[Actor, bool] | None:
    """:func:`resolve_session` in one indexed read, without writing.

    Returns the actor of a live session and whether its ``last_seen_at`` is due to be written
    (used more than a minute after the last write: then call :func:`resolve_session` once; the
    caller may serve the request meanwhile, the session being live); raises the same
    :class:`AuthenticationError` for an unknown or ended session; returns None when the session
    must end now (idle, too old, user disabled): then :func:`resolve_session` ends and logs it
    exactly as before. The rows are read on every request, so logout, disabling, role changes
    and the idle timeout act at once, in every server process.
    """
    row = conn.first(_SESSION_LOOKUP, token_hash=hash_token(token))
    if row is None or row.ended_at is not None:
        raise _session_expired()
    now = utcnow()
    if (
        row.disabled
        or now - _aware(row.last_seen_at) > idle
        or now - _aware(row.created_at) > max_age
    ):
        return None
    due = now - _aware(row.last_seen_at) > _SESSION_TOUCH
    return Actor(row.username, Role(row.role), row.region), due


def end_session(session: Session, token: str, *, source: str = "") -> bool:
    """Log out: end the session (logged); False when it had already ended."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.end_reason = utcnow(), "logout"
    user = session.get(User, row.user_id)
    name = user.username if user else ""
    log_event(session, "logout", actor=name, subject=name, source=source)
    return True
