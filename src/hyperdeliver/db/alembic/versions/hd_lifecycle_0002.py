"""hyperdeliver lifecycle: hd_features_seen, when each feature first ran (the sunset grace period)

Revision ID: hd_lifecycle_0002
Revises: hd_lifecycle_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_lifecycle_0002"
down_revision = "hd_lifecycle_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hd_features_seen",
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("feature", name="pk_hd_features_seen"),
    )


def downgrade() -> None:
    op.drop_table("hd_features_seen")
