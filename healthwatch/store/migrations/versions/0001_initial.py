"""Initial schema: regions, populations, versioned plans, audit log.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JsonType = sa.JSON()  # plain JSON everywhere: documents are kept exactly as given


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("adcode", sa.String(6), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent", sa.String(6), sa.ForeignKey("regions.adcode"), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("type_zh", sa.String(20), nullable=False),
    )
    op.create_index("ix_regions_parent", "regions", ["parent"])
    op.create_table(
        "populations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("adcode", sa.String(6), sa.ForeignKey("regions.adcode"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("resident_persons", sa.Float, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.UniqueConstraint("adcode", "year", name="uq_populations_adcode_year"),
    )
    op.create_index("ix_populations_adcode", "populations", ["adcode"])
    op.create_table(
        "plans",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("start_year", sa.Integer, nullable=True),
        sa.Column("end_year", sa.Integer, nullable=True),
    )
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.String(100), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", JsonType, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.UniqueConstraint("plan_id", "version", name="uq_plan_versions_plan_version"),
    )
    op.create_index("ix_plan_versions_plan_id", "plan_versions", ["plan_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("entity", sa.String(50), nullable=False),
        sa.Column("entity_key", sa.String(200), nullable=False),
        sa.Column("before", JsonType, nullable=True),
        sa.Column("after", JsonType, nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity"])
    op.create_index("ix_audit_log_entity_key", "audit_log", ["entity_key"])


def downgrade() -> None:
    for table in ("audit_log", "plan_versions", "plans", "populations", "regions"):
        op.drop_table(table)
