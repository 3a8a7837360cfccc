"""Stored evaluations: each run of ``healthwatch evaluate`` as a record that can be reproduced.

An evaluation keeps the plan version it judged, the exact data version it used (the SHA-256 of
the input values in a canonical form) and its full result document, so a published evaluation
can be reproduced and compared with a later one. Records are never updated: the row itself, with
its actor and time, keeps the result; ``audit_log`` records that it was stored (who, when, which
plan, year, region and data version) without copying the document, so every stored evaluation
moves the data version like any other change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from healthwatch.store.models import Base, JsonType, utcnow


class Evaluation(Base):
    __tablename__ = "evaluations"
    __audited__ = True  # immutable records: only inserts, audited without the document
    __audit_fields__ = (
        "id",
        "plan_id",
        "plan_version",
        "as_of",
        "kind",
        "region",
        "level",
        "data_version",
        "actor",
        "note",
    )

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


class ProjectProgress(Base):
    """One progress report of one planned project (imported from CSV/Excel like indicator data).

    Keyed by plan, project and report date: re-importing a corrected file updates the row in
    place, and the audit trail keeps the earlier figures.
    """

    __tablename__ = "project_progress"
    __table_args__ = (
        UniqueConstraint(
            "plan_id", "project_id", "report_date", name="uq_project_progress_plan_project_date"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(100), ForeignKey("plans.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(100))
    report_date: Mapped[date] = mapped_column(Date)
    percent_complete: Mapped[float] = mapped_column(Float)
    spent_10k_yuan: Mapped[float] = mapped_column(Float)
    budget_10k_yuan: Mapped[float | None] = mapped_column(Float, nullable=True)
    planned_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    milestone: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")

    def audit_key(self) -> str:
        return f"{self.plan_id}/{self.project_id}@{self.report_date.isoformat()}"
