"""The dashboard's query API, served from the rollups (never a scan of raw events).

Every function takes the hyperdeliver ``App``; datetimes are aware UTC; day windows are
whole UTC days ending today. Distinct users are merged from day sketches (exact up to 512
users, HyperLogLog beyond).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import clock
from . import tables as t
from .events import UsageEvent, as_event
from .histogram import COLUMNS, quantile
from .sketch import UserSketch, union
from .batch import decode
from .store import persist, persist_rows

if TYPE_CHECKING:
    from ..app import App

__all__ = [
    "feature_detail", "feature_table", "feature_users", "funnel", "ingest", "overview",
    "rebuild_rollups", "record_release", "release_deltas", "releases",
]


def _today() -> date:
    return clock.now().date()


def _since(days: int) -> date:
    return _today() - timedelta(days=days - 1)


def _hist_cols(table: sa.Table) -> list[Any]:
    return [sa.func.sum(table.c[c]) for c in COLUMNS]


def _counts(row: Sequence[Any], start: int) -> list[int]:
    return [int(x or 0) for x in row[start:start + len(COLUMNS)]]


def _rate(errors: int, calls: int) -> float:
    return errors / calls if calls else 0.0


def _as_date(v: Any) -> date:
    return v if isinstance(v, date) and not isinstance(v, datetime) else date.fromisoformat(str(v)[:10])


_conn: ContextVar[AsyncConnection | None] = ContextVar("hyperdeliver_usage_conn", default=None)
UNION_CACHE_MAX = 32
_union_cache: WeakKeyDictionary[App, dict[tuple[tuple[date, date], ...], tuple[tuple[Any, ...], list[dict[str, UserSketch]]]]] = WeakKeyDictionary()
"""Per app, the past days' sketch unions by ranges: see :func:`_closed_unions`."""


@asynccontextmanager
async def one_connection(app: App) -> AsyncIterator[None]:
    """Run every query of a panel (or a page of panels) on one pooled connection."""
    if _conn.get() is not None:
        yield
        return
    async with app.database.engine.connect() as conn:
        token = _conn.set(conn)
        try:
            yield
        finally:
            _conn.reset(token)


async def _fetch(app: App, q: Any) -> list[Any]:
    conn = _conn.get()
    if conn is not None:
        return list((await conn.execute(q)).all())
    async with app.database.engine.connect() as conn:
        return list((await conn.execute(q)).all())


async def _closed_unions(app: App, ranges: list[tuple[date, date]]) -> list[dict[str, UserSketch]]:
    """Per feature, the union of the day sketches in each range ``[lo, hi]`` of past days.

    Past days change only when late data lands (the first flush after midnight, a bulk
    load, a rebuild), so the unions are kept per process and re-used while a fingerprint
    of those days' rows (count, summed users, per-row estimates) is unchanged: a dashboard
    then fetches only today's sketches.
    """
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    u = t.users
    span = sa.and_(u.c.period == "d", u.c.start >= lo, u.c.start <= hi)
    (fingerprint,) = await _fetch(app, sa.select(sa.func.count(), sa.func.sum(u.c.users), sa.func.max(u.c.start)).where(span))
    cache = _union_cache.get(app)
    if cache is None:
        cache = _union_cache[app] = {}
    key = tuple(ranges)
    hit = cache.get(key)
    if hit is not None and hit[0] == tuple(fingerprint):
        return hit[1]
    rows = await _sketches(app, "d", lo, hi)
    out = []
    for a, b in ranges:
        out.append(_merged(r for r in rows if a <= _as_date(r[0]) <= b))
    if len(cache) >= UNION_CACHE_MAX:
        cache.clear()
    cache[key] = (tuple(fingerprint), out)
    return out


async def _sketches(
    app: App, period: str, since: date, until: date | None = None, features: Iterable[str] | None = None, *, blobs: bool = True
) -> list[Any]:
    u = t.users
    cols = [u.c.start, u.c.feature, u.c.users] + ([u.c.sketch] if blobs else [])
    q = sa.select(*cols).where(u.c.period == period, u.c.start >= since)
    if until is not None:
        q = q.where(u.c.start <= until)
    if features is not None:
        q = q.where(u.c.feature.in_(list(features)))
    return await _fetch(app, q)


