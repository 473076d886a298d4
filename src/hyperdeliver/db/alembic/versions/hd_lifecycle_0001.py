"""hyperdeliver lifecycle tables: hd_feature_states and hd_flags

Revision ID: hd_lifecycle_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_lifecycle_0001"
down_revision = None
branch_labels = ("hd_lifecycle",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hd_feature_states",
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("lifecycle", sa.String(20), nullable=False),
        sa.Column("sunset", sa.Date(), nullable=True),
        sa.Column("link", sa.String(500), nullable=True),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=False),
        sa.PrimaryKeyConstraint("feature", name="pk_hd_feature_states"),
    )
    op.create_table(
        "hd_flags",
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("percentage", sa.Integer(), nullable=False),
        sa.Column("roles", sa.String(500), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=False),
        sa.PrimaryKeyConstraint("feature", name="pk_hd_flags"),
    )


def downgrade() -> None:
    op.drop_table("hd_flags")
    op.drop_table("hd_feature_states")
