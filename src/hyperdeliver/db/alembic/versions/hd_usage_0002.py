"""hyperdeliver usage: raw events in batches (hd_usage_batches, viewed one call per row as hd_usage_events); per-user day rollup; track events indexed by (event, user_id, ts) for funnels

Revision ID: hd_usage_0002
Revises: hd_usage_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_usage_0002"
down_revision = "hd_usage_0001"
branch_labels = None
depends_on = None

# The batch format at this revision (hyperdeliver.usage.batch): keys = JSON list of
# [feature, operation, interface]; rows = JSON list of [epoch, key index, user id, status, ms].
VIEW = {
    "sqlite": """
CREATE VIEW hd_usage_events AS
SELECT strftime('%Y-%m-%d %H:%M:%S', json_extract(r.value, '$[0]'), 'unixepoch')
         || printf('.%06d', CAST(json_extract(r.value, '$[0]') * 1000000 AS INTEGER) % 1000000) AS ts,
       json_extract(b.keys, '$[' || json_extract(r.value, '$[1]') || '][0]') AS feature,
       json_extract(b.keys, '$[' || json_extract(r.value, '$[1]') || '][1]') AS operation,
       json_extract(b.keys, '$[' || json_extract(r.value, '$[1]') || '][2]') AS interface,
       json_extract(r.value, '$[2]') AS user_id,
       json_extract(r.value, '$[3]') AS status,
       json_extract(r.value, '$[4]') AS duration_ms,
       b.release AS release
FROM hd_usage_batches AS b, json_each(b.rows) AS r
""",
    "postgresql": """
CREATE VIEW hd_usage_events AS
SELECT to_timestamp((r.value ->> 0)::float8) AS ts,
       (b.keys::json -> ((r.value ->> 1)::int)) ->> 0 AS feature,
       (b.keys::json -> ((r.value ->> 1)::int)) ->> 1 AS operation,
       (b.keys::json -> ((r.value ->> 1)::int)) ->> 2 AS interface,
       (r.value ->> 2)::bigint AS user_id,
       (r.value ->> 3)::smallint AS status,
       (r.value ->> 4)::float8 AS duration_ms,
       b.release AS release
FROM hd_usage_batches AS b CROSS JOIN LATERAL json_array_elements(b.rows::json) AS r(value)
""",
}
CHUNK = 1000


def _epoch(ts: Any) -> float:
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return float(ts.timestamp())


def _old_rows_to_batches(batches: sa.Table) -> None:
    """Every raw row of hd_usage_0001's table, re-written as batches of CHUNK calls."""
    conn = op.get_bind()
    old = conn.execute(sa.text(
        "SELECT ts, feature, operation, interface, user_id, status, duration_ms, release FROM hd_usage_events_0001 ORDER BY release, ts"
    ))
    while True:
        part = old.fetchmany(CHUNK * 10)
        if not part:
            break
        groups: dict[tuple[str, int], list[Any]] = {}
        for r in part:
            groups.setdefault((r[7], int(_epoch(r[0]) // 3600)), []).append(r)
        out = []
        for (release, _), group in groups.items():
            for i in range(0, len(group), CHUNK):
                chunk = group[i:i + CHUNK]
                index: dict[tuple[str, str, str], int] = {}
                rows = [[_epoch(r[0]), index.setdefault((r[1], r[2], r[3]), len(index)), r[4], r[5], r[6]] for r in chunk]
                stamps = [row[0] for row in rows]
                out.append({
                    "first_ts": datetime.fromtimestamp(min(stamps), timezone.utc), "last_ts": datetime.fromtimestamp(max(stamps), timezone.utc),
                    "events": len(rows), "release": release, "keys": orjson.dumps(list(index)).decode(), "rows": orjson.dumps(rows).decode(),
                })
        conn.execute(batches.insert(), out)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
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
    op.execute(
        "INSERT INTO hd_usage_user_days (feature, user_id, day, calls, last_used) "
        "SELECT feature, user_id, date(ts), count(*), max(ts) FROM hd_usage_events WHERE user_id IS NOT NULL GROUP BY 1, 2, 3"
        if dialect == "sqlite" else
        "INSERT INTO hd_usage_user_days (feature, user_id, day, calls, last_used) "
        "SELECT feature, user_id, (ts AT TIME ZONE 'UTC')::date, count(*), max(ts) FROM hd_usage_events "
        "WHERE user_id IS NOT NULL GROUP BY 1, 2, 3"
    )
    # One row per flush instead of one per call (see hyperdeliver.usage.batch): the
    # per-call insert and index entry cost more than the call being recorded.
    batches = op.create_table(
        "hd_usage_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("first_ts", UTCDateTime(), nullable=False),
        sa.Column("last_ts", UTCDateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("release", sa.String(64), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hd_usage_batches"),
    )
    op.create_index("ix_hd_usage_batches_last_ts", "hd_usage_batches", ["last_ts"])
    op.drop_index("ix_hd_usage_events_feature_ts", table_name="hd_usage_events")
    op.drop_index("ix_hd_usage_events_ts", table_name="hd_usage_events")
    op.rename_table("hd_usage_events", "hd_usage_events_0001")
    _old_rows_to_batches(batches)
    op.drop_table("hd_usage_events_0001")
    op.execute(VIEW[dialect])
    # A funnel step is a per-user minimum over one event name: with the user in the index
    # every step reads its rows already grouped (merge joins, no sorts).
    op.drop_index("ix_hd_track_events_event_ts", table_name="hd_track_events")
    op.create_index("ix_hd_track_events_event_user_ts", "hd_track_events", ["event", "user_id", "ts"])


def downgrade() -> None:
    op.drop_index("ix_hd_track_events_event_user_ts", table_name="hd_track_events")
    op.create_index("ix_hd_track_events_event_ts", "hd_track_events", ["event", "ts"])
    op.execute("DROP VIEW hd_usage_events")
    events = op.create_table(
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
    conn = op.get_bind()
    for keys, rows, release in conn.execute(sa.text("SELECT keys, rows, release FROM hd_usage_batches ORDER BY id")).all():
        triples = orjson.loads(keys)
        conn.execute(events.insert(), [
            {"ts": datetime.fromtimestamp(ts, timezone.utc), "feature": triples[k][0], "operation": triples[k][1], "interface": triples[k][2],
             "user_id": uid, "status": status, "duration_ms": ms, "release": release}
            for ts, k, uid, status, ms in orjson.loads(rows)
        ])
    op.create_index("ix_hd_usage_events_ts", "hd_usage_events", ["ts"])
    op.create_index("ix_hd_usage_events_feature_ts", "hd_usage_events", ["feature", "ts"])
    op.drop_index("ix_hd_usage_batches_last_ts", table_name="hd_usage_batches")
    op.drop_table("hd_usage_batches")
    op.drop_index("ix_hd_usage_user_days_feature_day_last", table_name="hd_usage_user_days")
    op.drop_table("hd_usage_user_days")
