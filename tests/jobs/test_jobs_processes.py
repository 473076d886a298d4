"""Worker processes on a real PostgreSQL: SIGKILL mid-job, four workers, SIGTERM drain."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
from pathlib import Path

import pytest
from jobhelpers import count, rows, worker_env
from jobsapp import noop, record, slow
from waiting import eventually

from hyperdeliver import App
from hyperdeliver.jobs.worker import Worker

pytestmark = pytest.mark.postgres

FAST = {"worker_heartbeat_interval": 0.2, "worker_heartbeat_timeout": 1.0, "worker_poll_interval": 0.1}


async def _wait_for(app: App, sql: str, predicate, timeout: float = 60.0, **params) -> None:
    async def holds() -> bool:
        return bool(predicate(await count(app, sql, **params)))

    await eventually(holds, sql, timeout=timeout)


async def _exit_code(proc: subprocess.Popen[bytes], timeout: float) -> int:
    return await asyncio.to_thread(proc.wait, timeout)


async def test_sigkill_mid_job_20_times_loses_nothing(make_app, postgres_url: str, spawn) -> None:
    app = await make_app(postgres_url, **FAST)
    n_record, n_noop = 60, 60
    await app.jobs.enqueue_many(None, record, [{"n": i, "sleep": 0.15} for i in range(n_record)])
    await app.jobs.enqueue_many(None, noop, [{"n": i} for i in range(n_noop)])
    env = worker_env(postgres_url, **FAST)
    kills = 0
    for _ in range(20):
        proc = spawn(env, "worker", "--no-scheduler", "--concurrency", "3", stderr=subprocess.DEVNULL)
        # Kill only once this worker holds a job, at a random moment of its run.
        await _wait_for(
            app,
            "SELECT count(*) FROM hd_jobs WHERE status = 'running' AND locked_by LIKE :me",
            lambda v: v > 0,
            me=f"%:{proc.pid}:%",
        )
        # ... after 0 to 2 more of the queue's jobs are done, so the kill lands at varied points of a job
        done = await count(app, "SELECT count(*) FROM hd_jobs WHERE status = 'done'")
        await _wait_for(app, "SELECT count(*) FROM hd_jobs WHERE status = 'done'", lambda v, at=done + random.randint(0, 2): v >= at)
        proc.send_signal(signal.SIGKILL)
        assert await _exit_code(proc, 5) == -signal.SIGKILL
        kills += 1
    assert kills == 20
    # A survivor finishes the rest, taking over the killed workers' jobs after the heartbeat timeout.
    survivor = Worker(app)
    running = asyncio.create_task(survivor.run(install_signal_handlers=False))
    await _wait_for(app, "SELECT count(*) FROM hd_jobs WHERE status NOT IN ('done', 'dead')", lambda v: v == 0, timeout=60)
    survivor.stop()
    await running
    total = await count(app, "SELECT count(*) FROM hd_jobs")
    assert total == n_record + n_noop  # no job lost
    by_status = dict(await rows(app, "SELECT status, count(*) FROM hd_jobs GROUP BY status"))
    assert set(by_status) <= {"done", "dead"}
    taken_over = await count(app, "SELECT count(*) FROM hd_jobs WHERE last_error LIKE '%stopped heartbeating%'")
    assert taken_over >= 1  # kills did land mid-job
    # Exactly once for database work: one execution row per done `record` job, none for dead ones.
    done_n = {r[0] for r in await rows(app, "SELECT CAST(args->>'n' AS INT) FROM hd_jobs WHERE task = 'jobtest.record' AND status = 'done'")}
    ran_n = {r[0] for r in await rows(app, "SELECT n FROM jobs_test_runs")}
    assert ran_n == done_n
    assert await count(app, "SELECT count(*) FROM jobs_test_runs") == len(done_n)


async def test_four_workers_run_20000_jobs_exactly_once(make_app, postgres_url: str, spawn, tmp_path: Path) -> None:
    app = await make_app(postgres_url)
    procs, logs = [], []
    for i in range(4):
        env = worker_env(postgres_url)
        env["HD_TEST_RUNLOG"] = str(tmp_path / f"worker{i}.log")
        logs.append(tmp_path / f"worker{i}.log")
        procs.append(spawn(env, "worker", "--no-scheduler", stderr=subprocess.DEVNULL))
    # Wait until the four are listening, then enqueue: each wakes on the NOTIFY.
    await _wait_for(
        app,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        lambda v: v == 4,
        timeout=30,
    )
    for start in range(0, 20_000, 1000):
        await app.jobs.enqueue_many(None, noop, [{"n": n} for n in range(start, start + 1000)])
    await _wait_for(app, "SELECT count(*) FROM hd_jobs WHERE status = 'done'", lambda v: v == 20_000, timeout=120)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        assert await _exit_code(p, 25) == 0
    executed = [int(line) for log in logs for line in log.read_text().split()]
    per_worker = [len(log.read_text().split()) for log in logs]
    assert sorted(executed) == list(range(20_000)), "a job ran twice or never"
    assert all(n > 0 for n in per_worker), per_worker
    assert await rows(app, "SELECT status, min(attempts), max(attempts), count(*) FROM hd_jobs GROUP BY status") == [
        ("done", 1, 1, 20_000)
    ]


async def test_sigterm_drains_running_jobs(make_app, postgres_url: str, spawn) -> None:
    app = await make_app(postgres_url, **FAST)
    finishing = await app.jobs.enqueue(None, slow, seconds=1.0)
    proc = spawn(worker_env(postgres_url, worker_drain_timeout=5, **FAST), "worker", "--no-scheduler")
    await _wait_for(app, "SELECT count(*) FROM hd_jobs WHERE status = 'running'", lambda v: v == 1)
    proc.send_signal(signal.SIGTERM)
    assert await _exit_code(proc, 10) == 0
    assert await rows(app, "SELECT status, attempts FROM hd_jobs WHERE id = :id", id=finishing) == [("done", 1)]
    # A job longer than the drain timeout is given back, its attempt not counted.
    too_long = await app.jobs.enqueue(None, slow, seconds=30.0)
    proc = spawn(worker_env(postgres_url, worker_drain_timeout=0.5, **FAST), "worker", "--no-scheduler")
    await _wait_for(app, "SELECT count(*) FROM hd_jobs WHERE status = 'running'", lambda v: v == 1)
    proc.send_signal(signal.SIGTERM)
    assert await _exit_code(proc, 10) == 0
    _, err = proc.communicate()
    assert b"given back to the queue" in err
    assert await rows(app, "SELECT status, attempts, locked_by FROM hd_jobs WHERE id = :id", id=too_long) == [("queued", 0, None)]
