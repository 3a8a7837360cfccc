"""Tables of indicator data: reported values (every version kept), imports and approvals.

Why values are versioned in one table: a commission must say who changed which figure, when and
why, and restore an earlier one. Each row of ``data_values`` is one *version* of the value of
(region, period, element); a new figure appends version n+1 and clears ``current`` on version n,
nothing is ever updated in place or deleted (a deletion is a version whose value is NULL). The
table is therefore its own audit trail at the level of single values, and the bulk import can
write a million rows with one executemany / COPY instead of an ORM object and an ``audit_log``
row per value (which would double the write and break the 10-second budget). Every import,
approval, submission, unlock and revert is an audited row (``data_imports``, ``data_approvals``)
and so is in ``audit_log`` with actor, time, old and new state.

Status (draft / submitted / approved) and the lock belong to a region and a period, because
approval is given per region and period; they live in ``data_approvals`` and every value read
through :mod:`healthwatch.services.data` carries the status and lock of its region and period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from healthwatch.store.models import Base, JsonType, utcnow

__all__ = ["DataApproval", "DataImport", "DataValue"]


class DataImport(Base):
    """One import (file or demo load): what came in, by whom, and what it changed."""

    __tablename__ = "data_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(20), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[Any] = mapped_column(JsonType, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")

    def audit_key(self) -> str:
        return str(self.id)


class DataValue(Base):
    """One version of one reported figure (see the module docstring)."""

    __tablename__ = "data_values"
    __audited__ = False  # the versions are the audit trail of values; imports are audited
    # One index only, element first: it serves the aggregation (one indicator's elements over
    # all regions), the lookups of an import and the history, and a bulk import sorted by it
    # appends to it instead of updating a second index at random places.
    __table_args__ = (
        UniqueConstraint("element", "period", "region", "version", name="uq_data_values_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign keys (region, import_id): every region is checked against the regions table
    # before an import writes, regions are never deleted, and import_id is the import written in
    # the same transaction; a per-row foreign-key check costs about 60 % of PostgreSQL's COPY time
    # for a million values.
    region: Mapped[str] = mapped_column(String(6))
    period: Mapped[str] = mapped_column(String(10))
    element: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    stored_by: Mapped[str] = mapped_column(String(200))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    import_id: Mapped[int | None] = mapped_column(Integer)  # data_imports.id (no per-row FK check)
    reason: Mapped[str] = mapped_column(Text, default="")
    current: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_key(self) -> str:
        return f"{self.region}/{self.period}/{self.element}@{self.version}"


class DataApproval(Base):
    """The workflow state of one region and period: draft, submitted or approved, and the lock."""

    __tablename__ = "data_approvals"
    __table_args__ = (UniqueConstraint("region", "period", name="uq_data_approvals_region_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region: Mapped[str] = mapped_column(String(6), ForeignKey("regions.adcode"))
    period: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")

    def audit_key(self) -> str:
        return f"{self.region}/{self.period}"
