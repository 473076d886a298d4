"""hyperdeliver auth tables

Revision ID: hd_auth_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_auth_0001"
down_revision = None
branch_labels = ("hd_auth",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hd_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("roles", sa.String(500), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("password_changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hd_users"),
        sa.UniqueConstraint("email", name="uq_hd_users_email"),
    )
    op.create_table(
        "hd_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["hd_users.id"], name="fk_hd_sessions_user_id_hd_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash", name="pk_hd_sessions"),
    )
    op.create_index("ix_hd_sessions_user_id", "hd_sessions", ["user_id"])
    op.create_table(
        "hd_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("selector", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["hd_users.id"], name="fk_hd_api_tokens_user_id_hd_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_hd_api_tokens"),
        sa.UniqueConstraint("selector", name="uq_hd_api_tokens_selector"),
    )
    op.create_index("ix_hd_api_tokens_user_id", "hd_api_tokens", ["user_id"])
    op.create_table(
        "hd_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hd_login_failures"),
    )
    op.create_index("ix_hd_login_failures_key_at", "hd_login_failures", ["key", "at"])


def downgrade() -> None:
    op.drop_table("hd_login_failures")
    op.drop_table("hd_api_tokens")
    op.drop_table("hd_sessions")
    op.drop_table("hd_users")
