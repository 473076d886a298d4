"""hyperdeliver auth: hd_memberships, roles held within a scope (a workspace, an organisation)

Revision ID: hd_auth_0002
Revises: hd_auth_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_auth_0002"
down_revision = "hd_auth_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hd_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(50), nullable=False),
        sa.Column("scope_id", sa.String(100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["hd_users.id"], name="fk_hd_memberships_user_id_hd_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_hd_memberships"),
        sa.UniqueConstraint("user_id", "scope", "scope_id", "role", name="uq_hd_memberships_user_scope_role"),
    )
    op.create_index("ix_hd_memberships_scope_scope_id", "hd_memberships", ["scope", "scope_id"])


def downgrade() -> None:
    op.drop_index("ix_hd_memberships_scope_scope_id", table_name="hd_memberships")
    op.drop_table("hd_memberships")
