"""Usage recording and dashboard queries: cost per event, throughput on vs off, panels at 10 M events.

    .venv/bin/python bench/usage.py                       # all three parts (10 M rows: ~5-10 min)
    .venv/bin/python bench/usage.py --rows 1000000        # a quicker panel run
    .venv/bin/python bench/usage.py --skip-panels         # only the request-path parts
    .venv/bin/python bench/usage.py --reuse               # keep the loaded 10 M rows from a previous run
    .venv/bin/python bench/usage.py --reuse --panels-only # part 3 only

1. Request-path cost: ``UsageRecorder.observe`` (what every call pays) per event, and the
   recorder's whole cost per event: observe plus its flushes through its own writer
   (rollups + one raw batch per 1,000 calls; one statement on PostgreSQL), per-user rollups every
   300 batches as every 5 min, for calls in sessions and for independent calls (see
   ``sample_events``), on SQLite and on PostgreSQL. Target: ≤ 10 µs per event.
2. Throughput: (a) a minimal app (GET /hello, PUBLIC) called in-process as ASGI, usage on
   (recorder + flush of everything recorded, included in the time) vs off
   (``usage_enabled=False``), rounds interleaved, medians: recording's cost per call in
   µs (a call of a few µs, with no server around it, is no served request); (b) the
   throughput of a server with recording on vs off, ``bench/usage_http.py`` (uvicorn +
   wrk, ``--http-rounds``). Target: ≤ 3 % loss. On a shared VM whose runs spread by tens
   of per cent, ``bench/usage_instructions.py`` counts the same comparison exactly:
   instructions, or cache-simulated cycles, per served request under callgrind.
3. Dashboard panels: 10 M raw events (90 days, 40 features, 50 k skewed users, 1 % errors)
   COPYed into a dedicated PostgreSQL database ``hd_usage_bench`` on 127.0.0.1:5432,
   rollups built by ``rebuild_rollups``, then each query function of
   ``hyperdeliver.usage.queries`` timed (1 warm-up + 5 runs, median). Target: ≤ 50 ms each.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hyperdeliver import PUBLIC, App, Feature, Settings
from hyperdeliver.auth.principal import ANONYMOUS, Principal
from hyperdeliver.context import Context
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.usage import UsageEvent, queries
from hyperdeliver.usage.batch import encode_rows, records as batch_records
from hyperdeliver.usage.tables import BATCH_COLUMNS

HERE = Path(__file__).resolve().parent
PG_ADMIN = os.environ.get("HYPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "hd_usage_bench"
NFEATURES = 40


def build_features() -> list[Feature]:
    out = []
    for i in range(NFEATURES):
        f = Feature(f"feature_{i:02d}", owner=f"owner{i}@example.com", summary=f"feature {i}")

        async def handler(ctx: Context) -> dict[str, str]:
            return {"message": "hello"}

        handler.__name__ = f"hello_{i:02d}"
        f.query(f"GET /hello{i:02d}" if i else "GET /hello", roles=PUBLIC)(handler)
        out.append(f)
    return out


FEATURES = build_features()


def make_app(url: str, **kw: object) -> App:
    s = Settings(env="test", database_url=url, access_log=False, var_dir=Path(tempfile.gettempdir()) / "hd-usage-bench", **kw)  # type: ignore[arg-type]
    return App("usagebench", features=FEATURES, settings=s)


# -- 1. request-path cost ------------------------------------------------------------


async def record_cost(n: int = 200_000) -> float:
    app = make_app("sqlite://", usage_buffer_max=n + 1, usage_flush_size=n + 1)
    rec = app.usage
    op = app.operation("feature_00.hello_00")
    ctx = Context(app, "r", ANONYMOUS, "rest", op)
    best = math.inf
    for _ in range(5):
        rec.buffer.clear()
        t0 = time.perf_counter()
        for _ in range(n):
            rec.observe(op, ctx, 200, 0.0012)
        best = min(best, (time.perf_counter() - t0) / n)
    await app.database.dispose()
    return best * 1e6


def sample_events(n: int, seed: int = 1, model: str = "independent") -> list[UsageEvent]:
    """``n`` calls at 1,000/s from 50 k users (skewed) over 40 features (skewed).

    - ``independent``: every call draws its user and its feature afresh: almost every
      call is a new (user, feature) pair, the worst case for the per-user rollup.
    - ``sessions``: 500 concurrent sessions, each a user working in 1-3 features for
      about 50 calls, as people use a product.
    """
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc)

    def feature() -> str:
        return f"feature_{int(NFEATURES * rnd.random() ** 2):02d}"

    def user() -> int:
        return int(50_000 * rnd.random() ** 2)

    sessions = [(user(), [feature() for _ in range(rnd.randint(1, 3))]) for _ in range(500)]
    out = []
    for i in range(n):
        if model == "sessions":
            k = rnd.randrange(len(sessions))
            uid, feats = sessions[k]
            f = rnd.choice(feats)
            if rnd.random() < 1 / 50:
                sessions[k] = (user(), [feature() for _ in range(rnd.randint(1, 3))])
        else:
            uid, f = user(), feature()
        out.append(UsageEvent(now - timedelta(seconds=(n - i) / 1000), f, "list", "rest", uid,
                              500 if rnd.random() < 0.01 else 200, math.exp(rnd.random() * 5), "1.0"))
    return out


async def flush_cost(url: str, model: str, batches: int = 301, size: int = 1000) -> tuple[float, float]:
    """(wall µs/event, process CPU µs/event, all threads) of the recorder's own path:
    ``observe`` per call, a flush through its writer every ``size`` calls (the rollups,
    the raw batch), the per-user rollups every 300 batches as it does every 5 minutes."""
    app = make_app(url, usage_flush_size=10**9, usage_buffer_max=10**9, usage_flush_interval=3600)
    await upgrade_async(app)
    rec = app.usage
    ops = {f.name: app.operation(f"{f.name}.hello_{i:02d}") for i, f in enumerate(FEATURES)}
    principals: dict[int | None, Principal] = {}
    calls = []
    for e in sample_events(batches * size, model=model):
        p = principals.get(e.user_id)
        if p is None:
            p = principals[e.user_id] = Principal(user_id=e.user_id)
        calls.append((ops[e.feature], Context(app, "r", p, "rest", ops[e.feature]), e.status, e.duration_ms / 1000))
    observe = rec.observe
    for op, ctx, status, seconds in calls[:size]:  # warm the writer's connection
        observe(op, ctx, status, seconds)
    await rec.flush()
    t0, c0 = time.perf_counter(), time.process_time()
    t_obs = 0.0
    for i in range(1, batches):
        o0 = time.process_time()
        for op, ctx, status, seconds in calls[i * size:(i + 1) * size]:
            observe(op, ctx, status, seconds)
        t_obs += time.process_time() - o0
        await rec.flush(users=i % 300 == 0)
    await rec.flush(users=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"     (of which the observe loop {t_obs / ((batches - 1) * size) * 1e6:.2f} µs CPU)")
    await rec.stop()
    await app.database.dispose()
    return wall / ((batches - 1) * size) * 1e6, cpu / ((batches - 1) * size) * 1e6


# -- 2. throughput on vs off ----------------------------------------------------------


async def throughput(url: str, enabled: bool, n: int) -> float:
    app = make_app(url, usage_enabled=enabled, usage_flush_size=1000, usage_buffer_max=n + 1)
    await upgrade_async(app)
    await app.startup()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "path": "/hello",
             "raw_path": b"/hello", "query_string": b"", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80), "scheme": "http"}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses = []

    async def send(msg: dict[str, object]) -> None:
        if msg["type"] == "http.response.start":
            statuses.append(msg["status"])

    for _ in range(500):
        await app(scope, receive, send)
    rec = app.usage
    if rec is not None:
        await rec.flush()
    statuses.clear()
    t0 = time.perf_counter()
    for _ in range(n):
        await app(scope, receive, send)
    if rec is not None:
        await rec.flush()  # the recording's write cost is part of the measured time
    dt = time.perf_counter() - t0
    assert statuses == [200] * n
    if rec is not None:
        c = rec.counters()
        assert c["produced"] == c["persisted"] + c["dropped"] and c["dropped"] == 0, c
    await app.shutdown()
    return n / dt


# -- 3. panels over 10 M events ----------------------------------------------------------


async def pg_exec(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def load_pg(url: str, rows: int) -> dict[str, float]:
    import asyncpg

    app = make_app(url)
    await upgrade_async(app)
    await app.database.dispose()
    conn = await asyncpg.connect(url)
    out: dict[str, float] = {}
    try:
        rnd = random.Random(42)
        now = datetime.now(timezone.utc)
        start = (now - timedelta(days=90)).timestamp()
        step = 90 * 86400 / rows
        ops = ["list", "get", "create", "update", "delete"]
        feats = [f"feature_{i:02d}" for i in range(NFEATURES)]
        t0 = time.perf_counter()
        chunk = 200_000
        for lo in range(0, rows, chunk):
            calls = []
            for i in range(lo, min(rows, lo + chunk)):
                r = rnd.random()
                calls.append((start + step * i, feats[int(NFEATURES * rnd.random() ** 2)], ops[int(rnd.random() * 5)], "rest",
                              int(50_000 * rnd.random() ** 2), 200 if r < 0.97 else (404 if r < 0.99 else 500),
                              math.exp(rnd.random() * 5), "1.0"))
            # as the recorder writes them: one hd_usage_batches row per 1,000 calls, by COPY
            await conn.copy_records_to_table("hd_usage_batches", records=batch_records(encode_rows(calls), True), columns=BATCH_COLUMNS)
            print(f"  loaded {min(rows, lo + chunk):,} rows", end="\r", flush=True)
        out["load_s"] = time.perf_counter() - t0
        await conn.execute("VACUUM ANALYZE hd_usage_batches")
        trk = [(now - timedelta(seconds=rnd.random() * 30 * 86400), ev, int(50_000 * rnd.random() ** 2), "feature_00", "{}")
               for ev in ("visit", "signup", "pay") for _ in range(30_000)]
        await conn.copy_records_to_table("hd_track_events", records=trk, columns=["ts", "event", "user_id", "feature", "props"])
    finally:
        await conn.close()
    print()
    out["rollup_s"] = await build_rollups(url, rows, now)
    return out


async def build_rollups(url: str, rows: int, now: datetime) -> float:
    """Releases recorded, every rollup rebuilt from the raw events; returns the seconds."""
    app = make_app(url)
    await upgrade_async(app)
    for k, days in (("1.0", 80), ("1.1", 40), ("1.2", 10)):
        await queries.record_release(app, k, "sha" + k, recorded_at=now - timedelta(days=days))
    t0 = time.perf_counter()
    n = await queries.rebuild_rollups(app)
    took = time.perf_counter() - t0
    assert n == rows, (n, rows)
    await app.database.dispose()
    await pg_exec(url, "VACUUM ANALYZE")
    return took


async def panels(url: str, reps: int = 5) -> dict[str, tuple[float, float, float]]:
    app = make_app(url)
    cases = {
        "overview(28)": lambda: queries.overview(app, days=28),
        "feature_table(28)": lambda: queries.feature_table(app, days=28),
        "feature_detail(feature_00, 30)": lambda: queries.feature_detail(app, "feature_00", days=30),
        "feature_detail(feature_39, 30)": lambda: queries.feature_detail(app, "feature_39", days=30),
        "feature_users(feature_00, 14)": lambda: queries.feature_users(app, "feature_00", days=14),
        "releases()": lambda: queries.releases(app),
        "release_deltas(1.2, 7)": lambda: queries.release_deltas(app, "1.2", window_days=7),
        "funnel(3 steps, 30) over 90k track events": lambda: queries.funnel(app, ["visit", "signup", "pay"], days=30),
    }
    out = {}
    for name, fn in cases.items():
        await fn()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            await fn()
            ts.append((time.perf_counter() - t0) * 1000)
        out[name] = (statistics.median(ts), min(ts), max(ts))
    await app.database.dispose()
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--http-rounds", type=int, default=8, help="rounds of bench/usage_http.py in part 2 (0: skip it)")
    ap.add_argument("--skip-panels", action="store_true")
    ap.add_argument("--panels-only", action="store_true", help="only part 3")
    ap.add_argument("--reuse", action="store_true", help="reuse hd_usage_bench if it already holds the rows")
    args = ap.parse_args()
    admin_base = PG_ADMIN.rsplit("/", 1)[0]
    tmp = Path(tempfile.mkdtemp(prefix="hd-usage-bench-"))

    if args.panels_only:
        await part_panels(args)
        return
    print("1. request-path cost")
    obs = await record_cost()
    print(f"   observe() per event: {obs:.2f} µs  (target ≤ 10 µs: {10 / obs:.1f}× under)")
    await pg_exec(PG_ADMIN, f'DROP DATABASE IF EXISTS "{PG_DB}_flush" WITH (FORCE)')
    await pg_exec(PG_ADMIN, f'CREATE DATABASE "{PG_DB}_flush"')
    for model in ("sessions", "independent"):
        for label, url in (("SQLite", f"sqlite:///{tmp / f'flush-{model}.sqlite3'}"), ("PostgreSQL", f"{admin_base}/{PG_DB}_flush")):
            wall, cpu = await flush_cost(url, model)
            print(f"   observe + flush {label:10s} per event (1,000/batch, {model:11s} calls): {wall:.2f} µs wall, {cpu:.2f} µs CPU")
            if label == "PostgreSQL":
                await pg_exec(PG_ADMIN, f'DROP DATABASE IF EXISTS "{PG_DB}_flush" WITH (FORCE)')
                await pg_exec(PG_ADMIN, f'CREATE DATABASE "{PG_DB}_flush"')
    await pg_exec(PG_ADMIN, f'DROP DATABASE IF EXISTS "{PG_DB}_flush" WITH (FORCE)')

    print("2. throughput with recording on vs off")
    print("   a. in-process ASGI GET /hello, flush included when on (waits on the database counted):")
    print("      no server around a call of a few µs, so this is recording's cost per call, not a served loss")
    res: dict[tuple[str, bool], list[float]] = {}
    await pg_exec(PG_ADMIN, f'DROP DATABASE IF EXISTS "{PG_DB}_tp" WITH (FORCE)')
    await pg_exec(PG_ADMIN, f'CREATE DATABASE "{PG_DB}_tp"')
    dbs = {"SQLite": f"sqlite:///{tmp / 'tp.sqlite3'}", "PostgreSQL": f"{admin_base}/{PG_DB}_tp"}
    for _ in range(args.rounds):
        for label, url in dbs.items():
            for enabled in (False, True):
                res.setdefault((label, enabled), []).append(await throughput(url, enabled, args.requests))
    print(f"      {'database':12s} {'off req/s':>10s} {'on req/s':>10s} {'on/off':>7s} {'µs/call':>8s}")
    for label in dbs:
        off, on = statistics.median(res[(label, False)]), statistics.median(res[(label, True)])
        print(f"      {label:12s} {off:10,.0f} {on:10,.0f} {on / off:7.3f} {1e6 / on - 1e6 / off:8.2f}")
    await pg_exec(PG_ADMIN, f'DROP DATABASE IF EXISTS "{PG_DB}_tp" WITH (FORCE)')
    if args.http_rounds:
        print("   b. served by uvicorn, loaded by wrk (bench/usage_http.py): the target, loss ≤ 3 %", flush=True)
        subprocess.run([sys.executable, str(HERE / "usage_http.py"), "--rounds", str(args.http_rounds)], check=True)

    if args.skip_panels:
        return
    await part_panels(args)


async def part_panels(args: argparse.Namespace) -> None:
    admin_base = PG_ADMIN.rsplit("/", 1)[0]
    print(f"3. dashboard panels over {args.rows:,} raw events on PostgreSQL ({PG_DB})")
    url = f"{admin_base}/{PG_DB}"
    loaded = rolled_up = False
    if args.reuse:
        import asyncpg

        try:
            conn = await asyncpg.connect(url)
            loaded = (await conn.fetchval("SELECT coalesce(sum(events), 0) FROM hd_usage_batches")) == args.rows
            rolled_up = loaded and (await conn.fetchval("SELECT coalesce(sum(calls), 0) FROM hd_usage_daily")) == args.rows
            await conn.close()
        except Exception:  # noqa: BLE001
            loaded = False
    if loaded and not rolled_up:  # loaded, but the rollups were never finished
        took = await build_rollups(url, args.rows, datetime.now(timezone.utc))
        print(f"   rebuild_rollups: {took:.1f} s ({took / args.rows * 1e6:.1f} µs/event)")
    if not loaded:
        await pg_exec(PG_ADMIN, f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        await pg_exec(PG_ADMIN, f'CREATE DATABASE "{PG_DB}"')
        info = await load_pg(url, args.rows)
        print(f"   COPY {args.rows:,} rows: {info['load_s']:.1f} s ({args.rows / info['load_s']:,.0f} rows/s); "
              f"rebuild_rollups: {info['rollup_s']:.1f} s ({info['rollup_s'] / args.rows * 1e6:.1f} µs/event)")
    import asyncpg

    conn = await asyncpg.connect(url)
    sizes = await conn.fetch(
        "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) AS size FROM pg_stat_user_tables "
        "WHERE relname LIKE 'hd_usage%' ORDER BY relname")
    await conn.close()
    for r in sizes:
        print(f"   table {r['relname']:24s} ~{r['n_live_tup']:>11,} rows {r['size']:>9s}")
    times = await panels(url)
    print(f"   {'panel':44s} {'median ms':>9s} {'min':>7s} {'max':>7s} {'÷ 50 ms':>8s}")
    for name, (med, lo, hi) in times.items():
        print(f"   {name:44s} {med:9.1f} {lo:7.1f} {hi:7.1f} {med / 50:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
