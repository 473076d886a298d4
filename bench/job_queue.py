#!/usr/bin/env python
"""Job queue throughput: hyperdeliver beside pgqueuer and procrastinate, on PostgreSQL.

Method (shared/bench/pg/queue_bench.py): for each contender and repetition, a fresh
database, 20,000 no-op jobs enqueued in batches of 1,000, ANALYZE (without it the
planners of some contenders scan the whole table per fetch: procrastinate drops from
~400 to ~70 jobs/s) and a CHECKPOINT, then ONE worker
in a separate process until the queue is empty. End to end = (last completion time
recorded in the database) - (wall clock when the worker process starts its run), after
imports. All jobs are checked to have completed. hyperdeliver runs with default
settings (``Worker(app)``: concurrency = settings.worker_concurrency); its jobs go
through the front controller's job path like in production.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/job_queue.py                 # 3 repetitions (procrastinate 1), ~4 minutes
    .venv/bin/python bench/job_queue.py --reps 1 --only hyperdeliver,pgqueuer

PostgreSQL: HYPER_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `queue`, which asyncio imports: drop its
# folder from the import path before anything else is imported.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import asyncio
import json
import logging
import statistics
import subprocess
import time
from datetime import timedelta
from typing import Any

import asyncpg

ADMIN = os.environ.get("HYPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
N_JOBS = 20_000
BATCH = 1_000
CONC = 10
logging.basicConfig(level=logging.WARNING)
logging.getLogger("procrastinate.blueprints").setLevel(logging.ERROR)


def url(db: str) -> str:
    return ADMIN.rsplit("/", 1)[0] + "/" + db


def conninfo(db: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url(db))
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}", f"user={u.username or 'postgres'}", f"dbname={db}"]
    if u.password:
        parts.append(f"password={u.password}")
    return " ".join(parts)


async def admin(sql: str, db: str = "") -> None:
    conn = await asyncpg.connect(url(db) if db else ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fetch(db: str, sql: str) -> Any:
    conn = await asyncpg.connect(url(db))
    try:
        return await conn.fetchrow(sql)
    finally:
        await conn.close()


async def recreate(db: str) -> None:
    await admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{db}"')


def cpu_stat() -> tuple[int, int]:
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    return sum(parts), parts[3] + parts[4]


class Span:
    """Wall time, this process's CPU, and the whole machine's busy share."""

    def __enter__(self) -> Span:
        self.s0 = cpu_stat()
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.elapsed = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0
        tot, idle = cpu_stat()
        self.busy = 100.0 * (1 - (idle - self.s0[1]) / max(1, tot - self.s0[0]))


# ----------------------------------------------------------------------------- hyperdeliver


def hd_app(db: str) -> Any:
    from hyperdeliver import App, Feature, Settings

    feature = Feature("bench", owner="bench@example.com")

    @feature.task()
    async def noop(ctx: Any, i: int) -> None:
        return None

    return App("bench", features=[feature], settings=Settings(database_url=url(db), access_log=False)), noop


async def hd_setup(db: str) -> None:
    from hyperdeliver.db.migrate import upgrade_async

    app, _ = hd_app(db)
    await upgrade_async(app)
    await app.database.dispose()


async def hd_enqueue(db: str, n: int) -> float:
    app, noop = hd_app(db)
    with Span() as t:
        for s in range(0, n, BATCH):
            await app.jobs.enqueue_many(None, noop, [{"i": i} for i in range(s, min(n, s + BATCH))])
    await app.database.dispose()
    return t.elapsed


async def hd_worker(db: str, args: Any) -> dict[str, Any]:
    from hyperdeliver.jobs.worker import Worker

    app, _ = hd_app(db)
    worker = Worker(app)  # default settings
    t_wall = time.time()
    with Span() as t:
        stats = await worker.run(burst=True, install_signal_handlers=False)
    await app.database.dispose()
    return {"t_start_wall": t_wall, "run_s": t.elapsed, "cpu_s": t.cpu, "busy": t.busy, "concurrency": worker.concurrency, "stats": dict(stats)}


async def hd_done(db: str) -> tuple[int, float]:
    row = await fetch(db, "SELECT count(*) FILTER (WHERE status = 'done'), extract(epoch FROM max(finished_at)) FROM hd_jobs")
    return int(row[0]), float(row[1])


# ----------------------------------------------------------------------------- pgqueuer


async def pgq_setup(db: str) -> None:
    from pgqueuer import AsyncpgDriver, Queries

    conn = await asyncpg.connect(url(db))
    try:
        await Queries(AsyncpgDriver(conn)).install()
    finally:
        await conn.close()


async def pgq_enqueue(db: str, n: int) -> float:
    from pgqueuer import AsyncpgDriver, Queries

    conn = await asyncpg.connect(url(db))
    q = Queries(AsyncpgDriver(conn))
    with Span() as t:
        for s in range(0, n, BATCH):
            k = min(n, s + BATCH) - s
            await q.enqueue(["noop"] * k, [json.dumps({"i": i}).encode() for i in range(s, s + k)], [0] * k)
    await conn.close()
    return t.elapsed


async def pgq_worker(db: str, args: Any) -> dict[str, Any]:
    from pgqueuer import AsyncpgDriver, Queries, QueueManager
    from pgqueuer.domain.types import QueueExecutionMode

    conn = await asyncpg.connect(url(db))
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint("noop")
    async def noop(job: Any) -> None:
        return None

    t_wall = time.time()
    with Span() as t:
        await qm.run(
            batch_size=10,
            mode=QueueExecutionMode.drain,
            max_concurrent_tasks=args.max_conc or None,
            dequeue_timeout=timedelta(seconds=1),
        )
    await conn.close()
    return {"t_start_wall": t_wall, "run_s": t.elapsed, "cpu_s": t.cpu, "busy": t.busy}


async def pgq_done(db: str) -> tuple[int, float]:
    left = await fetch(db, "SELECT count(*) FROM pgqueuer")
    assert left[0] == 0, f"{left[0]} jobs left in pgqueuer"
    row = await fetch(db, "SELECT count(*), extract(epoch FROM max(created)) FROM pgqueuer_log WHERE status = 'successful'")
    return int(row[0]), float(row[1])


# ----------------------------------------------------------------------------- procrastinate


def proc_app(db: str, pool: int) -> Any:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(db), min_size=pool, max_size=pool))

    @app.task(name="noop", queue="bench")
    async def noop(i: int) -> None:
        return None

    return app, noop


async def proc_setup(db: str) -> None:
    app, _ = proc_app(db, 1)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()


async def proc_enqueue(db: str, n: int) -> float:
    app, noop = proc_app(db, 1)
    async with app.open_async():
        with Span() as t:
            for s in range(0, n, BATCH):
                await noop.batch_defer_async(*({"i": i} for i in range(s, min(n, s + BATCH))))
    return t.elapsed


async def proc_worker(db: str, args: Any) -> dict[str, Any]:
    app, _ = proc_app(db, CONC + 2)
    async with app.open_async():
        t_wall = time.time()
        with Span() as t:
            await app.run_worker_async(queues=["bench"], concurrency=CONC, wait=False, install_signal_handlers=False)
    return {"t_start_wall": t_wall, "run_s": t.elapsed, "cpu_s": t.cpu, "busy": t.busy}


async def proc_done(db: str) -> tuple[int, float]:
    row = await fetch(db, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'")
    last = await fetch(db, "SELECT extract(epoch FROM max(at)) FROM procrastinate_events WHERE type = 'succeeded'")
    return int(row[0]), float(last[0])


# ----------------------------------------------------------------------------- orchestration

LIBS = {
    "hyperdeliver": (hd_setup, hd_enqueue, hd_worker, hd_done),
    "pgqueuer": (pgq_setup, pgq_enqueue, pgq_worker, pgq_done),
    "procrastinate": (proc_setup, proc_enqueue, proc_worker, proc_done),
}
VARIANTS = [
    ("hyperdeliver (defaults: concurrency 10, claim+ack in one statement)", "hyperdeliver", []),
    ("pgqueuer 1.6 (batch_size=10, max_concurrent_tasks=20)", "pgqueuer", ["--max-conc", "20"]),
    ("pgqueuer 1.6 (batch_size=10, unbounded)", "pgqueuer", ["--max-conc", "0"]),
    ("procrastinate 3.10 (concurrency=10)", "procrastinate", []),
]


def run_worker(lib: str, db: str, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "worker", "--lib", lib, "--db", db, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{lib} worker failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench(
    reps: int, only: set[str] | None, n_jobs: int, slow_reps: int = 1, analyze: bool = True
) -> dict[str, dict[str, list[float]]]:
    """Repetitions interleave the contenders (A B C, A B C, …) so that noise from other
    processes on the machine falls on all of them alike."""
    variants = [v for v in VARIANTS if not only or v[1] in only]
    results: dict[str, dict[str, list[float]]] = {
        label: {"e2e": [], "enqueue": [], "cpu_us": [], "busy": []} for label, _, _ in variants
    }
    for rep in range(reps):
        for label, lib, extra in variants:
            if lib == "procrastinate" and rep >= slow_reps:
                continue  # ~300 jobs/s: one 20,000-job run takes a minute or more
            setup, enqueue, _, done = LIBS[lib]
            db = f"bench_queue_{lib}"
            rec = results[label]
            asyncio.run(recreate(db))
            asyncio.run(setup(db))
            el = asyncio.run(enqueue(db, n_jobs))
            if analyze:
                asyncio.run(admin("ANALYZE", db))
            asyncio.run(admin("CHECKPOINT", db))
            w = run_worker(lib, db, extra)
            n, last = asyncio.run(done(db))
            assert n == n_jobs, f"{label}: only {n}/{n_jobs} jobs completed"
            e2e = n_jobs / (last - w["t_start_wall"])
            rec["e2e"].append(e2e)
            rec["enqueue"].append(n_jobs / el)
            rec["cpu_us"].append(1e6 * w["cpu_s"] / n_jobs)
            rec["busy"].append(w["busy"])
            print(
                f"  rep {rep + 1} [{label}]: {e2e:,.0f} jobs/s end to end, worker CPU {1e6 * w['cpu_s'] / n_jobs:.0f} µs/job, "
                f"machine busy {w['busy']:.0f}%, batch enqueue {n_jobs / el:,.0f}/s",
                flush=True,
            )
    for lib in {v[1] for v in variants}:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "bench_queue_{lib}" WITH (FORCE)'))
    return results


def report(results: dict[str, dict[str, list[float]]], n_jobs: int) -> None:
    med = {label: statistics.median(r["e2e"]) for label, r in results.items()}
    print(f"\n{n_jobs:,} no-op jobs, one worker process, PostgreSQL at {ADMIN.rsplit('@', 1)[-1]}; median (min–max) of n runs")
    print(f"{'contender':<72} {'n':>2} {'jobs/s':>8} {'min–max':>15} {'CPU µs/job':>11}")
    for label, r in results.items():
        lo, hi = min(r["e2e"]), max(r["e2e"])
        print(f"{label:<72} {len(r['e2e']):>2} {med[label]:>8,.0f} {f'{lo:,.0f}–{hi:,.0f}':>15} {statistics.median(r['cpu_us']):>11.0f}")
    hd = next((v for k, v in med.items() if k.startswith("hyperdeliver")), None)
    if hd is not None:
        print()
        for label, v in med.items():
            if not label.startswith("hyperdeliver"):
                print(f"hyperdeliver / {label}: {hd / v:.2f}x")
        print(f"target >= 4,000 jobs/s: {'met' if hd >= 4000 else 'NOT met'} ({hd:,.0f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", nargs="?", default="all", choices=["all", "worker"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-analyze", action="store_true", help="skip ANALYZE between enqueue and drain")
    ap.add_argument("--procrastinate-reps", type=int, default=1, help="repetitions for procrastinate (slow)")
    ap.add_argument("--jobs", type=int, default=N_JOBS)
    ap.add_argument("--only", help="comma-separated: hyperdeliver,pgqueuer,procrastinate")
    ap.add_argument("--lib")
    ap.add_argument("--db")
    ap.add_argument("--max-conc", type=int, default=20)
    args = ap.parse_args()
    if args.cmd == "worker":
        print(json.dumps(asyncio.run(LIBS[args.lib][2](args.db, args))))
        return
    only = set(args.only.split(",")) if args.only else None
    report(bench(args.reps, only, args.jobs, args.procrastinate_reps, not args.no_analyze), args.jobs)


if __name__ == "__main__":
    main()
