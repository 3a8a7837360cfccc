"""Indicator data: reported values (versioned), imports and approvals.

Revision ID: 0004
Revises: 0003
Create Date: 2024-08-01

Why: indicator figures were passed around as Excel sheets; stored, every version of every value
is kept with who stored it and why, imports are recorded and approvals lock a region's period.
New tables only: existing rows are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "data_values",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("element", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.Column("stored_by", sa.String(200), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.Integer, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.UniqueConstraint(
            "element", "period", "region", "version", name="uq_data_values_version"
        ),
    )
    op.create_table(
        "data_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(6), sa.ForeignKey("regions.adcode"), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.UniqueConstraint("region", "period", name="uq_data_approvals_region_period"),
    )


def downgrade() -> None:
    op.drop_table("data_approvals")
    op.drop_table("data_values")
    op.drop_table("data_imports")