def _merged(rows: Iterable[Any]) -> dict[str, UserSketch]:
    """Rows (start, feature, users, sketch) → one merged sketch per feature."""
    by_feature: dict[str, list[bytes]] = defaultdict(list)
    for r in rows:
        by_feature[r[1]].append(r[3])
    return {f: union(blobs) for f, blobs in by_feature.items()}


async def releases(app: App) -> list[dict[str, Any]]:
    """Every recorded release, oldest first: ``{version, sha, recorded_at}``."""
    r = t.releases
    rows = await _fetch(app, sa.select(r.c.version, r.c.sha, r.c.recorded_at).order_by(r.c.recorded_at))
    return [{"version": v, "sha": s, "recorded_at": at} for v, s, at in rows]


async def record_release(app: App, version: str, sha: str = "", *, recorded_at: datetime | None = None, if_new: bool = False) -> bool:
    """Record a deploy; returns False when that version was already recorded."""
    if not version:
        raise ValueError("a release needs a version")
    at = recorded_at or clock.now()
    r = t.releases
    async with app.database.engine.begin() as conn:
        found = (await conn.execute(sa.select(r.c.version).where(r.c.version == version))).first()
        if found is not None:
            if not if_new:
                await conn.execute(r.update().where(r.c.version == version).values(sha=sha, recorded_at=at))
            return False
        await conn.execute(r.insert().values(version=version, sha=sha, recorded_at=at))
    return True


async def overview(app: App, days: int = 28) -> dict[str, Any]:
    """Active users, calls, errors, error rate, p95 over ``days``; a daily series; releases."""
    since = _since(days)
    d = t.daily
    rows = await _fetch(app, sa.select(d.c.day, sa.func.sum(d.c.calls), sa.func.sum(d.c.errors), *_hist_cols(d)).where(d.c.day >= since).group_by(d.c.day))
    sk = await _sketches(app, "d", since, features=[t.ALL])
    users_by_day = {_as_date(r[0]): int(r[2]) for r in sk}
    total_hist = [0] * len(COLUMNS)
    by_day: dict[date, tuple[int, int]] = {}
    for r in rows:
        by_day[_as_date(r[0])] = (int(r[1]), int(r[2]))
        for i, n in enumerate(_counts(r, 3)):
            total_hist[i] += n
    calls = sum(c for c, _ in by_day.values())
    errors = sum(e for _, e in by_day.values())
    series = []
    for i in range(days):
        day = since + timedelta(days=i)
        c, e = by_day.get(day, (0, 0))
        series.append({"day": day, "calls": c, "errors": e, "users": users_by_day.get(day, 0)})
    active = _merged(sk).get(t.ALL)
    return {
        "days": days, "active_users": active.count() if active else 0, "calls": calls, "errors": errors,
        "error_rate": _rate(errors, calls), "p50_ms": quantile(total_hist, 0.5), "p95_ms": quantile(total_hist, 0.95),
        "releases": await releases(app), "series": series,
    }


async def feature_table(app: App, days: int = 28) -> list[dict[str, Any]]:
    """One row per feature of the app: users, adoption, calls, errors, p95, last use, trend."""
    async with one_connection(app):
        return await _feature_table(app, days)


