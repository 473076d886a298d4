"""Writing usage: one batch = raw rows (COPY on PostgreSQL, executemany on SQLite) plus
incremental rollup updates, in one transaction.

The rollups are aggregated in Python from the batch, then upserted (counters add up,
sketches are read, merged and written back under ``FOR UPDATE`` on PostgreSQL), so a
dashboard never scans the raw table.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import clock
from . import tables as t
from .batch import Batch, encode_rows
from .batch import records as batch_records
from .buffer import paused_gc
from .events import UsageEvent
from .fold import Folded, Row, UserDayKey, UserDays, as_row, day_of, fold, hour_of, merge_user_days
from .histogram import COLUMNS, EDGES, NBUCKETS
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


class SqliteStamps:
    """Epoch seconds → SQLITE_TS text, the second's prefix formatted once per second."""

    __slots__ = ("prefixes",)

    def __init__(self) -> None:
        self.prefixes: dict[int, str] = {}

    def __call__(self, epoch: float) -> str:
        sec = int(epoch)
        us = round((epoch - sec) * 1_000_000)
        if us >= 1_000_000:
            sec, us = sec + 1, us - 1_000_000
        prefix = self.prefixes.get(sec)
        if prefix is None:
            prefix = self.prefixes[sec] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec))
        return f"{prefix}.{us:06d}"


async def _driver_executemany(conn: AsyncConnection, sql_pg: str, sql_sqlite: str, rows: list[tuple[Any, ...]]) -> None:
    """executemany on the DBAPI driver, below SQLAlchemy's per-row parameter processing."""
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        await raw.driver_connection.executemany(sql_pg, rows)  # type: ignore[union-attr]
    else:
        await conn.exec_driver_sql(sql_sqlite, rows)  # type: ignore[arg-type]


BATCH_INSERT_SQLITE = f"INSERT INTO hd_usage_batches ({', '.join(t.BATCH_COLUMNS)}) VALUES ({', '.join('?' * len(t.BATCH_COLUMNS))})"


async def write_batches(conn: AsyncConnection, batches: list[Batch]) -> None:
    """Raw-event batches: COPY on PostgreSQL, executemany on SQLite."""
    pg = conn.dialect.name == "postgresql"
    rows = batch_records(batches, pg)
    if pg:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "hd_usage_batches", columns=t.BATCH_COLUMNS, records=rows,
        )
    else:
        await conn.exec_driver_sql(BATCH_INSERT_SQLITE, rows)  # type: ignore[arg-type]


def _upsert_sql(table: str, key: str, placeholder: Any) -> str:
    cols = [key, "feature", "operation", "interface", *t.ROLLUP_ADDED]
    values = ", ".join(placeholder(i) for i in range(1, len(cols) + 1))
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({values}) "
            f"ON CONFLICT ({key}, feature, operation, interface) DO UPDATE SET {t.added_sql(table)}")


def _pg(i: int) -> str:
    return f"${i}"


def _lite(i: int) -> str:
    return "?"


UPSERT = {
    (name, dialect): _upsert_sql(name, key, _pg if dialect == "postgresql" else _lite)
    for name, key in (("hd_usage_hourly", "hour"), ("hd_usage_daily", "day"))
    for dialect in ("postgresql", "sqlite")
}
UPSERT_USER_DAYS_SQLITE = (
    "INSERT INTO hd_usage_user_days (feature, user_id, day, calls, last_used) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (feature, user_id, day) DO UPDATE SET calls = hd_usage_user_days.calls + excluded.calls, "
    "last_used = max(hd_usage_user_days.last_used, excluded.last_used)"
)
UPSERT_USER_DAYS_PG = (
    "INSERT INTO hd_usage_user_days (feature, user_id, day, calls, last_used) "
    "SELECT * FROM unnest($1::text[], $2::bigint[], $3::date[], $4::bigint[], $5::timestamptz[]) "
    "ON CONFLICT (feature, user_id, day) DO UPDATE SET calls = hd_usage_user_days.calls + excluded.calls, "
    "last_used = greatest(hd_usage_user_days.last_used, excluded.last_used)"
)
"""PostgreSQL upserts every row in one statement from five arrays (encoded by the driver in C)."""


