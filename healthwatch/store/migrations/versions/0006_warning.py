"""Early-warning platform: feed batches and value blocks with revisions, detection
configurations and runs, signals, alerts with their events, recipients and notifications.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Why: the platform runs detection every day on stored feeds and carries alerts to people. New
tables only: existing rows are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "warning_feed_batches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _ts("received_at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("values_new", sa.Integer, nullable=False),
        sa.Column("values_revised", sa.Integer, nullable=False),
        sa.Column("values_unchanged", sa.Integer, nullable=False),
        sa.Column("first_date", sa.Date, nullable=True),
        sa.Column("last_date", sa.Date, nullable=True),
    )
    op.create_table(
        "warning_series_blocks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("syndrome", sa.String(60), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("regions", sa.JSON, nullable=False),
        sa.Column("values", sa.LargeBinary, nullable=False),
        _ts("updated_at"),
        sa.UniqueConstraint("source", "syndrome", "year", name="uq_warning_blocks_series_year"),
    )
    op.create_table(
        "warning_value_revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("warning_feed_batches.id"), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("syndrome", sa.String(60), nullable=False),
        sa.Column("old_count", sa.Float, nullable=True),
        sa.Column("new_count", sa.Float, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_warning_value_revisions_date", "warning_value_revisions", ["date"])
    op.create_table(
        "warning_configs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("syndrome", sa.String(60), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("history_days", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.UniqueConstraint("syndrome", "source", name="uq_warning_configs_series"),
    )
    op.create_table(
        "warning_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_date", sa.Date, nullable=False, unique=True),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("times_run", sa.Integer, nullable=False),
        sa.Column("series", sa.Integer, nullable=False),
        sa.Column("missing", sa.Integer, nullable=False),
        sa.Column("signals", sa.Integer, nullable=False),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("stale", sa.Boolean, nullable=False),
        sa.Column("scheduler", sa.Text, nullable=False),
        sa.Column("notes", sa.JSON, nullable=True),
    )
    op.create_table(
        "warning_signals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("warning_runs.id"), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("syndrome", sa.String(60), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        *(
            sa.Column(c, sa.Float, nullable=True)
            for c in ("observed", "expected", "threshold", "score", "p_value")
        ),
        sa.Column("single_case", sa.Boolean, nullable=False),
    )
    op.create_index("ix_warning_signals_run_id", "warning_signals", ["run_id"])
    op.create_index("ix_warning_signals_date", "warning_signals", ["date"])
    op.create_table(
        "warning_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("syndrome", sa.String(60), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("regions", sa.JSON, nullable=False),
        sa.Column("first_date", sa.Date, nullable=False),
        sa.Column("last_date", sa.Date, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("p_value", sa.Float, nullable=True),
        sa.Column("method", sa.String(60), nullable=False),
        sa.Column("reason_zh", sa.Text, nullable=False),
        sa.Column("reason_en", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("due_at"),
        _ts("verified_at", nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("assigned_to", sa.String(200), nullable=False),
    )
    op.create_index("ix_warning_alerts_dedupe_key", "warning_alerts", ["dedupe_key"])
    op.create_index("ix_warning_alerts_region", "warning_alerts", ["region"])
    op.create_index("ix_warning_alerts_status", "warning_alerts", ["status"])
    op.create_table(
        "warning_alert_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("warning_alerts.id"), nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=False),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_warning_alert_events_alert_id", "warning_alert_events", ["alert_id"])
    op.create_table(
        "warning_recipients",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("min_level", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "warning_notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("warning_alerts.id"), nullable=False),
        sa.Column(
            "recipient_id", sa.Integer, sa.ForeignKey("warning_recipients.id"), nullable=False
        ),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("delivered_at", nullable=True),
        sa.UniqueConstraint("alert_id", "recipient_id", name="uq_warning_notifications_alert_rcpt"),
    )
    op.create_index("ix_warning_notifications_alert_id", "warning_notifications", ["alert_id"])
    op.create_index("ix_warning_notifications_status", "warning_notifications", ["status"])
    op.create_table(
        "warning_delivery_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "notification_id",
            sa.Integer,
            sa.ForeignKey("warning_notifications.id"),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer, nullable=False),
        _ts("at"),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_warning_delivery_attempts_notification_id",
        "warning_delivery_attempts",
        ["notification_id"],
    )


def downgrade() -> None:
    for table in (
        "warning_delivery_attempts",
        "warning_notifications",
        "warning_recipients",
        "warning_alert_events",
        "warning_alerts",
        "warning_signals",
        "warning_runs",
        "warning_configs",
        "warning_value_revisions",
        "warning_series_blocks",
        "warning_feed_batches",
    ):
        op.drop_table(table)