async def _feature_table(app: App, days: int) -> list[dict[str, Any]]:
    today = _today()
    since = _since(days)
    d = t.daily
    rows = await _fetch(app, sa.select(d.c.feature, sa.func.sum(d.c.calls), sa.func.sum(d.c.errors), *_hist_cols(d)).where(d.c.day >= since).group_by(d.c.feature))
    stats = {r[0]: r for r in rows}
    half = min(14, days)
    trend_since = today - timedelta(days=2 * half - 1)
    cut = today - timedelta(days=half - 1)
    yesterday = today - timedelta(days=1)
    # past days from the per-process unions, today's sketches added on top
    win_past, rec_past, prev_sk = await _closed_unions(app, [(since, yesterday), (cut, yesterday), (trend_since, cut - timedelta(days=1))])
    today_sk = _merged(await _sketches(app, "d", today))
    win_sk = {f: union([win_past.get(f), today_sk.get(f)]) for f in set(win_past) | set(today_sk)}
    rec_sk = {f: union([rec_past.get(f), today_sk.get(f)]) for f in set(rec_past) | set(today_sk)}
    users = {f: s.count() for f, s in win_sk.items()}
    rec = {f: s.count() for f, s in rec_sk.items()}
    prev = {f: s.count() for f, s in prev_sk.items()}
    monday = today - timedelta(days=today.weekday())
    weeks = [monday - timedelta(weeks=i) for i in range(7, -1, -1)]
    wk = {(_as_date(r[0]), r[1]): int(r[2]) for r in await _sketches(app, "w", weeks[0], blobs=False)}
    last = await last_used(app, list(app.features))
    active = users.get(t.ALL, 0)
    out = []
    for name, f in app.features.items():
        r = stats.get(name)
        calls = int(r[1]) if r else 0
        errors = int(r[2]) if r else 0
        n = users.get(name, 0)
        a, b = rec.get(name, 0), prev.get(name, 0)
        lu = last.get(name)
        if isinstance(lu, datetime) and lu.tzinfo is None:
            lu = lu.replace(tzinfo=timezone.utc)
        out.append({
            "feature": name, "owner": f.owner, "summary": f.summary, "lifecycle": getattr(f, "lifecycle", None),
            "users": n, "adoption": n / active if active else 0.0, "calls": calls, "errors": errors,
            "error_rate": _rate(errors, calls), "p95_ms": quantile(_counts(r, 3), 0.95) if r else None,
            "last_used": lu, "trend": (a - b) / b if b else (None if not a else 1.0),
            "users_recent": a, "users_previous": b,
            "weekly_users": [wk.get((w, name), 0) for w in weeks],
        })
    return out


async def feature_detail(app: App, feature: str, days: int = 30) -> dict[str, Any]:
    """Daily series (calls, errors, p50, p95, users), per-operation totals, releases and deltas."""
    since = _since(days)
    d = t.daily
    rows = await _fetch(app, sa.select(d.c.day, sa.func.sum(d.c.calls), sa.func.sum(d.c.errors), *_hist_cols(d)).where(d.c.day >= since, d.c.feature == feature).group_by(d.c.day))
    by_day = {_as_date(r[0]): r for r in rows}
    users = {_as_date(r[0]): int(r[2]) for r in await _sketches(app, "d", since, features=[feature])}
    series = []
    for i in range(days):
        day = since + timedelta(days=i)
        r = by_day.get(day)
        h = _counts(r, 3) if r else []
        series.append({"day": day, "calls": int(r[1]) if r else 0, "errors": int(r[2]) if r else 0,
                       "p50_ms": quantile(h, 0.5) if r else None, "p95_ms": quantile(h, 0.95) if r else None,
                       "users": users.get(day, 0)})
    ops = await _fetch(app, sa.select(d.c.operation, d.c.interface, sa.func.sum(d.c.calls), sa.func.sum(d.c.errors), *_hist_cols(d))
                       .where(d.c.day >= since, d.c.feature == feature).group_by(d.c.operation, d.c.interface))
    operations = sorted(
        ({"operation": r[0], "interface": r[1], "calls": int(r[2]), "errors": int(r[3]), "p95_ms": quantile(_counts(r, 4), 0.95)} for r in ops),
        key=lambda o: -o["calls"],
    )
    rels = await releases(app)
    start = datetime.combine(since, datetime.min.time(), timezone.utc)
    deltas = []
    for rel in rels:
        if rel["recorded_at"] >= start:
            for row in await release_deltas(app, rel["version"], feature=feature):
                deltas.append({"version": rel["version"], "recorded_at": rel["recorded_at"], **row})
    return {"feature": feature, "days": days, "series": series, "operations": operations, "releases": rels, "release_deltas": deltas}


async def last_used(app: App, features: list[str]) -> dict[str, datetime | None]:
    """The last hour each feature was called in (one index probe per feature, one query)."""
    if not features:
        return {}
    h = t.hourly
    names = sa.union_all(*[sa.select(sa.literal(f).label("feature")) for f in features]).subquery("names")
    last = sa.select(sa.func.max(h.c.hour)).where(h.c.feature == names.c.feature).scalar_subquery()
    rows = await _fetch(app, sa.select(names.c.feature, last.label("last")))
    out: dict[str, datetime | None] = {}
    for f, v in rows:
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        if isinstance(v, datetime) and v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        out[f] = v
    return out


