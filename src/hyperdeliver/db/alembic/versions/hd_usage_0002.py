"""hyperdeliver usage: per-user day rollup; the raw events lose their (feature, ts) index (and on PostgreSQL their ts index becomes BRIN); track events indexed by (event, user_id, ts) for funnels

Revision ID: hd_usage_0002
Revises: hd_usage_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_usage_0002"
down_revision = "hd_usage_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hd_usage_user_days",
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("last_used", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("feature", "user_id", "day", name="pk_hd_usage_user_days"),
    )
    op.create_index("ix_hd_usage_user_days_feature_day_last", "hd_usage_user_days", ["feature", "day", "last_used"])
    # Who uses a feature is now read from hd_usage_user_days: the raw events keep only
    # the ts index retention needs, which makes every flush cheaper.
    op.drop_index("ix_hd_usage_events_feature_ts", table_name="hd_usage_events")
    # A funnel step is a per-user minimum over one event name: with the user in the index
    # every step reads its rows already grouped (merge joins, no sorts).
    if op.get_bind().dialect.name == "postgresql":
        # Raw events arrive in time order: a BRIN index (a few pages for millions of rows,
        # nearly free to maintain) serves retention's range delete as well as a B-tree.
        op.drop_index("ix_hd_usage_events_ts", table_name="hd_usage_events")
        op.create_index("ix_hd_usage_events_ts", "hd_usage_events", ["ts"], postgresql_using="brin")
    op.drop_index("ix_hd_track_events_event_ts", table_name="hd_track_events")
    op.create_index("ix_hd_track_events_event_user_ts", "hd_track_events", ["event", "user_id", "ts"])
    op.execute(
        "INSERT INTO hd_usage_user_days (feature, user_id, day, calls, last_used) "
        "SELECT feature, user_id, date(ts), count(*), max(ts) FROM hd_usage_events WHERE user_id IS NOT NULL GROUP BY 1, 2, 3"
        if op.get_bind().dialect.name == "sqlite" else
        "INSERT INTO hd_usage_user_days (feature, user_id, day, calls, last_used) "
        "SELECT feature, user_id, (ts AT TIME ZONE 'UTC')::date, count(*), max(ts) FROM hd_usage_events "
        "WHERE user_id IS NOT NULL GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_hd_usage_events_ts", table_name="hd_usage_events")
        op.create_index("ix_hd_usage_events_ts", "hd_usage_events", ["ts"])
    op.drop_index("ix_hd_track_events_event_user_ts", table_name="hd_track_events")
    op.create_index("ix_hd_track_events_event_ts", "hd_track_events", ["event", "ts"])
    op.create_index("ix_hd_usage_events_feature_ts", "hd_usage_events", ["feature", "ts"])
    op.drop_index("ix_hd_usage_user_days_feature_day_last", table_name="hd_usage_user_days")
    op.drop_table("hd_usage_user_days")
