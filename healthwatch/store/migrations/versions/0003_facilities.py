"""Facility registry: hospitals, health centres, village clinics, EMS centres and stations.

Revision ID: 0003
Revises: 0002
Create Date: 2024-07-01

Why: the registry was only read from files; stored, it is imported once, updated in place by id
and every change is in the audit trail. A new table only: existing rows are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COUNT_COLUMNS = (
    "beds",
    "physicians",
    "nurses",
    "gps",
    "pharmacists",
    "ambulances",
    "negative_pressure",
)


def upgrade() -> None:
    op.create_table(
        "facilities",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("adcode", sa.String(6), sa.ForeignKey("regions.adcode"), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        *(sa.Column(c, sa.Integer, nullable=False) for c in COUNT_COLUMNS),
        sa.Column("year", sa.Integer, nullable=True),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )
    op.create_index("ix_facilities_kind", "facilities", ["kind"])
    op.create_index("ix_facilities_adcode", "facilities", ["adcode"])


def downgrade() -> None:
    op.drop_table("facilities")