UserSets = dict[tuple[str, date, str], set[int]]


def counter_rows(folded: Folded, postgresql: bool) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The folded calls as ``(upsert SQL, rows)`` for the hourly and the daily rollup."""
    dialect = "postgresql" if postgresql else "sqlite"
    out = []
    for name, agg, to_key in (("hd_usage_hourly", folded.hours, hour_of), ("hd_usage_daily", folded.days(), day_of)):
        if not agg:
            continue
        rows = []
        for (k0, feature, operation, interface), vals in agg.items():
            key: Any = to_key(k0)
            if not postgresql:
                key = _sqlite_ts(key) if isinstance(key, datetime) else key.isoformat()
            rows.append((key, feature, operation, interface, *vals))
        out.append((UPSERT[(name, dialect)], rows))
    return out


async def write_counters(conn: AsyncConnection, folded: Folded) -> None:
    """Add the folded calls into the hourly and daily rollups (one upsert per key)."""
    for sql, rows in counter_rows(folded, conn.dialect.name == "postgresql"):
        await _driver_executemany(conn, sql, sql, rows)


async def write_user_days(conn: AsyncConnection, user_days: UserDays) -> None:
    """Upsert per-(feature, user, day) calls and last use, and merge the users into the
    day and week sketches of each feature and of ``*`` (all features)."""
    if not user_days:
        return
    pg = conn.dialect.name == "postgresql"
    with paused_gc():  # a few tuples per pair, hundreds of thousands of pairs
        # in primary-key order: one lock order for concurrent flushers on PostgreSQL, and
        # neighbouring b-tree pages instead of random ones
        keys = sorted(user_days, key=_pk_order)
        days = {n: day_of(n) for n in {k[0] for k in keys}}
        sets = user_sets(keys, days)
        values = list(map(user_days.__getitem__, keys))  # [calls, last epoch] per key
        if pg:
            stamp, utc = datetime.fromtimestamp, timezone.utc
            cols: Any = (
                [k[1] for k in keys], [k[2] for k in keys], [days[k[0]] for k in keys],
                [v[0] for v in values], [stamp(v[1], utc) for v in values],
            )
        else:
            fmt = SqliteStamps()
            iso = {n: d.isoformat() for n, d in days.items()}
            rows = [(f, uid, iso[n], v[0], fmt(v[1])) for (n, f, uid), v in zip(keys, values)]
    if pg:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute(UPSERT_USER_DAYS_PG, *cols)  # type: ignore[union-attr]
    else:
        await conn.exec_driver_sql(UPSERT_USER_DAYS_SQLITE, rows)  # type: ignore[arg-type]
    await merge_sketches(conn, sets)


def _pk_order(k: UserDayKey) -> tuple[str, int, int]:
    return k[1], k[2], k[0]


def user_sets(keys: Sequence[UserDayKey], days: dict[int, date]) -> UserSets:
    """The user hashes per (day, feature) and per (day, all features) of ``keys``.

    >>> s = user_sets([(0, "tasks", 1), (0, "boards", 1), (0, "boards", 2)], {0: date(1970, 1, 1)})
    >>> [(f, len(hs)) for (_, _, f), hs in sorted(s.items())]
    [('*', 2), ('boards', 2), ('tasks', 1)]
    """
    hashes: dict[int, int] = {}
    by_day: dict[tuple[int, str], list[int]] = defaultdict(list)
    for day_n, feature, uid in keys:
        h = hashes.get(uid)
        if h is None:
            h = hashes[uid] = hash_user(uid)
        by_day[(day_n, feature)].append(h)
    sets: UserSets = {}
    for (day_n, feature), hs in by_day.items():
        day = days[day_n]
        sets[("d", day, feature)] = set(hs)
        every = sets.get(("d", day, t.ALL))
        if every is None:
            every = sets[("d", day, t.ALL)] = set()
        every.update(hs)
    return sets


async def merge_sketches(conn: AsyncConnection, user_sets: UserSets) -> None:
    """Merge day sets of user hashes into the stored day and week sketches."""
    with paused_gc():
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
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    with paused_gc():
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


async def write_batch(app: App, folded: Folded | None, batches: list[Batch], *, user_days: bool = False) -> None:
    """Counters (and with ``user_days`` the per-user rollups) plus raw batches in one
    transaction, through the app's engine."""
    async with app.database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT 1"))  # opens the transaction the driver-level writes join
        if folded is not None:
            await write_counters(conn, folded)
            if user_days:
                await write_user_days(conn, folded.user_days)
        if batches:
            await write_batches(conn, batches)


