"""Errors that speak to the user in Chinese and English and say where the problem is.

Every error raised for bad input is an :class:`InputError` holding one :class:`Problem` per
offending place (file, line, field), so that a user fixes a whole file in one pass. Code that
writes must validate everything first and write nothing when an InputError is raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as the input allows."""

    reason_en: str
    reason_zh: str
    file: str | None = None
    line: int | None = None
    field: str | None = None

    def where(self) -> str:
        parts = [p for p in (self.file, None if self.line is None else str(self.line)) if p]
        place = ":".join(parts)
        if self.field:
            place = f"{place} [{self.field}]" if place else f"[{self.field}]"
        return place

    def render(self) -> str:
        place = self.where()
        prefix = f"{place}: " if place else ""
        return f"{prefix}{self.reason_zh} / {self.reason_en}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class HealthwatchError(Exception):
    """Base class: a message in both languages; the CLI prints it and exits with status 2."""

    def __init__(self, message_en: str, message_zh: str, problems: Iterable[Problem] = ()) -> None:
        self.message_en = message_en
        self.message_zh = message_zh
        self.problems: list[Problem] = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.message_zh} / {self.message_en}"]
        lines += [f"  - {p.render()}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "problems": [p.to_dict() for p in self.problems],
        }


class InputError(HealthwatchError):
    """The input is malformed; nothing was written."""

    def __init__(
        self,
        problems: Iterable[Problem],
        message_en: str = "The input was rejected; nothing was written.",
        message_zh: str = "输入有误，已整体拒绝，未写入任何数据。",
    ) -> None:
        super().__init__(message_en, message_zh, problems)


#: The messages of an :class:`InputError` raised by a read (a filter, a query parameter): the
#: default "nothing was written" is meaningless to someone who wrote nothing.
READ_REFUSED = (
    "The request is invalid; see the problems.",
    "请求参数有误，详见各项问题。",
)


class NotFoundError(HealthwatchError):
    """A named thing (plan, region, series) does not exist."""


class PermissionDeniedError(HealthwatchError):
    """The acting user's role or region scope does not allow this; nothing was written."""
