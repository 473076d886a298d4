"""The worker: job path through the front controller, retries, timeouts, fencing, recovery."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from jobhelpers import count, rows
from jobsapp import flaky, noop, record, too_slow
from sqlalchemy import bindparam, text
from waiting import eventually

from hyperdeliver import App
from hyperdeliver.db.model import UTCDateTime
from hyperdeliver.jobs.worker import Worker
from hyperdeliver.testing import TestClient


async def _one_row(app: App, job_id: int) -> tuple:
    return (await rows(app, "SELECT status, attempts, run_at, finished_at, last_error FROM hd_jobs WHERE id = :id", id=job_id))[0]


def _aware(value) -> datetime:
    if isinstance(value, str):  # SQLite through text(): stored like the ORM stores it
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def make_due(app: App, job_id: int) -> None:
    """Move a job's ``run_at`` into the past: its retry is due without waiting for it
    (the claim compares with the database's own clock, which a test cannot travel)."""
    past = bindparam("past", datetime(2000, 1, 1, tzinfo=timezone.utc), type_=UTCDateTime())
    async with app.database.engine.begin() as conn:
        await conn.execute(text("UPDATE hd_jobs SET run_at = :past WHERE id = :id").bindparams(past), {"id": job_id})


async def test_retry_schedule_follows_backoff_then_dead(make_app, database_url: str) -> None:
    """flaky: retries=3, backoff=0.2 -> waits 0.2, 0.4, 0.8 s (x jitter 0.8..1.2), then dead."""
    app = await make_app(database_url)
    job_id = await app.jobs.enqueue(None, flaky)
    for attempt in range(1, 5):
        stats = await Worker(app).run(burst=True, install_signal_handlers=False)
        assert stats["claimed"] == 1, (attempt, stats)
        status, attempts, run_at, finished_at, error = await _one_row(app, job_id)
        assert attempts == attempt
        assert "RuntimeError: flaky failed on purpose" in error
        if attempt < 4:
            assert status == "failed"
            delay = (_aware(run_at) - _aware(finished_at)).total_seconds()
            expected = flaky.retry_delay(attempt, jitter=0)
            assert expected == pytest.approx(0.2 * 2 ** (attempt - 1))
            assert expected * 0.8 - 1e-3 <= delay <= expected * 1.2 + 1e-3, (attempt, delay)
            # Not due yet: a worker now claims nothing. Then the retry's time comes (the
            # row moved back by its delay, as if the time had passed).
            assert (await Worker(app).run(burst=True, install_signal_handlers=False))["claimed"] == 0
            await make_due(app, job_id)
        else:
            assert status == "dead"
    # Nothing is left to run.
    assert (await Worker(app).run(burst=True, install_signal_handlers=False))["claimed"] == 0


async def test_timeout_fails_the_attempt(make_app, sqlite_url: str) -> None:
    app = await make_app(sqlite_url)
    job_id = await app.jobs.enqueue(None, too_slow)
    stats = await Worker(app).run(burst=True, install_signal_handlers=False)
    assert stats["dead"] == 1
    status, attempts, _, _, error = await _one_row(app, job_id)
    assert (status, attempts) == ("dead", 1)
    assert error.startswith("TimeoutError: jobtest.too_slow took longer than 0.2 s")


async def test_jobs_go_through_the_front_controller(make_app, database_url: str) -> None:
    app = await make_app(database_url)
    seen: list[tuple] = []
    app.controller.observers.append(lambda op, ctx, status, secs: seen.append((op.qualname, op.kind, ctx.interface, status)))
    await app.jobs.enqueue(None, noop, n=1)
    await app.jobs.enqueue(None, flaky.defer())
    await Worker(app).run(burst=True, install_signal_handlers=False)
    assert sorted(seen) == [("jobtest.flaky", "task", "job", 500), ("jobtest.noop", "task", "job", 200)]


async def test_task_writes_and_completion_commit_together(make_app, database_url: str) -> None:
    app = await make_app(database_url)
    first = await app.jobs.enqueue(None, record, n=1)
    second = await app.jobs.enqueue(None, record, n=2)
    worker = Worker(app, name="me")
    async with app.database.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        jobs = await app.jobs.store.claim(conn, "me", 10, [], None)
        assert sorted(j.id for j in jobs) == [first, second]
        # Another worker took job 2 over (as after a missed heartbeat).
        await conn.exec_driver_sql(f"UPDATE hd_jobs SET locked_by = 'other' WHERE id = {second}")
    results = {j.id: await worker.execute(j) for j in jobs}
    assert results == {first: True, second: False}
    assert worker.stats["lost"] == 1
    assert [r[0] for r in await rows(app, "SELECT n FROM jobs_test_runs")] == [1]  # job 2's insert rolled back
    got = await rows(app, "SELECT id, status, locked_by FROM hd_jobs ORDER BY id")
    assert got == [(first, "done", None), (second, "running", "other")]
    assert worker.pending_acks == ()  # job 1 was completed in its own transaction, not acknowledged later


async def test_jobs_of_a_silent_worker_are_recovered(make_app, database_url: str) -> None:
    app = await make_app(database_url, worker_heartbeat_interval=0.1, worker_heartbeat_timeout=0.5, worker_poll_interval=0.05)
    job_id = await app.jobs.enqueue(None, record, n=7)
    async with app.database.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        assert [j.id for j in await app.jobs.store.claim(conn, "ghost", 1, [], None)] == [job_id]
    worker = Worker(app)
    running = asyncio.create_task(worker.run(install_signal_handlers=False))
    # the heartbeat timeout is compared with the database's clock: a real wait of 0.5 s
    await eventually(lambda: count(app, "SELECT count(*) FROM hd_jobs WHERE status = 'done'"), "the ghost's job to be recovered and done")
    worker.stop()
    stats = await running
    status, attempts, _, _, error = await _one_row(app, job_id)
    assert (status, attempts) == ("done", 2)
    assert "worker ghost stopped heartbeating" in error
    assert stats["recovered"] == 1
    assert await count(app, "SELECT count(*) FROM jobs_test_runs") == 1


async def test_teamboard_assignment_notifies_through_a_job(client: TestClient, teamboard: App) -> None:
    await client.login("member@teamboard.dev", "member-password")
    me = (await client.get("/auth/me")).json()
    created = await client.post("/projects/1/tasks", json={"title": "Review the copy", "assignee_id": me["id"]})
    assert created.status_code == 201, created.text
    unassigned = await client.post("/projects/1/tasks", json={"title": "Nobody's"})
    assert unassigned.status_code == 201
    bad = await client.post("/projects/999/tasks", json={"title": "x", "assignee_id": me["id"]})
    assert bad.status_code == 404
    assert await count(teamboard, "SELECT count(*) FROM hd_jobs") == 1
    stats = await Worker(teamboard).run(burst=True, install_signal_handlers=False)
    assert stats["done"] == 1
    task_id = created.json()["id"]
    comments = (await client.get(f"/tasks/{task_id}/comments")).json()
    assert [c["body"] for c in comments] == ["@Max Member: this task is now yours."]
    # Reassigning to the same person enqueues nothing; to someone else, one more job.
    same = await client.patch(f"/tasks/{task_id}", json={"assignee_id": me["id"]})
    assert same.status_code == 200
    assert await count(teamboard, "SELECT count(*) FROM hd_jobs") == 1


async def test_teamboard_digest_cron_runs_on_the_job_path(teamboard: App) -> None:
    from hyperdeliver.jobs.scheduler import Scheduler

    digest = teamboard.jobs.task("tasks.stale_tasks_digest")
    assert digest.schedule == "0 7 * * *"
    job_id = await Scheduler(teamboard).enqueue_tick(digest, datetime(2026, 11, 25, 7, tzinfo=timezone.utc))
    assert job_id is not None
    assert await Scheduler(teamboard).enqueue_tick(digest, datetime(2026, 11, 25, 7, tzinfo=timezone.utc)) is None
    stats = await Worker(teamboard).run(burst=True, install_signal_handlers=False)
    assert stats["done"] == 1


async def test_in_process_worker_runs_with_the_app_lifespan(make_app, sqlite_url: str) -> None:
    """What `hyper dev` and `hyper demo` do: web, worker and scheduler in one process."""
    app = await make_app(sqlite_url, worker_in_process=True, worker_poll_interval=0.05)
    async with TestClient(app) as client:
        assert (await client.post("/things", params={"n": 5})).status_code == 204
        await eventually(
            lambda: count(app, "SELECT count(*) FROM hd_jobs WHERE task = 'jobtest.record' AND status = 'done'"),
            "the in-process worker to run the job",
        )
    assert await rows(app, "SELECT n FROM jobs_test_runs") == [(5,)]
    assert await count(app, "SELECT count(*) FROM hd_jobs WHERE status = 'running'") == 0  # drained at shutdown


@pytest.mark.postgres
async def test_worker_survives_its_connections_being_killed(make_app, postgres_url: str) -> None:
    app = await make_app(postgres_url, worker_poll_interval=0.05, worker_heartbeat_interval=0.1)
    observer = await make_app(postgres_url)  # the test's own pool, untouched by the kill
    worker = Worker(app)
    running = asyncio.create_task(worker.run(install_signal_handlers=False))

    async def done_count() -> int:
        return await count(observer, "SELECT count(*) FROM hd_jobs WHERE status = 'done'")

    async def wait_done(n: int) -> None:
        async def reached() -> bool:
            return await done_count() == n

        await eventually(reached, f"{n} jobs done")

    await observer.jobs.enqueue(None, noop, n=1)
    await wait_done(1)
    killed = await count(
        observer,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND (query LIKE 'LISTEN%' OR query LIKE '%SKIP LOCKED%' OR query LIKE '%SET heartbeat_at%')",
    )
    assert killed >= 2  # the worker's claim and LISTEN connections at least
    await observer.jobs.enqueue(None, noop, n=2)
    await observer.jobs.enqueue(None, record, n=3)
    await wait_done(3)
    worker.stop()
    await running
    assert await rows(observer, "SELECT n FROM jobs_test_runs") == [(3,)]