async def persist_rows(
    app: App, rows: Sequence[Row], *, raw: bool = True, rollups: bool = True, pending_users: UserDays | None = None
) -> None:
    """Write one batch of recorded calls in one transaction: raw batches and counters
    together, or neither. Per-user rollups go to ``pending_users`` when given (the
    recorder writes them every few minutes with :func:`flush_users`), else now."""
    if not rows:
        return
    folded = fold(rows) if rollups else None
    await write_batch(app, folded, encode_rows(rows) if raw else [], user_days=pending_users is None)
    if folded is not None and pending_users is not None:
        merge_user_days(pending_users, folded.user_days)


async def persist(
    app: App, batch: Sequence[UsageEvent], *, raw: bool = True, rollups: bool = True, pending_users: UserDays | None = None
) -> None:
    """:func:`persist_rows` for :class:`UsageEvent` objects (bulk loads, tests)."""
    await persist_rows(app, [as_row(e) for e in batch], raw=raw, rollups=rollups, pending_users=pending_users)


async def flush_users(app: App, pending_users: UserDays) -> None:
    """Write accumulated per-user rollups and sketches (then clear them)."""
    if pending_users:
        async with app.database.engine.begin() as conn:
            await write_user_days(conn, pending_users)
        pending_users.clear()


async def write_track(app: App, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        async with app.database.engine.begin() as conn:
            await conn.execute(t.track.insert(), list(rows))


async def purge(app: App, now: datetime | None = None) -> int:
    """Delete raw events (whole batches whose last call is older than
    ``usage_retention_days``) and per-user day rollups as old; returns the raw events
    deleted. The counters and sketches are kept."""
    now = now or clock.now()
    cutoff = now - timedelta(days=app.settings.usage_retention_days)
    b = t.batches
    async with app.database.engine.begin() as conn:
        old = b.c.last_ts < cutoff
        n = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(b.c.events), 0)).where(old))).scalar()
        await conn.execute(b.delete().where(old))
        await conn.execute(t.user_days.delete().where(t.user_days.c.day < cutoff.date()))
    return int(n or 0)


def _bucket_sql() -> str:
    """:func:`hyperdeliver.usage.histogram.bucket` in SQL: ``width_bucket`` on the same edges."""
    return f"width_bucket(duration_ms, ARRAY[{', '.join(repr(e) for e in EDGES)}]::float8[])"


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


async def rebuild_user_days_pg(conn: AsyncConnection) -> None:
    """PostgreSQL: the per-(feature, user, day) rollup recomputed in SQL from the raw events."""
    await conn.execute(sa.text(
        "INSERT INTO hd_usage_user_days (feature, user_id, day, calls, last_used) "
        "SELECT feature, user_id, (ts AT TIME ZONE 'UTC')::date, count(*), max(ts) FROM hd_usage_events "
        "WHERE user_id IS NOT NULL GROUP BY 1, 2, 3"
    ))


async def rebuild_sketches(app: App) -> int:
    """PostgreSQL: day and week user sketches from the per-user day rollup, streamed;
    returns the number of raw events."""
    sets: dict[tuple[str, date, str], set[int]] = defaultdict(set)
    async with app.database.engine.connect() as conn:
        n = int((await conn.execute(sa.text("SELECT coalesce(sum(events), 0) FROM hd_usage_batches"))).scalar() or 0)
        result = await conn.stream(sa.text("SELECT day, feature, user_id FROM hd_usage_user_days"))
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
