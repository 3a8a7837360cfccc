"""Tables for users, API tokens, web sessions and the security audit log.

Why not the general audit trail: ``audit_log`` records whole rows before and after, which for a
user would copy password hashes into a table many people read. Users and tokens are therefore not
``__audited__``; every change to them is written by :mod:`healthwatch.services.users` as a
:class:`SecurityEvent` that says what happened (login, lockout, role change ...) without secrets.

The security log is append-only and tamper-evident, as 等保 2.0 level 3 asks of audit records
("protected against unexpected deletion, modification or overwriting"):

* the database refuses UPDATE and DELETE on ``security_log`` (triggers created by migration 0005,
  on SQLite and PostgreSQL), and the ORM refuses them before they reach the database;
* each row stores the SHA-256 of the previous row's hash and its own content, so changing or
  removing a row (by someone who can drop the triggers) breaks the chain at that row, which
  :func:`healthwatch.services.users.verify_security_log` finds; ``prev_hash`` is unique, so two
  writers can never fork the chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from healthwatch.store.models import Base, JsonType, utcnow


class User(Base):
    """A person (or machine account) who logs in; role and region scope as in ``users.roles``."""

    __tablename__ = "users"
    __audited__ = False  # changes go to the security log, without the password hash

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(6), ForeignKey("regions.adcode"))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def audit_key(self) -> str:
        return self.username


class ApiToken(Base):
    """A bearer token for machine ingestion; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def audit_key(self) -> str:
        return str(self.id)


class SecurityEvent(Base):
    """One security-relevant event; rows are never changed or deleted (see module docs)."""

    __tablename__ = "security_log"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))  # who did it (or the name tried at login)
    event: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="", index=True)  # whom it concerns
    source: Mapped[str] = mapped_column(String(200), default="")  # cli, web address, api
    detail: Mapped[Any] = mapped_column(JsonType, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))

    def audit_key(self) -> str:
        return str(self.id)


def _refuse_change(mapper: Any, connection: Any, target: SecurityEvent) -> None:
    from healthwatch.errors import PermissionDeniedError

    raise PermissionDeniedError(
        "The security log is append-only; its entries cannot be changed or deleted.",
        "安全审计日志只能追加，不能修改或删除。",
    )


event.listen(SecurityEvent, "before_update", _refuse_change)
event.listen(SecurityEvent, "before_delete", _refuse_change)


class WebSession(Base):
    """A browser session: only the SHA-256 of the cookie value is kept.

    Kept in the database rather than in a signed cookie so that logging out, disabling the user
    or an idle timeout ends the session at once, in every server process.
    """

    __tablename__ = "web_sessions"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str] = mapped_column(String(20), default="")
    source: Mapped[str] = mapped_column(String(200), default="")

    def audit_key(self) -> str:
        return str(self.id)
