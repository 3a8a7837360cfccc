"""Stored evaluations: each run of ``healthwatch evaluate`` as a record that can be reproduced.

An evaluation keeps the plan version it judged, the exact data version it used (the SHA-256 of
the input values in a canonical form) and its full result document, so a published evaluation
can be reproduced and compared with a later one. Records are never updated: the row itself, with
its actor and time, is the audit record (the whole document is not copied into ``audit_log``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from healthwatch.store.models import Base, JsonType, utcnow


class Evaluation(Base):
    __tablename__ = "evaluations"
    __audited__ = False  # immutable records; the row holds actor and time

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(100), ForeignKey("plans.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(6))
    level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    data_version: Mapped[str] = mapped_column(String(80), index=True)
    data_source: Mapped[str] = mapped_column(String(40))
    summary: Mapped[Any] = mapped_column(JsonType)
    document: Mapped[Any] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")

    def audit_key(self) -> str:
        return str(self.id)
