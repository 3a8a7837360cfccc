"""Roles and region scopes, shared by the library, the CLI and the web app.

A health commission's data belong to regions: a county reporter writes and approves only its own
county's figures, a city reporter those of its city and the city's counties, a provincial analyst
reads everything and approves province-level figures, a CDC duty officer answers the alerts of
its region. Every function that writes takes an :class:`Actor` and calls :func:`require`, so the
rule lives in one place and the web app cannot forget it.

The scope is an adcode; a region is inside it when it is the scope or lies below it, which for
GB/T 2260 codes is a prefix test (province ``21`` + 4 digits, city ``2103`` + 2 digits):

>>> a = Actor("anshan", Role.REPORTER, "210300")
>>> in_region_scope(a, "210302"), in_region_scope(a, "210300"), in_region_scope(a, "210200")
(True, True, False)
>>> in_region_scope(LOCAL_ADMIN, "650000")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from healthwatch.errors import PermissionDeniedError

__all__ = ["LOCAL_ADMIN", "Actor", "Role", "in_region_scope", "require"]


class Role(StrEnum):
    """What a user may do; the region scope says where."""

    ADMIN = "admin"  # everything, everywhere; unlocks approved periods
    ANALYST = "analyst"  # provincial analyst: reads all in scope, approves its own level
    REPORTER = "reporter"  # city or county reporter: writes and approves inside its subtree
    DUTY_OFFICER = "duty_officer"  # CDC on-duty staff: answers alerts inside its region
    VIEWER = "viewer"  # reads inside its region

    @property
    def label_zh(self) -> str:
        return _LABEL_ZH[self]


_LABEL_ZH = {
    Role.ADMIN: "系统管理员",
    Role.ANALYST: "省级分析人员",
    Role.REPORTER: "填报人员",
    Role.DUTY_OFFICER: "值班人员",
    Role.VIEWER: "只读用户",
}

#: Actions each role may take (inside its region scope).
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {"read", "write", "submit", "approve", "unlock", "manage_users", "answer_alerts"}
    ),
    Role.ANALYST: frozenset({"read", "write", "submit", "approve", "answer_alerts"}),
    Role.REPORTER: frozenset({"read", "write", "submit", "approve"}),
    Role.DUTY_OFFICER: frozenset({"read", "answer_alerts"}),
    Role.VIEWER: frozenset({"read"}),
}


@dataclass(frozen=True)
class Actor:
    """Someone acting: a user name (recorded in the audit trail), a role and a region scope.

    ``region`` None means no restriction (administrators, system jobs).
    """

    username: str
    role: Role
    region: str | None = None

    def can(self, action: str) -> bool:
        return action in PERMISSIONS[self.role]


#: The CLI's default user on a single-user installation, and system jobs (seeding, the demo).
LOCAL_ADMIN = Actor("local-admin", Role.ADMIN, None)


def _prefix(adcode: str) -> str:
    """The part of an adcode shared by everything below it (GB/T 2260: 2 / 4 / 6 digits)."""
    if adcode.endswith("0000"):
        return adcode[:2]
    if adcode.endswith("00"):
        return adcode[:4]
    return adcode


def region_covers(area: str, adcode: str) -> bool:
    """Whether ``adcode`` is ``area`` or lies below it (a plan's or a user's region)."""
    return adcode.startswith(_prefix(area))


def in_region_scope(actor: Actor, adcode: str) -> bool:
    """Whether ``adcode`` is the actor's region or lies below it."""
    if actor.region is None:
        return True
    return region_covers(actor.region, adcode)


def require(actor: Actor, action: str, adcode: str | None = None) -> None:
    """Raise :class:`PermissionDeniedError` unless ``actor`` may do ``action`` (in ``adcode``)."""
    if not actor.can(action):
        raise PermissionDeniedError(
            f"User {actor.username!r} ({actor.role.value}) may not {action}.",
            f"用户 {actor.username!r}（{actor.role.label_zh}）无权执行此操作（{action}）。",
        )
    if adcode is not None and not in_region_scope(actor, adcode):
        raise PermissionDeniedError(
            f"User {actor.username!r} may only act inside region {actor.region}, not {adcode}.",
            f"用户 {actor.username!r} 只能在其所辖区域 {actor.region} 内操作，不能操作 {adcode}。",
        )
