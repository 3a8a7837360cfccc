"""Tables of the early-warning platform: feeds, detection runs, signals, alerts, notifications.

Why counts live in blocks: a province watches 40,000 series (100 counties x 10 sources x 40
syndromes) with years of daily history, i.e. tens of millions of values, and the daily run must
read them in seconds. One row per value cannot be read that fast; so the *current* values are
kept as one block per source, syndrome and year: a float32 matrix (366 days x counties, NaN =
missing) with the county order in ``regions``. Every feed that arrives is a batch (audited), and
every value a later batch changes is kept in ``warning_value_revisions`` with its old and new
figure and version number, so late revisions are never lost and each can be traced to its batch.

Signals are derived from runs (a run is audited, its signals are rebuilt when the day is run
again); alerts, their lifecycle events, recipients and notification deliveries are audited.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from healthwatch.store.models import Base, JsonType, utcnow


class WarningFeedBatch(Base):
    """One arrival of feed data (a file, a JSON post, a line list, a bulk history load)."""

    __tablename__ = "warning_feed_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # counts / line_list / history
    origin: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    values_new: Mapped[int] = mapped_column(Integer, default=0)
    values_revised: Mapped[int] = mapped_column(Integer, default=0)
    values_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    first_date: Mapped[date | None] = mapped_column(Date)
    last_date: Mapped[date | None] = mapped_column(Date)

    def audit_key(self) -> str:
        return str(self.id)


class WarningSeriesBlock(Base):
    """Current daily counts of one source and syndrome in one year, all counties at once."""

    __tablename__ = "warning_series_blocks"
    __table_args__ = (
        UniqueConstraint("source", "syndrome", "year", name="uq_warning_blocks_series_year"),
    )
    __audited__ = False  # values are traced through batches and revisions instead

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    syndrome: Mapped[str] = mapped_column(String(60))
    year: Mapped[int] = mapped_column(Integer)
    regions: Mapped[list[str]] = mapped_column(JsonType)
    values: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def audit_key(self) -> str:
        return f"{self.source}/{self.syndrome}/{self.year}"


class WarningValueRevision(Base):
    """A value changed by a later batch: the earlier figure is kept here with its version."""

    __tablename__ = "warning_value_revisions"
    __audited__ = False  # this table is itself the record of changed values

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(Integer, ForeignKey("warning_feed_batches.id"))
    date: Mapped[date] = mapped_column(Date, index=True)
    region: Mapped[str] = mapped_column(String(6))
    source: Mapped[str] = mapped_column(String(40))
    syndrome: Mapped[str] = mapped_column(String(60))
    old_count: Mapped[float | None] = mapped_column(Float)
    new_count: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer)

    def audit_key(self) -> str:
        return f"{self.date}/{self.region}/{self.source}/{self.syndrome}@{self.version}"


class WarningConfig(Base):
    """How one syndrome (or disease) from one source is watched: method and parameters."""

    __tablename__ = "warning_configs"
    __table_args__ = (UniqueConstraint("syndrome", "source", name="uq_warning_configs_series"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    syndrome: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    history_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_key(self) -> str:
        return f"{self.syndrome}/{self.source}"


class WarningRun(Base):
    """The detection run of one day; ``stale`` when late data arrived for that day after it."""

    __tablename__ = "warning_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_date: Mapped[date] = mapped_column(Date, unique=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    times_run: Mapped[int] = mapped_column(Integer, default=1)
    series: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    signals: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduler: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[Any] = mapped_column(JsonType, nullable=True)

    def audit_key(self) -> str:
        return str(self.run_date)


class WarningSignal(Base):
    """A series that signalled on a run's day, with what the method saw."""

    __tablename__ = "warning_signals"
    __audited__ = False  # derived: rebuilt whenever the day is run again (the run is audited)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("warning_runs.id"), index=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    region: Mapped[str] = mapped_column(String(6))
    source: Mapped[str] = mapped_column(String(40))
    syndrome: Mapped[str] = mapped_column(String(60))
    method: Mapped[str] = mapped_column(String(40))
    observed: Mapped[float | None] = mapped_column(Float)
    expected: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float)
    single_case: Mapped[bool] = mapped_column(Boolean, default=False)

    def audit_key(self) -> str:
        return f"{self.date}/{self.region}/{self.source}/{self.syndrome}"


class WarningAlert(Base):
    """An alert for people to answer: fused signals or a space-time cluster, with evidence."""

    __tablename__ = "warning_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # fused / cluster
    dedupe_key: Mapped[str] = mapped_column(String(200), index=True)
    syndrome: Mapped[str] = mapped_column(String(60))
    region: Mapped[str] = mapped_column(String(6), index=True)
    regions: Mapped[list[str]] = mapped_column(JsonType)
    first_date: Mapped[date] = mapped_column(Date)
    last_date: Mapped[date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), index=True)
    p_value: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(60), default="")
    reason_zh: Mapped[str] = mapped_column(Text, default="")
    reason_en: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[Any] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_to: Mapped[str] = mapped_column(String(200), default="")

    def audit_key(self) -> str:
        return str(self.id)


class WarningAlertEvent(Base):
    """One step of an alert's life: who did what, when, with which note."""

    __tablename__ = "warning_alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(Integer, ForeignKey("warning_alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20), default="")
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")

    def audit_key(self) -> str:
        return f"{self.alert_id}#{self.id}"


class WarningRecipient(Base):
    """Who is told about new alerts of a region, from which level, by webhook or e-mail."""

    __tablename__ = "warning_recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))  # webhook / email
    address: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(6))
    min_level: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_key(self) -> str:
        return str(self.id)


class WarningNotification(Base):
    """One alert to tell one recipient; ``status`` pending / sent / failed after retries."""

    __tablename__ = "warning_notifications"
    __table_args__ = (
        UniqueConstraint("alert_id", "recipient_id", name="uq_warning_notifications_alert_rcpt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(Integer, ForeignKey("warning_alerts.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(Integer, ForeignKey("warning_recipients.id"))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def audit_key(self) -> str:
        return str(self.id)


class WarningDeliveryAttempt(Base):
    """One try to deliver a notification, successful or not (the delivery record)."""

    __tablename__ = "warning_delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("warning_notifications.id"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str] = mapped_column(Text, default="")
    seconds: Mapped[float] = mapped_column(Float, default=0.0)

    def audit_key(self) -> str:
        return f"{self.notification_id}#{self.attempt}"
