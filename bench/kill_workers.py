#!/usr/bin/env python
"""SIGKILL a worker mid-job 100 times; every job must still reach a final state.

Each round starts ``hyper worker`` (a real subprocess), waits until it holds a job,
waits a random 0–200 ms more and kills it with SIGKILL. A last worker then finishes
the queue, taking over the killed workers' jobs after the heartbeat timeout. Printed:
jobs lost (must be 0), final states, jobs taken over, and for the task that writes to
the database, executions committed per done job (must be exactly 1) — the job's
completion commits in the task's own transaction.

    .venv/bin/python bench/kill_workers.py              # 100 rounds, ~3 minutes
    .venv/bin/python bench/kill_workers.py --rounds 20

PostgreSQL: HYPER_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from typing import Any

import asyncpg
import sqlalchemy as sa

from hyperdeliver import App, Context, Feature, Settings

ADMIN = os.environ.get("HYPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "bench_kill_workers"
FAST = {"worker_heartbeat_interval": 0.2, "worker_heartbeat_timeout": 1.0, "worker_poll_interval": 0.1}

runs_metadata = sa.MetaData()
runs = sa.Table("bench_runs", runs_metadata, sa.Column("n", sa.Integer, primary_key=True))
feature = Feature("killbench", owner="bench@example.com")


@feature.task(retries=5, backoff=0.05)
async def record(ctx: Context, n: int) -> None:
    """Write the execution row, then work a while (a kill here must lose the row)."""
    await ctx.db.execute(runs.insert().values(n=n))
    await asyncio.sleep(0.1)


@feature.task(retries=5, backoff=0.05)
async def pause(ctx: Context, n: int) -> None:
    """No database work: at least once."""
    await asyncio.sleep(0.05)


def db_url() -> str:
    return ADMIN.rsplit("/", 1)[0] + "/" + DB


def create_app(settings: Settings | None = None) -> App:
    return App("killbench", features=[feature], settings=settings or Settings(database_url=db_url(), access_log=False))


async def scalar(sql: str) -> Any:
    conn = await asyncpg.connect(db_url())
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def prepare(n_jobs: int) -> None:
    from hyperdeliver.db.migrate import upgrade_async

    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{DB}"')
    await conn.close()
    app = create_app()
    await upgrade_async(app)
    async with app.database.engine.begin() as c:
        await c.run_sync(runs_metadata.create_all)
    await app.jobs.enqueue_many(None, record, [{"n": i} for i in range(n_jobs)])
    await app.jobs.enqueue_many(None, pause, [{"n": i} for i in range(n_jobs)])
    await app.database.dispose()


async def wait_until_holding(pid: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await scalar(f"SELECT count(*) FROM hd_jobs WHERE status = 'running' AND locked_by LIKE '%:{pid}:%'"):
            return
        await asyncio.sleep(0.02)
    raise SystemExit(f"worker {pid} never claimed a job")


async def main(rounds: int, n_jobs: int) -> int:
    await prepare(n_jobs)
    env = dict(os.environ, HYPER_APP="kill_workers:create_app", HYPER_DATABASE_URL=db_url(), HYPER_ACCESS_LOG="false")
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.abspath(__file__)), *filter(None, [env.get("PYTHONPATH")])])
    env.update({f"HYPER_{k.upper()}": str(v) for k, v in FAST.items()})
    cmd = [sys.executable, "-c", "from hyperdeliver.cli.main import main; main()", "worker", "--no-scheduler", "--concurrency", "4"]
    t0 = time.monotonic()
    for i in range(rounds):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await wait_until_holding(proc.pid)
        await asyncio.sleep(random.uniform(0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        if (i + 1) % 10 == 0:
            left = await scalar("SELECT count(*) FROM hd_jobs WHERE status NOT IN ('done', 'dead')")
            print(f"  {i + 1} kills, {left} jobs not final yet", flush=True)
    print(f"{rounds} SIGKILLs in {time.monotonic() - t0:.0f} s; a last worker finishes the queue", flush=True)
    from hyperdeliver.jobs.worker import Worker

    app = create_app(Settings(database_url=db_url(), access_log=False, **FAST))
    worker = Worker(app)
    task = asyncio.create_task(worker.run(install_signal_handlers=False))
    while await scalar("SELECT count(*) FROM hd_jobs WHERE status NOT IN ('done', 'dead')"):
        await asyncio.sleep(0.1)
    worker.stop()
    await task
    await app.database.dispose()

    total = await scalar("SELECT count(*) FROM hd_jobs")
    done = await scalar("SELECT count(*) FROM hd_jobs WHERE status = 'done'")
    dead = await scalar("SELECT count(*) FROM hd_jobs WHERE status = 'dead'")
    taken_over = await scalar("SELECT count(*) FROM hd_jobs WHERE last_error LIKE '%stopped heartbeating%'")
    rec_done = await scalar("SELECT count(*) FROM hd_jobs WHERE task = 'killbench.record' AND status = 'done'")
    rows = await scalar("SELECT count(*) FROM bench_runs")
    mismatched = await scalar(
        "SELECT count(*) FROM hd_jobs j FULL JOIN bench_runs r ON r.n = CAST(j.args->>'n' AS INT) "
        "WHERE j.task = 'killbench.record' AND ((j.status = 'done') <> (r.n IS NOT NULL))"
    )
    lost = 2 * n_jobs - total
    print(f"jobs enqueued {2 * n_jobs}, in the table {total} (lost: {lost}); done {done}, dead {dead}, not final {total - done - dead}")
    print(f"jobs taken over from a killed worker: {taken_over}")
    print(f"record (database task): {rec_done} done, {rows} execution rows committed, mismatches {mismatched}")
    ok = lost == 0 and done + dead == total and rows == rec_done and mismatched == 0
    print("OK: no job lost, every job final, database work exactly once" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=400, help="jobs per task (two tasks)")
    a = ap.parse_args()
    sys.exit(asyncio.run(main(a.rounds, a.jobs)))
