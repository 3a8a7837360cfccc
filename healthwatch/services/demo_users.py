"""The demo's logins: one account per role, with generated strong passwords that the demo prints.

Why generated and not fixed: a fixed demo password ("admin/admin") is the classic way a demo
account survives into production and is then guessed. Each run of ``healthwatch demo`` therefore
gives every demo account a fresh random password that meets the level-3 complexity rule
(:func:`healthwatch.users.passwords.check_password`) and prints it once; only its Argon2 hash is
stored, so a later run cannot print the old one and *resets* it instead (and clears a lockout).
A demo account that an administrator has disabled (``healthwatch users disable demo-admin``)
stays disabled: the demo never re-enables an account, so running it again on a production
database cannot bring a demo login back to life.

Demo accounts are named ``demo-*`` and marked by their display name (:data:`DEMO_MARK`); an
existing account of the same name without the mark is someone's real account and is left alone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthwatch.services.users import add_user, change_password
from healthwatch.store.models import Region
from healthwatch.store.user_models import User
from healthwatch.users import Actor, Role
from healthwatch.users.passwords import password_problems

__all__ = [
    "DEMO_ACCOUNTS",
    "DEMO_MARK",
    "DemoAccount",
    "ensure_demo_users",
    "generate_password",
    "is_demo_account",
]

#: Marks a demo account in its display name (shown by ``users list`` and the users page).
DEMO_MARK = "演示账户 demo account"


@dataclass(frozen=True)
class DemoAccount:
    """One demo login: its name, role, region scope and what it is for (zh, en)."""

    username: str
    role: Role
    region: str | None
    about_zh: str
    about_en: str


#: One account per role; the reporters show the city and county scopes (Anshan, Tai'an County).
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo-admin", Role.ADMIN, None, "系统管理员（全省）", "administrator (province)"),
    DemoAccount(
        "demo-analyst", Role.ANALYST, None, "省级分析人员", "provincial analyst (province)"
    ),
    DemoAccount(
        "demo-anshan", Role.REPORTER, "210300", "市级填报人员（鞍山市）", "city reporter (Anshan)"
    ),
    DemoAccount(
        "demo-taian",
        Role.REPORTER,
        "210321",
        "县级填报人员（鞍山市台安县）",
        "county reporter (Tai'an County, Anshan)",
    ),
    DemoAccount(
        "demo-duty",
        Role.DUTY_OFFICER,
        "210300",
        "疾控值班人员（鞍山市）",
        "CDC duty officer (Anshan)",
    ),
    DemoAccount("demo-viewer", Role.VIEWER, "210000", "只读用户（全省）", "viewer (province)"),
)

# No look-alike characters (0/O, 1/l/I) so that a printed password can be typed.
_LOWER = "abcdefghijkmnpqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_GROUPS = 4
_GROUP_LENGTH = 5


def generate_password(username: str = "") -> str:
    """A random password like ``Kq7mW-z3pHn-9xTb4-cR8dM``: 20 characters from 56 (about 116
    bits), with upper and lower case and digits, grouped by hyphens (a fourth class), checked
    against the complexity rule for ``username``."""
    alphabet = _LOWER + _UPPER + _DIGITS
    while True:
        groups = [
            "".join(secrets.choice(alphabet) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
        ]
        password = "-".join(groups)
        has_all = (
            any(c in _LOWER for c in password)
            and any(c in _UPPER for c in password)
            and any(c in _DIGITS for c in password)
        )
        if has_all and not password_problems(password, username):
            return password


def is_demo_account(display_name: str | None) -> bool:
    """Whether an account carries the demo mark (see :data:`DEMO_MARK`)."""
    return DEMO_MARK in (display_name or "")


def _region_name(session: Session, adcode: str | None) -> str | None:
    if adcode is None:
        return None
    region = session.get(Region, adcode)
    return region.name if region is not None else None


def ensure_demo_users(
    session: Session, actor: Actor, *, source: str = "demo"
) -> list[dict[str, Any]]:
    """Create the demo accounts, or give the existing ones new passwords; return the logins.

    Each row: ``username``, ``password`` (None when not set by this run), ``role``,
    ``role_zh``, ``region``, ``region_name``, ``about_zh``, ``about_en`` and ``status``:
    ``created``, ``reset`` (new password, lockout cleared), ``disabled`` (left disabled, no
    password) or ``not_demo`` (a real account of that name, left untouched). Every change is
    authorised (``manage_users``) and written to the security log by
    :mod:`healthwatch.services.users`; the passwords themselves are never logged.
    """
    rows = []
    for account in DEMO_ACCOUNTS:
        user = session.scalar(select(User).where(User.username == account.username))
        password: str | None = None
        if user is None:
            password = generate_password(account.username)
            add_user(
                session,
                actor,
                account.username,
                password,
                account.role,
                region=account.region,
                display_name=f"{DEMO_MARK}: {account.about_zh} / {account.about_en}",
                source=source,
            )
            status = "created"
        elif not is_demo_account(user.display_name):
            status = "not_demo"
        elif user.disabled:
            status = "disabled"
        else:
            password = generate_password(account.username)
            change_password(session, actor, account.username, password, source=source)
            user.failed_logins = 0
            user.locked_until = None
            status = "reset"
        rows.append(
            {
                "username": account.username,
                "password": password,
                "role": account.role.value,
                "role_zh": account.role.label_zh,
                "region": account.region,
                "region_name": _region_name(session, account.region),
                "about_zh": account.about_zh,
                "about_en": account.about_en,
                "status": status,
            }
        )
    return rows
