"""Users, API tokens, web sessions and the append-only security audit log.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01

Why: logins with region-scoped roles (issue 12) and the security audit that 等保 2.0 level 3 asks
for. New tables only; existing rows are untouched. The database itself refuses UPDATE, DELETE
(and on PostgreSQL TRUNCATE) on ``security_log`` through triggers, so no application path and no
ordinary SQL session can rewrite the log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER security_log_no_{kind.lower()} BEFORE {kind} ON security_log "
    "BEGIN SELECT RAISE(ABORT, 'security_log is append-only'); END"
    for kind in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION security_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'security_log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER security_log_no_change BEFORE UPDATE OR DELETE ON security_log "
    "FOR EACH ROW EXECUTE FUNCTION security_log_append_only()",
    "CREATE TRIGGER security_log_no_truncate BEFORE TRUNCATE ON security_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION security_log_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("region", sa.String(6), sa.ForeignKey("regions.adcode"), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hint", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(20), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "security_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_security_log_at", "security_log", ["at"])
    op.create_index("ix_security_log_event", "security_log", ["event"])
    op.create_index("ix_security_log_subject", "security_log", ["subject"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_TRIGGERS}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS security_log_append_only() CASCADE")
    op.drop_table("security_log")
    op.drop_table("web_sessions")
    op.drop_table("api_tokens")
    op.drop_table("users")
