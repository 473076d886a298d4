"""Writing usage: one batch = raw rows (COPY on PostgreSQL, executemany on SQLite) plus
incremental rollup updates, in one transaction.

The rollups are aggregated in Python from the batch, then upserted (counters add up,
sketches are read, merged and written back under ``FOR UPDATE`` on PostgreSQL), so a
dashboard never scans the raw table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables as t
from .events import UsageEvent
from .histogram import COLUMNS, NBUCKETS, bucket
from .sketch import UserSketch, hash_user

if TYPE_CHECKING:
    from ..app import App


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def period_starts(day: date) -> list[tuple[str, date]]:
    """The (period, start) rows a day contributes to: the day and its ISO week."""
    return [("d", day), ("w", day - timedelta(days=day.weekday()))]


SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy stores a DateTime on SQLite (UTC, zone dropped): driver-level writes match it."""


def _sqlite_ts(ts: datetime) -> str:
    if ts.tzinfo is not None:
        if ts.tzinfo is not timezone.utc:
            ts = ts.astimezone(timezone.utc)
        ts = ts.replace(tzinfo=None)
    return ts.isoformat(" ", "microseconds")  # == strftime(SQLITE_TS), about 5x cheaper


async def _driver_executemany(conn: AsyncConnection, sql_pg: str, sql_sqlite: str, rows: list[tuple[Any, ...]]) -> None:
    """executemany on the DBAPI driver, below SQLAlchemy's per-row parameter processing."""
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        await raw.driver_connection.executemany(sql_pg, rows)  # type: ignore[union-attr]
    else:
        await conn.exec_driver_sql(sql_sqlite, rows)  # type: ignore[arg-type]


async def write_raw(conn: AsyncConnection, batch: Sequence[UsageEvent]) -> None:
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "hd_usage_events", records=batch, columns=t.EVENT_COLUMNS
        )
    else:
        cols = ", ".join(t.EVENT_COLUMNS)
        await conn.exec_driver_sql(
            f"INSERT INTO hd_usage_events ({cols}) VALUES ({', '.join('?' * len(t.EVENT_COLUMNS))})",
            [(_sqlite_ts(e[0]), *e[1:]) for e in batch],  # type: ignore[arg-type]
        )


def _upsert_sql(table: str, key: str, placeholder: Any) -> str:
    cols = [key, "feature", "operation", "interface", "calls", "errors", "sum_ms", *COLUMNS]
    added = ["calls", "errors", "sum_ms", *COLUMNS]
    values = ", ".join(placeholder(i) for i in range(1, len(cols) + 1))
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in added)
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({values}) "
            f"ON CONFLICT ({key}, feature, operation, interface) DO UPDATE SET {sets}")


UPSERT = {
    (name, dialect): _upsert_sql(name, key, (lambda i: f"${i}") if dialect == "postgresql" else (lambda i: "?"))
    for name, key in (("hd_usage_hourly", "hour"), ("hd_usage_daily", "day"))
    for dialect in ("postgresql", "sqlite")
}


UserSets = dict[tuple[str, date, str], set[int]]


async def update_rollups(conn: AsyncConnection, batch: Iterable[UsageEvent], pending_users: UserSets | None = None) -> None:
    """Fold a batch of events into every rollup table.

    With ``pending_users`` the batch's user hashes are added there instead of being merged
    into the stored sketches now (the recorder merges them every ``SKETCH_INTERVAL``).
    """
    hours: dict[tuple, list[Any]] = {}
    days: dict[tuple, list[Any]] = {}
    user_sets: dict[tuple[str, date, str], set[int]] = defaultdict(set)
    for e in batch:
        ts = e.ts
        hour = ts.replace(minute=0, second=0, microsecond=0)
        day = hour.date()
        b = bucket(e.duration_ms)
        err = 1 if e.status >= 500 else 0
        for agg, k in ((hours, (hour, e.feature, e.operation, e.interface)), (days, (day, e.feature, e.operation, e.interface))):
            row = agg.get(k)
            if row is None:
                row = agg[k] = [0, 0, 0.0, [0] * NBUCKETS]
            row[0] += 1
            row[1] += err
            row[2] += e.duration_ms
            row[3][b] += 1
        uid = e.user_id
        if uid is not None:
            h = hash_user(uid)
            user_sets[("d", day, e.feature)].add(h)
            user_sets[("d", day, t.ALL)].add(h)
    pg = conn.dialect.name == "postgresql"
    for name, agg in (("hd_usage_hourly", hours), ("hd_usage_daily", days)):
        if not agg:
            continue
        rows = []
        for (k0, feature, operation, interface), (calls, errors, sum_ms, hist) in agg.items():
            if not pg:
                k0 = _sqlite_ts(k0) if isinstance(k0, datetime) else k0.isoformat()
            rows.append((k0, feature, operation, interface, calls, errors, sum_ms, *hist))
        sql = UPSERT[(name, "postgresql" if pg else "sqlite")]
        await _driver_executemany(conn, sql, sql, rows)
    if pending_users is not None:
        for k, hs in user_sets.items():
            if k in pending_users:
                pending_users[k] |= hs
            else:
                pending_users[k] = hs
    elif user_sets:
        await merge_sketches(conn, user_sets)


