"""hyperdeliver auth: hd_login_attempts (the atomic throttle) and hd_auth_epoch (revocations seen by every process)

Revision ID: hd_auth_0003
Revises: hd_auth_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_auth_0003"
down_revision = "hd_auth_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hd_login_attempts",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_hd_login_attempts"),
    )
    epoch = op.create_table(
        "hd_auth_epoch",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hd_auth_epoch"),
    )
    op.bulk_insert(epoch, [{"id": 1, "epoch": 0}])
    op.drop_index("ix_hd_login_failures_key_at", table_name="hd_login_failures")
    op.drop_table("hd_login_failures")


def downgrade() -> None:
    op.create_table(
        "hd_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hd_login_failures"),
    )
    op.create_index("ix_hd_login_failures_key_at", "hd_login_failures", ["key", "at"])
    op.drop_table("hd_auth_epoch")
    op.drop_table("hd_login_attempts")
