"""The life of an alert: new -> acknowledged -> investigating -> confirmed | ruled_out -> closed.

Why a fixed table: on-duty staff answer alerts under a 24-hour rule (CIDARS: verify within a
day); a skipped step (closing an alert nobody investigated) would hide an unanswered signal, so
every action is checked against this table and anything else is refused with the actions that
are possible. Assigning an alert to a person is allowed in any open state and keeps the state.

An alert is *verified* once someone has started investigating it (or judged it); it is
*overdue* when it is still unverified 24 hours after it was raised.

>>> next_status("new", "acknowledge")
'acknowledged'
>>> try:
...     next_status("new", "close")
... except InputError as exc:
...     print(exc.problems[0].reason_en)
cannot close an alert that is new; possible now: acknowledge, assign
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from healthwatch.errors import InputError, Problem

__all__ = [
    "ACTIONS",
    "STATUSES",
    "UNVERIFIED",
    "VERIFY_WITHIN",
    "InvalidTransition",
    "is_overdue",
    "next_status",
]

STATUSES: dict[str, str] = {
    "new": "新预警",
    "acknowledged": "已签收",
    "investigating": "调查核实中",
    "confirmed": "确认为疑似事件",
    "ruled_out": "已排除",
    "closed": "已关闭",
}

#: action -> (Chinese name, {from status: to status})
ACTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "acknowledge": ("签收", {"new": "acknowledged"}),
    "investigate": ("开始调查核实", {"acknowledged": "investigating"}),
    "confirm": ("确认", {"investigating": "confirmed"}),
    "rule_out": ("排除", {"investigating": "ruled_out"}),
    "close": ("关闭", {"confirmed": "closed", "ruled_out": "closed"}),
    "assign": (
        "指派",
        {s: s for s in ("new", "acknowledged", "investigating", "confirmed", "ruled_out")},
    ),
}

UNVERIFIED = frozenset({"new", "acknowledged"})
OPEN = frozenset({"new", "acknowledged", "investigating", "confirmed", "ruled_out"})
VERIFY_WITHIN = timedelta(hours=24)


class InvalidTransition(InputError):
    """A known action that the alert's status does not allow (the web API answers 409)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            problems,
            "This step is not possible in the alert's current status; nothing was changed.",
            "预警当前状态下不能执行此操作，未作任何修改。",
        )


def next_status(status: str, action: str) -> str:
    """The status after ``action``, or InputError naming what is possible from ``status``."""
    if action not in ACTIONS:
        raise InputError(
            [
                Problem(
                    f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}",
                    f"未知操作 {action!r}；可选：{', '.join(ACTIONS)}",
                    field="action",
                )
            ]
        )
    name_zh, moves = ACTIONS[action]
    if status not in moves:
        possible = [a for a, (_, m) in ACTIONS.items() if status in m]
        en = ", ".join(possible) or "none (the alert is closed)"
        zh = "、".join(ACTIONS[a][0] for a in possible) or "无（预警已关闭）"
        raise InvalidTransition(
            [
                Problem(
                    f"cannot {action} an alert that is {status}; possible now: {en}",
                    f"不能对状态为“{STATUSES.get(status, status)}”的预警执行“{name_zh}”；"
                    f"当前可执行：{zh}",
                    field="status",
                )
            ]
        )
    return moves[status]


def is_overdue(status: str, due_at: datetime, now: datetime | None = None) -> bool:
    """Still unverified (new or acknowledged) after its 24-hour deadline."""
    now = now or datetime.now(UTC)
    if due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)
    return status in UNVERIFIED and now > due_at