async def feature_users(app: App, feature: str, days: int = 14, limit: int = 100) -> list[dict[str, Any]]:
    """The ``limit`` users who called the feature most recently within ``days``, latest
    first, each with their calls and last use in the window.

    Read from ``hd_usage_user_days``: first the most recent users, day by day backwards
    (one index range per widening step, so a busy feature stops at today), then their
    window totals by primary key.
    """
    from ..auth.models import User

    ud = t.user_days
    since = _since(days)
    today = _today()
    latest: dict[int, Any] = {}
    span = 1
    while True:
        lo = max(since, today - timedelta(days=span - 1))
        q = (sa.select(ud.c.user_id, ud.c.last_used).where(ud.c.feature == feature, ud.c.day >= lo)
             .order_by(ud.c.last_used.desc()).limit(limit * span))
        latest.clear()
        for uid, lu in await _fetch(app, q):
            if uid not in latest:
                latest[uid] = lu
        if len(latest) >= limit or lo == since:
            break
        span *= 4
    ids = sorted(latest, key=lambda u: latest[u], reverse=True)[:limit]
    if not ids:
        return []
    users = User.__table__
    agg = (
        sa.select(ud.c.user_id, sa.func.sum(ud.c.calls).label("calls"), sa.func.max(ud.c.last_used).label("last_used"))
        .where(ud.c.feature == feature, ud.c.user_id.in_(ids), ud.c.day >= since)
        .group_by(ud.c.user_id)
        .subquery()
    )
    q = (
        sa.select(agg.c.user_id, users.c.email, agg.c.calls, agg.c.last_used)
        .select_from(agg.outerjoin(users, users.c.id == agg.c.user_id))
        .order_by(agg.c.last_used.desc())
    )
    out = []
    for uid, email, calls, lu in await _fetch(app, q):
        if isinstance(lu, str):
            lu = datetime.fromisoformat(lu)
        if lu is not None and lu.tzinfo is None:
            lu = lu.replace(tzinfo=timezone.utc)
        out.append({"user_id": int(uid), "email": email, "calls": int(calls), "last_used": lu})
    return out


async def _range_sums(app: App, lo: datetime, hi: datetime, feature: str | None = None) -> dict[str, list[Any]]:
    """Per feature [feature, calls, errors, h0..] over [lo, hi): whole days from the daily
    rollup, the partial days at both ends from the hourly one (one feature's when given)."""
    h, d = t.hourly, t.daily
    first_day = (lo + timedelta(days=1)).date() if lo.time() != datetime.min.time() else lo.date()
    last_day = hi.date()  # exclusive
    queries = []
    if first_day < last_day:
        d_lo = datetime.combine(first_day, datetime.min.time(), timezone.utc)
        d_hi = datetime.combine(last_day, datetime.min.time(), timezone.utc)
        queries.append(sa.select(d.c.feature, sa.func.sum(d.c.calls), sa.func.sum(d.c.errors), *_hist_cols(d))
                       .where(d.c.day >= first_day, d.c.day < last_day, *([d.c.feature == feature] if feature else []))
                       .group_by(d.c.feature))
        edge = sa.or_(sa.and_(h.c.hour >= lo, h.c.hour < d_lo), sa.and_(h.c.hour >= d_hi, h.c.hour < hi))
    else:
        edge = sa.and_(h.c.hour >= lo, h.c.hour < hi)
    if feature:
        edge = sa.and_(edge, h.c.feature == feature)
    queries.append(sa.select(h.c.feature, sa.func.sum(h.c.calls), sa.func.sum(h.c.errors), *_hist_cols(h)).where(edge).group_by(h.c.feature))
    out: dict[str, list[Any]] = {}
    for q in queries:
        for row in await _fetch(app, q):
            acc = out.get(row[0])
            vals = [int(x or 0) for x in row[1:]]
            if acc is None:
                out[row[0]] = [row[0], *vals]
            else:
                for i, v in enumerate(vals, 1):
                    acc[i] += v
    return out


