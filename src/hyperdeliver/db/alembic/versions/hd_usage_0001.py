"""hyperdeliver usage tables: raw events, hourly/daily rollups, user sketches, track events, releases

Revision ID: hd_usage_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_usage_0001"
down_revision = None
branch_labels = ("hd_usage",)
depends_on = None

NBUCKETS = 32  # hyperdeliver.usage.histogram.NBUCKETS at the time of this revision


def _rollup(name: str, key: str, key_type: sa.types.TypeEngine) -> None:
    op.create_table(
        name,
        sa.Column(key, key_type, nullable=False),
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("operation", sa.String(100), nullable=False),
        sa.Column("interface", sa.String(16), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("sum_ms", sa.Float(), nullable=False),
        *[sa.Column(f"h{i}", sa.BigInteger(), nullable=False, server_default="0") for i in range(NBUCKETS)],
        sa.PrimaryKeyConstraint(key, "feature", "operation", "interface", name=f"pk_{name}"),
    )


def upgrade() -> None:
    op.create_table(
        "hd_usage_events",
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("operation", sa.String(100), nullable=False),
        sa.Column("interface", sa.String(16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("release", sa.String(64), nullable=False),
    )
    op.create_index("ix_hd_usage_events_ts", "hd_usage_events", ["ts"])
    op.create_index("ix_hd_usage_events_feature_ts", "hd_usage_events", ["feature", "ts"])
    _rollup("hd_usage_hourly", "hour", UTCDateTime())
    op.create_index("ix_hd_usage_hourly_feature_hour", "hd_usage_hourly", ["feature", "hour"])
    _rollup("hd_usage_daily", "day", sa.Date())
    op.create_table(
        "hd_usage_users",
        sa.Column("period", sa.String(1), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("period", "start", "feature", name="pk_hd_usage_users"),
    )
    op.create_table(
        "hd_track_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("event", sa.String(200), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("feature", sa.String(100), nullable=True),
        sa.Column("props", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hd_track_events"),
    )
    op.create_index("ix_hd_track_events_event_ts", "hd_track_events", ["event", "ts"])
    op.create_table(
        "hd_releases",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_hd_releases"),
    )


def downgrade() -> None:
    for t in ("hd_releases", "hd_track_events", "hd_usage_users", "hd_usage_daily", "hd_usage_hourly", "hd_usage_events"):
        op.drop_table(t)
