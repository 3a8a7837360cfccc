"""Stored evaluations (plan, as-of year, kind, data version, result document) and project
progress reports.

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-01

Why: an evaluation the commission files must be reproducible and comparable with a later one,
so each run is kept with the plan version and the hash of the exact input values it used. A new
table only: existing rows are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.String(100), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("plan_version", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("data_version", sa.String(80), nullable=False),
        sa.Column("data_source", sa.String(40), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_evaluations_plan_id", "evaluations", ["plan_id"])
    op.create_index("ix_evaluations_data_version", "evaluations", ["data_version"])
    op.create_table(
        "project_progress",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.String(100), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("project_id", sa.String(100), nullable=False),
        sa.Column("report_date", sa.Date, nullable=False),
        sa.Column("percent_complete", sa.Float, nullable=False),
        sa.Column("spent_10k_yuan", sa.Float, nullable=False),
        sa.Column("budget_10k_yuan", sa.Float, nullable=True),
        sa.Column("planned_start", sa.Date, nullable=True),
        sa.Column("planned_end", sa.Date, nullable=True),
        sa.Column("planned_percent", sa.Float, nullable=True),
        sa.Column("milestone", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "plan_id", "project_id", "report_date", name="uq_project_progress_plan_project_date"
        ),
    )
    op.create_index("ix_project_progress_plan_id", "project_progress", ["plan_id"])


def downgrade() -> None:
    op.drop_table("project_progress")
    op.drop_table("evaluations")