async def merge_sketches(conn: AsyncConnection, user_sets: UserSets) -> None:
    """Merge day sets of user hashes into the stored day and week sketches."""
    wide: UserSets = defaultdict(set)
    for (_, day, feature), hs in user_sets.items():
        for period, start in period_starts(day):
            wide[(period, start, feature)] |= hs
    keys = sorted(wide)
    u = t.users
    cond = sa.tuple_(u.c.period, u.c.start, u.c.feature).in_(keys)
    q = sa.select(u.c.period, u.c.start, u.c.feature, u.c.sketch).where(cond)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    existing = {(r[0], r[1], r[2]): r[3] for r in (await conn.execute(q)).all()}
    inserts, updates = [], []
    for k in keys:
        s = UserSketch.from_bytes(existing.get(k))
        s.add_hashes(wide[k])
        row = {"period": k[0], "start": k[1], "feature": k[2], "users": s.count(), "sketch": s.to_bytes()}
        (updates if k in existing else inserts).append(row)
    if inserts:
        await conn.execute(u.insert(), inserts)
    if updates:
        stmt = (
            u.update()
            .where(u.c.period == sa.bindparam("k_period"), u.c.start == sa.bindparam("k_start"), u.c.feature == sa.bindparam("k_feature"))
            .values(users=sa.bindparam("users"), sketch=sa.bindparam("sketch"))
        )
        await conn.execute(stmt, [{"k_period": r["period"], "k_start": r["start"], "k_feature": r["feature"], "users": r["users"], "sketch": r["sketch"]} for r in updates])


async def persist(
    app: App, batch: Sequence[UsageEvent], *, raw: bool = True, rollups: bool = True, pending_users: UserSets | None = None
) -> None:
    """Write one batch in one transaction (raw rows and rollups together, or neither)."""
    if not batch:
        return
    async with app.database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT 1"))  # opens the transaction the driver-level writes join
        if rollups:
            await update_rollups(conn, batch, pending_users)
        if raw:
            await write_raw(conn, batch)


async def flush_users(app: App, pending_users: UserSets) -> None:
    """Merge accumulated user hashes into the stored sketches (then clear them)."""
    if pending_users:
        async with app.database.engine.begin() as conn:
            await merge_sketches(conn, pending_users)
        pending_users.clear()


async def write_track(app: App, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        async with app.database.engine.begin() as conn:
            await conn.execute(t.track.insert(), list(rows))


async def purge(app: App, now: datetime | None = None) -> int:
    """Delete raw events older than ``usage_retention_days``; returns the rows deleted."""
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=app.settings.usage_retention_days)
    async with app.database.engine.begin() as conn:
        res = await conn.execute(t.events.delete().where(t.events.c.ts < cutoff))
    return int(res.rowcount or 0)


def _bucket_sql() -> str:
    from .histogram import BASE_MS, NBUCKETS, RATIO

    return (f"CASE WHEN duration_ms < {BASE_MS} THEN 0 ELSE "
            f"least({NBUCKETS - 1}, floor(ln(duration_ms / {BASE_MS}) / ln({RATIO}))::int + 1) END")


async def rebuild_counters_pg(conn: AsyncConnection) -> None:
    """PostgreSQL: the hourly and daily counters recomputed in SQL from the raw events
    (same buckets as :func:`hyperdeliver.usage.histogram.bucket`)."""
    hist = ", ".join(f"count(*) FILTER (WHERE b = {i})" for i in range(NBUCKETS))
    cols = ", ".join(COLUMNS)
    await conn.execute(sa.text(
        f"INSERT INTO hd_usage_hourly (hour, feature, operation, interface, calls, errors, sum_ms, {cols}) "
        f"SELECT date_trunc('hour', ts), feature, operation, interface, count(*), count(*) FILTER (WHERE status >= 500), "
        f"sum(duration_ms), {hist} FROM (SELECT ts, feature, operation, interface, status, duration_ms, {_bucket_sql()} AS b "
        f"FROM hd_usage_events) e GROUP BY 1, 2, 3, 4"
    ))
    sums = ", ".join(f"sum({c})" for c in COLUMNS)
    await conn.execute(sa.text(
        f"INSERT INTO hd_usage_daily (day, feature, operation, interface, calls, errors, sum_ms, {cols}) "
        f"SELECT (hour AT TIME ZONE 'UTC')::date, feature, operation, interface, sum(calls), sum(errors), sum(sum_ms), {sums} "
        f"FROM hd_usage_hourly GROUP BY 1, 2, 3, 4"
    ))


async def rebuild_sketches(app: App) -> int:
    """PostgreSQL: day and week user sketches from the distinct (day, feature, user) of the
    raw events, streamed; returns the number of raw events."""
    sets: dict[tuple[str, date, str], set[int]] = defaultdict(set)
    async with app.database.engine.connect() as conn:
        n = int((await conn.execute(sa.text("SELECT count(*) FROM hd_usage_events"))).scalar() or 0)
        result = await conn.stream(sa.text(
            "SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date AS day, feature, user_id FROM hd_usage_events WHERE user_id IS NOT NULL"
        ))
        async for part in result.partitions(100_000):
            for day, feature, uid in part:
                h = hash_user(uid)
                sets[("d", day, feature)].add(h)
                sets[("d", day, t.ALL)].add(h)
    wide: dict[tuple[str, date, str], set[int]] = defaultdict(set)
    for (_, day, feature), hs in sets.items():
        for period, start in period_starts(day):
            wide[(period, start, feature)] |= hs
    sets.clear()
    rows = []
    for (period, start, feature), hs in wide.items():
        s = UserSketch()
        s.add_hashes(hs)
        rows.append({"period": period, "start": start, "feature": feature, "users": s.count(), "sketch": s.to_bytes()})
    async with app.database.engine.begin() as conn:
        for i in range(0, len(rows), 1000):
            await conn.execute(t.users.insert(), rows[i:i + 1000])
    return n
