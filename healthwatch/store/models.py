"""The database schema (SQLAlchemy 2 declarative models).

Plans are *versioned*: ``plans`` holds one row per plan with a pointer to its current version and
a few columns copied from that version for listing; ``plan_versions`` holds every distinct
document ever saved (JSON, with its SHA-256), so no saved version is ever lost. ``indicators`` is
a normalised copy of the current version's indicators for queries; it is derived data, rebuilt
whenever the current version changes, and therefore not audited. Every other change is recorded
in ``audit_log`` (see :mod:`healthwatch.store.audit`).

The schema is created and changed only by the Alembic migrations in ``store/migrations``; these
models must match the head revision (``tests/test_migrations.py`` checks that).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Plain JSON on every backend (PostgreSQL too): the document is kept exactly as given, key order
# included; queries go through the normalised indicators table instead.
JsonType = JSON()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base; ``__audited__`` models get an audit row for every change."""

    __audited__ = True

    def audit_key(self) -> str:
        raise NotImplementedError


class Region(Base):
    __tablename__ = "regions"

    adcode: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent: Mapped[str | None] = mapped_column(String(6), ForeignKey("regions.adcode"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    type_zh: Mapped[str] = mapped_column(String(20), default="")

    def audit_key(self) -> str:
        return self.adcode


class Population(Base):
    __tablename__ = "populations"
    __table_args__ = (UniqueConstraint("adcode", "year", name="uq_populations_adcode_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    adcode: Mapped[str] = mapped_column(String(6), ForeignKey("regions.adcode"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    resident_persons: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    def audit_key(self) -> str:
        return f"{self.adcode}/{self.year}"


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    current_version: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    region: Mapped[str] = mapped_column(String(6), default="")
    start_year: Mapped[int | None] = mapped_column(Integer)
    end_year: Mapped[int | None] = mapped_column(Integer)
    indicator_count: Mapped[int] = mapped_column(Integer, default=0)

    def audit_key(self) -> str:
        return self.id


class PlanVersion(Base):
    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version", name="uq_plan_versions_plan_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(100), ForeignKey("plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JsonType)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))

    def audit_key(self) -> str:
        return f"{self.plan_id}@{self.version}"


class Indicator(Base):
    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("plan_id", "code", name="uq_indicators_plan_code"),)
    __audited__ = False  # derived from plan_versions, rebuilt on every change of version

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(100), ForeignKey("plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    category_zh: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(Text, default="")
    direction: Mapped[str] = mapped_column(String(40), default="")
    nature: Mapped[str] = mapped_column(String(40), default="")
    baselines: Mapped[Any] = mapped_column(JsonType, nullable=True)
    target: Mapped[Any] = mapped_column(JsonType, nullable=True)

    def audit_key(self) -> str:
        return f"{self.plan_id}/{self.code}"


class Facility(Base):
    """One facility of the registry (hospital, health centre, clinic, EMS centre or station).

    Keyed by the facility's own id, so importing a newer file updates rows in place and the audit
    trail keeps every earlier value. Coordinates are WGS84; counts are whole numbers >= 0.
    """

    __tablename__ = "facilities"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    level: Mapped[str | None] = mapped_column(String(16))
    adcode: Mapped[str] = mapped_column(String(6), ForeignKey("regions.adcode"), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    beds: Mapped[int] = mapped_column(Integer, default=0)
    physicians: Mapped[int] = mapped_column(Integer, default=0)
    nurses: Mapped[int] = mapped_column(Integer, default=0)
    gps: Mapped[int] = mapped_column(Integer, default=0)
    pharmacists: Mapped[int] = mapped_column(Integer, default=0)
    ambulances: Mapped[int] = mapped_column(Integer, default=0)
    negative_pressure: Mapped[int] = mapped_column(Integer, default=0)
    year: Mapped[int | None] = mapped_column(Integer)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")

    def audit_key(self) -> str:
        return self.id


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(10))  # insert / update / delete
    entity: Mapped[str] = mapped_column(String(50), index=True)  # table name
    entity_key: Mapped[str] = mapped_column(String(200), index=True)
    before: Mapped[Any] = mapped_column(JsonType, nullable=True)
    after: Mapped[Any] = mapped_column(JsonType, nullable=True)


from healthwatch.store import data_models as _data_models  # noqa: E402, F401  (indicator data tables)
from healthwatch.store import evaluation_models  # noqa: E402,F401  (evaluations table)
from healthwatch.store import user_models as _user_models  # noqa: E402, F401
from healthwatch.store import warning_models as _warning_models  # noqa: E402, F401
