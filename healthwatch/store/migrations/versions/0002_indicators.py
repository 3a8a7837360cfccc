"""Indicators table and plans.indicator_count, backfilled from each plan's current version.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-15

Why: queries across plans (all indicators of a category, every target for a region) should not
parse JSON documents. The rows are derived from ``plan_versions``; existing databases get them
filled in here, so upgrading never loses or hides anything.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JsonType = sa.JSON()  # plain JSON everywhere: documents are kept exactly as given


def upgrade() -> None:
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.String(100), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("category_zh", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("direction", sa.String(40), nullable=False),
        sa.Column("nature", sa.String(40), nullable=False),
        sa.Column("baselines", JsonType, nullable=True),
        sa.Column("target", JsonType, nullable=True),
        sa.UniqueConstraint("plan_id", "code", name="uq_indicators_plan_code"),
    )
    op.create_index("ix_indicators_plan_id", "indicators", ["plan_id"])
    with op.batch_alter_table("plans") as batch:
        batch.add_column(
            sa.Column("indicator_count", sa.Integer, nullable=False, server_default="0")
        )
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    plans = sa.table("plans", sa.column("id"), sa.column("current_version"))
    versions = sa.table(
        "plan_versions", sa.column("plan_id"), sa.column("version"), sa.column("document", sa.JSON)
    )
    indicators = sa.table(
        "indicators",
        *(
            sa.column(c)
            for c in [
                "plan_id",
                "version",
                "position",
                "code",
                "name_zh",
                "name_en",
                "category_zh",
                "unit",
                "direction",
                "nature",
            ]
        ),
        sa.column("baselines", sa.JSON),
        sa.column("target", sa.JSON),
    )
    counts = sa.table("plans", sa.column("id"), sa.column("indicator_count"))
    current = conn.execute(
        sa.select(plans.c.id, versions.c.version, versions.c.document).join(
            versions,
            (versions.c.plan_id == plans.c.id) & (versions.c.version == plans.c.current_version),
        )
    ).all()
    for plan_id, version, document in current:
        items = list((document or {}).get("indicators") or [])
        rows = [
            {
                "plan_id": plan_id,
                "version": version,
                "position": i,
                "code": str(item.get("code", i)),
                "name_zh": str(item.get("name_zh") or ""),
                "name_en": str(item.get("name_en") or ""),
                "category_zh": str(item.get("category_zh") or ""),
                "unit": str(item.get("unit") or ""),
                "direction": str(item.get("direction") or ""),
                "nature": str(item.get("nature") or ""),
                "baselines": item.get("baselines"),
                "target": item.get("target"),
            }
            for i, item in enumerate(items)
        ]
        if rows:
            conn.execute(indicators.insert(), rows)
        conn.execute(
            counts.update().where(counts.c.id == plan_id).values(indicator_count=len(rows))
        )


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("indicator_count")
    op.drop_table("indicators")
