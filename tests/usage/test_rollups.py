"""Rollups and the dashboard query API against known events (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from hyperdeliver import App
from hyperdeliver.usage import UsageEvent, queries
from hyperdeliver.usage import tables as t
from hyperdeliver.usage.histogram import RATIO
from hyperdeliver.usage.sketch import UserSketch
from hyperdeliver.usage.store import purge, write_track

NOW = datetime.now(timezone.utc)


def ev(hours_ago: float, user: int | None, status: int = 200, ms: float = 10.0, feature: str = "probe", op: str = "probe_ok") -> UsageEvent:
    return UsageEvent(NOW - timedelta(hours=hours_ago), feature, op, "rest", user, status, ms)


def exact_p95(values: list[float]) -> float:
    s = sorted(values)
    return s[int(0.95 * (len(s) - 1))]


async def test_calls_errors_p95_and_users(usage_app: App) -> None:
    rnd = random.Random(1)
    durations = [rnd.lognormvariate(3, 0.8) for _ in range(2_000)]
    events = [ev(rnd.uniform(0, 20), 1 + i % 37, 500 if i % 50 == 0 else 200, d) for i, d in enumerate(durations)]
    assert await queries.ingest(usage_app, events, chunk=300) == 2_000
    ov = await queries.overview(usage_app, days=7)
    assert ov["calls"] == 2_000 and ov["errors"] == 40 and ov["error_rate"] == pytest.approx(0.02)
    assert ov["active_users"] == 37
    assert exact_p95(durations) / RATIO <= ov["p95_ms"] <= exact_p95(durations) * RATIO
    assert sum(p["calls"] for p in ov["series"]) == 2_000 and len(ov["series"]) == 7
    table = {r["feature"]: r for r in await queries.feature_table(usage_app, days=28)}
    row = table["probe"]
    assert row["users"] == 37 and row["adoption"] == 1.0 and row["calls"] == 2_000 and row["errors"] == 40
    assert row["owner"] == "qa@example.com" and row["lifecycle"] is not None
    assert row["last_used"] is not None and row["last_used"] <= datetime.now(timezone.utc)
    assert row["weekly_users"][-1] >= 1 and len(row["weekly_users"]) == 8
    assert table["auth"]["calls"] == 0 and table["auth"]["p95_ms"] is None
    detail = await queries.feature_detail(usage_app, "probe", days=3)
    assert sum(p["calls"] for p in detail["series"]) == 2_000
    assert detail["operations"][0]["operation"] == "probe_ok" and detail["operations"][0]["calls"] == 2_000
    users = await queries.feature_users(usage_app, "probe", days=14)
    assert len(users) == 37 and sum(u["calls"] for u in users) == 2_000
    assert all(u["last_used"] <= datetime.now(timezone.utc) for u in users)
    # rebuilding from the raw events gives the same answers
    assert await queries.rebuild_rollups(usage_app, chunk=2_000) == 2_000  # SQLite: a page of 2 batches at a time
    assert await queries.overview(usage_app, days=7) == ov


async def test_weekly_trend_and_distinct_users_merge(usage_app: App) -> None:
    # users 1..20 in the previous 14 days, users 1..5 in the last 14 days: falling
    events = [ev(24 * 20, u) for u in range(1, 21)] + [ev(24 * 2, u) for u in range(1, 6)]
    await queries.ingest(usage_app, events)
    row = {r["feature"]: r for r in await queries.feature_table(usage_app, days=28)}["probe"]
    assert row["users"] == 20 and row["users_recent"] == 5 and row["users_previous"] == 20
    assert row["trend"] == pytest.approx(-0.75)


async def test_hll_within_a_few_percent_for_10k_users(usage_app: App) -> None:
    n = 10_000
    await queries.ingest(usage_app, (ev(1 + (u % 5), u) for u in range(n)), chunk=2_500)
    ov = await queries.overview(usage_app, days=2)
    assert abs(ov["active_users"] - n) / n < 0.03
    async with usage_app.database.engine.connect() as conn:
        blob = (await conn.execute(sa.select(t.users.c.sketch).where(t.users.c.period == "d", t.users.c.feature == "*"))).scalars().all()
    merged = UserSketch()
    for b in blob:
        merged.merge(UserSketch.from_bytes(b))
    assert merged.registers is not None  # beyond 64 users the sketch is HyperLogLog


def test_sketch_exact_small_and_mergeable() -> None:
    a, b = UserSketch(), UserSketch()
    a.add_many(range(0, 40))
    b.add_many(range(30, 60))
    a.merge(b)
    assert a.count() == 60 and a.exact is not None
    c = UserSketch.from_bytes(a.to_bytes())
    c.add_many(range(500, 5_000))
    assert c.exact is None and abs(c.count() - 4_560) < 0.05 * 4_560


async def test_release_deltas(usage_app: App) -> None:
    at = NOW - timedelta(days=2)
    await queries.record_release(usage_app, "1.4.0", "deadbee", recorded_at=at)
    before = [UsageEvent(at - timedelta(hours=h), "probe", "probe_ok", "rest", 1, 200, 5.0) for h in range(1, 11)]
    after = [UsageEvent(at + timedelta(hours=h), "probe", "probe_ok", "rest", 1, 500 if h % 2 else 200, 50.0) for h in range(1, 21)]
    other = [UsageEvent(at + timedelta(hours=h), "other", "list", "rest", 2, 200, 1.0) for h in range(1, 4)]
    await queries.ingest(usage_app, before + after + other)
    rels = await queries.releases(usage_app)
    assert [r["version"] for r in rels] == ["1.0.0", "1.4.0"] or [r["version"] for r in rels] == ["1.4.0"]
    o, d = await queries.release_deltas(usage_app, "1.4.0", window_days=7)  # by feature name
    assert (o["feature"], o["calls_before"], o["calls_after"]) == ("other", 0, 3)
    assert await queries.release_deltas(usage_app, "1.4.0", window_days=7, feature="probe") == [d]
    assert d["calls_before"] == 10 and d["calls_after"] == 20 and d["calls_delta"] == 10
    assert d["error_rate_before"] == 0 and d["error_rate_after"] == pytest.approx(0.5)
    assert d["p95_after_ms"] > 5 * d["p95_before_ms"]
    detail = await queries.feature_detail(usage_app, "probe", days=7)
    assert [(x["version"], x["feature"]) for x in detail["release_deltas"]] == [("1.4.0", "probe")]
    assert await queries.release_deltas(usage_app, "nope") == []


async def test_funnel_orders_steps(usage_app: App) -> None:
    ts = NOW - timedelta(hours=1)

    def row(u: int, event: str, minutes: int) -> dict[str, Any]:
        return {"ts": ts + timedelta(minutes=minutes), "event": event, "user_id": u, "feature": "probe", "props": {}}

    await write_track(usage_app, [
        row(1, "visit", 0), row(1, "signup", 1), row(1, "pay", 2),
        row(2, "visit", 0), row(2, "signup", 1),
        row(3, "signup", 0), row(3, "visit", 1),  # signed up before visiting: stops at step 1
        row(4, "pay", 0),
    ])
    assert await queries.funnel(usage_app, ["visit", "signup", "pay"]) == [
        {"step": "visit", "users": 3}, {"step": "signup", "users": 2}, {"step": "pay", "users": 1},
    ]


async def test_retention_purge(usage_app: App) -> None:
    await queries.ingest(usage_app, [ev(24 * 100, 1), ev(24 * 89, 2), ev(1, 3)])
    assert await purge(usage_app) == 1
    async with usage_app.database.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(t.events))).scalar() == 2


async def test_purge_runs_as_a_daily_cron(usage_app: App) -> None:
    task = usage_app.jobs.crons["hd_usage.purge_usage_events"]
    assert task.schedule == "23 3 * * *"
    assert usage_app.usage.purge_in_flusher is False
    await queries.ingest(usage_app, [ev(24 * 100, 1), ev(1, 3)])
    from hyperdeliver.context import Context
    from hyperdeliver import ANONYMOUS

    await task.fn(Context(usage_app, "r", ANONYMOUS, "job"))
    async with usage_app.database.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(t.events))).scalar() == 1


async def _user_day_rows(app: App) -> list[tuple[Any, ...]]:
    ud = t.user_days
    async with app.database.engine.connect() as conn:
        res = await conn.execute(sa.select(ud.c.feature, ud.c.user_id, ud.c.day, ud.c.calls).order_by(ud.c.user_id, ud.c.day))
        return [tuple(r) for r in res]


async def test_feature_users_latest_first_with_window_calls_and_limit(usage_app: App) -> None:
    # user 1: 3 calls 30 h ago and 2 calls 2 h ago; user 2: 1 call 1 h ago; user 3: 4 calls 50 h ago
    events = [ev(30, 1)] * 3 + [ev(2, 1)] * 2 + [ev(1, 2)] + [ev(50, 3)] * 4 + [ev(24 * 20, 4)]
    await queries.ingest(usage_app, events)
    users = await queries.feature_users(usage_app, "probe", days=14)
    assert [(u["user_id"], u["calls"]) for u in users] == [(2, 1), (1, 5), (3, 4)]  # user 4 is outside the window
    assert users[1]["last_used"] == pytest.approx(NOW - timedelta(hours=2), abs=timedelta(milliseconds=1))
    assert [u["user_id"] for u in await queries.feature_users(usage_app, "probe", days=14, limit=2)] == [2, 1]
    assert await queries.feature_users(usage_app, "nobody_calls_this", days=14) == []
    # one row per (feature, user, day): user 1's five calls fall on one or two UTC days
    rows = await _user_day_rows(usage_app)
    assert sum(r[3] for r in rows if r[1] == 1) == 5 and len({r[2] for r in rows if r[1] == 1}) in (1, 2)


async def test_recorder_gathers_users_and_writes_them_on_the_users_flush(usage_app: App) -> None:
    from hyperdeliver.auth.principal import Principal
    from hyperdeliver.context import Context

    rec = usage_app.usage
    op = usage_app.operation("probe.probe_ok")
    for uid in (7, 7, 8):
        rec.observe(op, Context(usage_app, "r", Principal(user_id=uid), "rest", op), 200, 0.002)
    await rec.flush()
    assert rec.counters()["persisted"] == 3
    assert await _user_day_rows(usage_app) == []  # gathered in memory until the users interval
    await rec.flush(users=True)
    assert [(r[1], r[3]) for r in await _user_day_rows(usage_app)] == [(7, 2), (8, 1)]
    ov = await queries.overview(usage_app, days=1)
    assert ov["active_users"] == 2 and ov["calls"] == 3


async def test_purge_drops_old_user_days_too(usage_app: App) -> None:
    await queries.ingest(usage_app, [ev(24 * 100, 1), ev(1, 3)])
    await purge(usage_app)
    assert [r[1] for r in await _user_day_rows(usage_app)] == [3]


async def test_feature_table_sees_late_data_for_past_days(usage_app: App) -> None:
    """Unions of past days are cached per process; a late write to a past day shows up."""
    await queries.ingest(usage_app, [ev(24 * 3, u) for u in range(1, 4)])
    first = {r["feature"]: r for r in await queries.feature_table(usage_app, days=28)}["probe"]
    again = {r["feature"]: r for r in await queries.feature_table(usage_app, days=28)}["probe"]
    assert first["users"] == again["users"] == 3
    await queries.ingest(usage_app, [ev(24 * 5, u) for u in range(10, 15)])  # five more users, on a past day
    late = {r["feature"]: r for r in await queries.feature_table(usage_app, days=28)}["probe"]
    assert late["users"] == 8 and late["users_recent"] == 8
    await queries.ingest(usage_app, [ev(0.01, 99)])  # and today's users come on top of the cache
    assert {r["feature"]: r for r in await queries.feature_table(usage_app, days=28)}["probe"]["users"] == 9


def _calls(n: int, start: float, seed: int) -> list[tuple[float, int, str, int | None, int, float]]:
    rnd = random.Random(seed)
    return [(start + i * 0.37, rnd.randrange(3), rnd.choice(["rest", "graphql"]), rnd.choice([None, 1, 2, 3, 40]),
             rnd.choice([200, 201, 404, 500, 503]), rnd.lognormvariate(1, 1)) for i in range(n)]


@pytest.mark.parametrize("start", [1_764_000_000.0, 1_764_003_500.0], ids=["one-hour", "crosses-the-hour"])
def test_buffer_fold_and_batch_match_the_per_call_path(start: float) -> None:
    """The recorder's column-wise fold and raw batch equal the per-call fold and rows."""
    from hyperdeliver.usage.batch import decode, encode_rows
    from hyperdeliver.usage.buffer import CallBuffer
    from hyperdeliver.usage.fold import fold

    class Op:
        def __init__(self, i: int) -> None:
            self.name, self.feature = f"op{i}", type("F", (), {"name": f"feature{i % 2}"})

    ops = [Op(i) for i in range(3)]
    buf = CallBuffer()
    for ts, i, interface, uid, status, ms in _calls(1_000, start, seed=int(start)):
        buf.append(ts, ops[i], interface, uid, status, ms)
    rows = sorted(buf.rows("1.0"))
    prepared = buf.prepare("1.0")
    expected, got = fold(rows), prepared.folded
    assert got.user_days == expected.user_days and set(got.hours) == set(expected.hours)
    for k, acc in expected.hours.items():
        assert got.hours[k][:2] == acc[:2] and got.hours[k][3:] == acc[3:] and got.hours[k][2] == pytest.approx(acc[2])
    assert len({k[0] for k in got.hours}) == len({int(r[0] // 3600) for r in rows}) == (1 if start % 3600 < 3000 else 2)
    batch = prepared.batch
    assert (batch.events, batch.first_ts, batch.last_ts, batch.release) == (1_000, rows[0][0], rows[-1][0], "1.0")
    assert sorted(decode(batch.keys, batch.rows, batch.release)) == rows
    by_pair = {(s.op.name, s.interface): s for s in prepared.stats}
    for op in ops:
        for interface in ("rest", "graphql"):
            mine = [r for r in rows if r[2] == op.name and r[3] == interface]
            s = by_pair[(op.name, interface)]
            assert s.durations == sorted(r[6] for r in mine)
            assert s.statuses == Counter(r[5] for r in mine)
    again = encode_rows(rows)
    assert len(again) == len({int(r[0] // 3600) for r in rows})
    assert sorted(r for b in again for r in decode(b.keys, b.rows, b.release)) == rows


def test_histogram_buckets_from_sorted_durations_match_bisect() -> None:
    """Durations on and around every bucket edge land where ``histogram.bucket`` puts them."""
    from hyperdeliver.usage.buffer import CallBuffer
    from hyperdeliver.usage.histogram import EDGES, NBUCKETS, bucket

    class Op:
        name, feature = "op", type("F", (), {"name": "f"})

    durations = [0.0, *EDGES, *(e * 0.999 for e in EDGES), *(e * 1.001 for e in EDGES), 1e9]
    buf = CallBuffer()
    for ms in durations:
        buf.append(7200.0, Op, "rest", None, 200, ms)
    [acc] = buf.prepare("").folded.hours.values()
    want = [0] * NBUCKETS
    for ms in durations:
        want[bucket(ms)] += 1
    assert acc[3:] == want
