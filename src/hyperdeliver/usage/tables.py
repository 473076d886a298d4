"""The usage tables (SQLAlchemy Core; created by migrations ``hd_usage_0001`` to ``hd_usage_0003``).

- ``hd_usage_batches``: raw calls, one row per flush (see :mod:`.batch`), kept
  ``usage_retention_days``; the view ``hd_usage_events`` shows them one row per call.
- ``hd_usage_hourly`` / ``hd_usage_daily``: calls, errors, sum_ms and duration buckets
  ``h0..h31`` per (hour|day, feature, operation, interface), updated by every flush.
- ``hd_usage_users``: distinct users per (period d|w, start day, feature) as a
  :class:`~hyperdeliver.usage.sketch.UserSketch`; feature ``*`` = all features.
- ``hd_usage_user_days``: calls and last call per (feature, user, day), kept as long as
  the raw events; who still uses a feature is read from here.
- ``hd_track_events``: ``ctx.track`` product events. ``hd_releases``: deploys.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..db.model import UTCDateTime
from .histogram import COLUMNS

meta = sa.MetaData()
ALL = "*"


def _buckets() -> list[sa.Column]:
    return [sa.Column(c, sa.BigInteger(), nullable=False, server_default="0") for c in COLUMNS]


batches = sa.Table(
    "hd_usage_batches", meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("first_ts", UTCDateTime(), nullable=False),
    sa.Column("last_ts", UTCDateTime(), nullable=False),
    sa.Column("events", sa.Integer(), nullable=False),
    sa.Column("release", sa.String(64), nullable=False),
    sa.Column("keys", sa.Text(), nullable=False),
    sa.Column("rows", sa.Text(), nullable=False),
    sa.Index("ix_hd_usage_batches_last_ts", "last_ts"),
)
BATCH_COLUMNS = [c.name for c in batches.columns if c.name != "id"]

views = sa.MetaData()
"""Views, kept out of ``meta`` so that nothing creates them as tables."""
events = sa.Table(
    "hd_usage_events", views,
    sa.Column("ts", UTCDateTime()),
    sa.Column("feature", sa.String(100)),
    sa.Column("operation", sa.String(100)),
    sa.Column("interface", sa.String(16)),
    sa.Column("user_id", sa.BigInteger()),
    sa.Column("status", sa.SmallInteger()),
    sa.Column("duration_ms", sa.Float()),
    sa.Column("release", sa.String(64)),
)
"""The view over :data:`batches`: one row per recorded call (read only)."""


def _rollup(name: str, key: str, key_type: sa.types.TypeEngine) -> sa.Table:
    return sa.Table(
        name, meta,
        sa.Column(key, key_type, primary_key=True),
        sa.Column("feature", sa.String(100), primary_key=True),
        sa.Column("operation", sa.String(100), primary_key=True),
        sa.Column("interface", sa.String(16), primary_key=True),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("sum_ms", sa.Float(), nullable=False),
        *_buckets(),
    )


hourly = _rollup("hd_usage_hourly", "hour", UTCDateTime())
daily = _rollup("hd_usage_daily", "day", sa.Date())
ROLLUP_ADDED = [str(c.name) for c in hourly.columns if not c.primary_key]
"""The rollup columns a flush adds to: calls, errors, sum_ms and the buckets, in table order."""


def added_sql(table: str) -> str:
    """The ``DO UPDATE SET`` list that adds a conflicting rollup row's increments to ``table``'s."""
    return ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in ROLLUP_ADDED)

users = sa.Table(
    "hd_usage_users", meta,
    sa.Column("period", sa.String(1), primary_key=True),
    sa.Column("start", sa.Date(), primary_key=True),
    sa.Column("feature", sa.String(100), primary_key=True),
    sa.Column("users", sa.Integer(), nullable=False),
    sa.Column("sketch", sa.LargeBinary(), nullable=False),
)

user_days = sa.Table(
    "hd_usage_user_days", meta,
    sa.Column("feature", sa.String(100), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("calls", sa.BigInteger(), nullable=False),
    sa.Column("last_used", UTCDateTime(), nullable=False),
    sa.Index("ix_hd_usage_user_days_feature_day_last", "feature", "day", "last_used"),
)

track = sa.Table(
    "hd_track_events", meta,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("ts", UTCDateTime(), nullable=False),
    sa.Column("event", sa.String(200), nullable=False),
    sa.Column("user_id", sa.BigInteger(), nullable=True),
    sa.Column("feature", sa.String(100), nullable=True),
    sa.Column("props", sa.JSON(), nullable=False),
    sa.Index("ix_hd_track_events_event_user_ts", "event", "user_id", "ts"),
)

releases = sa.Table(
    "hd_releases", meta,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("sha", sa.String(64), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
)