async def release_deltas(app: App, version: str, window_days: int = 7, feature: str | None = None) -> list[dict[str, Any]]:
    """Per feature (or only ``feature``): calls, error rate and p95 in ``window_days``
    before vs after the release."""
    r = t.releases
    found = await _fetch(app, sa.select(r.c.recorded_at).where(r.c.version == version))
    if not found:
        return []
    at: datetime = found[0][0]
    at_hour = at.replace(minute=0, second=0, microsecond=0)
    w = timedelta(days=window_days)
    sides = {}
    for side, lo, hi in (("before", at_hour - w, at_hour), ("after", at_hour, at_hour + w)):
        sides[side] = await _range_sums(app, lo, hi, feature)
    out = []
    for feature in sorted(set(sides["before"]) | set(sides["after"])):
        vals: dict[str, Any] = {"feature": feature}
        for side in ("before", "after"):
            row = sides[side].get(feature)
            calls = int(row[1]) if row else 0
            errors = int(row[2]) if row else 0
            vals[f"calls_{side}"] = calls
            vals[f"errors_{side}"] = errors
            vals[f"error_rate_{side}"] = _rate(errors, calls)
            vals[f"p95_{side}_ms"] = quantile(_counts(row, 3), 0.95) if row else None
        vals["calls_delta"] = vals["calls_after"] - vals["calls_before"]
        vals["error_rate_delta"] = vals["error_rate_after"] - vals["error_rate_before"]
        pb, pa = vals["p95_before_ms"], vals["p95_after_ms"]
        vals["p95_delta_ms"] = pa - pb if pa is not None and pb is not None else None
        out.append(vals)
    return out


async def funnel(app: App, steps: list[str], days: int = 30) -> list[dict[str, Any]]:
    """Users reaching each step in order (step n counts users who did steps 1..n in sequence)."""
    if not steps:
        return []
    since = clock.now() - timedelta(days=days)
    # step k: each user's first time doing step k after their time of step k-1
    ctes = ["s0 AS (SELECT user_id, min(ts) AS t FROM hd_track_events WHERE event = :e0 AND ts >= :since AND user_id IS NOT NULL GROUP BY user_id)"]
    for k in range(1, len(steps)):
        ctes.append(
            f"s{k} AS (SELECT e.user_id, min(e.ts) AS t FROM hd_track_events e JOIN s{k - 1} p ON p.user_id = e.user_id "
            f"AND e.ts > p.t WHERE e.event = :e{k} GROUP BY e.user_id)"
        )
    counts = ", ".join(f"(SELECT count(*) FROM s{k})" for k in range(len(steps)))
    sql = sa.text(f"WITH {', '.join(ctes)} SELECT {counts}").bindparams(
        sa.bindparam("since", since, type_=t.track.c.ts.type), **{f"e{k}": s for k, s in enumerate(steps)}
    )
    (row,) = await _fetch(app, sql)
    return [{"step": s, "users": int(row[k])} for k, s in enumerate(steps)]


async def ingest(app: App, events: Iterable[UsageEvent | dict[str, Any]], *, chunk: int = 20_000, rollups: bool = True) -> int:
    """Bulk-load historic events (raw rows plus rollups); returns how many."""
    n = 0
    batch: list[UsageEvent] = []
    for item in events:
        batch.append(as_event(item))
        if len(batch) >= chunk:
            await persist(app, batch, rollups=rollups)
            n += len(batch)
            batch = []
    if batch:
        await persist(app, batch, rollups=rollups)
        n += len(batch)
    return n


async def rebuild_rollups(app: App, *, chunk: int = 50_000) -> int:
    """Recompute every rollup from the raw events kept (after a bulk load or a repair)."""
    async with app.database.engine.begin() as conn:
        for table in (t.hourly, t.daily, t.users, t.user_days):
            await conn.execute(table.delete())
        if conn.dialect.name == "postgresql":
            from .store import rebuild_counters_pg, rebuild_user_days_pg

            await rebuild_counters_pg(conn)
            await rebuild_user_days_pg(conn)
    if app.database.dialect == "postgresql":
        from .store import rebuild_sketches

        return await rebuild_sketches(app)
    # SQLite: the batches a page at a time, by id (a SQLite cursor reads its rows at once).
    b = t.batches
    page = sa.select(b.c.id, b.c["keys"], b.c.rows, b.c.release).where(b.c.id > sa.bindparam("after")).order_by(b.c.id).limit(max(1, chunk // 1000))
    n, after = 0, 0
    while True:
        async with app.database.engine.connect() as conn:
            part = (await conn.execute(page, {"after": after})).all()
        if not part:
            break
        after = part[-1][0]
        rows = [row for _, keys, calls, release in part for row in decode(keys, calls, release)]
        await persist_rows(app, rows, raw=False)
        n += len(rows)
    return n
