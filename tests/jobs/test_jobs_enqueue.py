"""Enqueueing: in the caller's transaction, validated, deferred; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from jobhelpers import count, rows
from jobsapp import noop, record, slow

from hyperdeliver import Forbidden, ValidationFailed
from hyperdeliver.context import Context
from hyperdeliver.auth.principal import ANONYMOUS
from hyperdeliver.jobs.worker import Worker
from hyperdeliver.testing import TestClient


async def test_rolled_back_request_enqueues_nothing(make_app, database_url: str) -> None:
    app = await make_app(database_url)
    async with TestClient(app) as client:
        failed = await client.post("/things", params={"n": 1, "fail": "true"})
        assert failed.status_code == 500
        ok = await client.post("/things", params={"n": 2})
        assert ok.status_code == 204, ok.text
    assert await count(app, "SELECT count(*) FROM hd_jobs") == 1
    stats = await Worker(app).run(burst=True, install_signal_handlers=False)
    assert stats["done"] == 1
    # The job of the rolled-back request never existed, so it never ran.
    assert [r[0] for r in await rows(app, "SELECT n FROM jobs_test_runs")] == [2]
    assert await rows(app, "SELECT task, status, attempts FROM hd_jobs") == [("jobtest.record", "done", 1)]


async def test_enqueue_in_a_session_that_rolls_back(make_app, database_url: str) -> None:
    app = await make_app(database_url)
    async with app.database.session() as s:
        await app.jobs.enqueue(s, noop, n=1)
        await s.rollback()
    assert await count(app, "SELECT count(*) FROM hd_jobs") == 0
    job_id = await app.jobs.enqueue(None, noop, n=2)  # its own transaction, committed
    assert await rows(app, "SELECT id, status, args FROM hd_jobs") in (
        [(job_id, "queued", '{"n":2}')],  # SQLite keeps the JSON text
        [(job_id, "queued", {"n": 2})],  # PostgreSQL decodes JSONB
    )


async def test_arguments_are_validated_when_enqueued(make_app, sqlite_url: str) -> None:
    app = await make_app(sqlite_url)
    with pytest.raises(ValidationFailed) as err:
        await app.jobs.enqueue(None, noop, n="not a number")
    assert err.value.errors[0]["field"] == "n"
    with pytest.raises(ValidationFailed):
        await app.jobs.enqueue(None, noop, n=1, surprise=True)
    with pytest.raises(TypeError):
        await app.jobs.enqueue(None, len)
    assert await count(app, "SELECT count(*) FROM hd_jobs") == 0


async def test_deferred_job_waits_for_run_at(make_app, database_url: str) -> None:
    app = await make_app(database_url)
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    await app.jobs.enqueue(None, noop.defer(run_at=later), n=1)
    await app.jobs.enqueue(None, noop.defer(delay=-1, queue="other"), n=2)
    stats = await Worker(app).run(burst=True, install_signal_handlers=False)
    assert stats["done"] == 1
    got = await rows(app, "SELECT queue, status FROM hd_jobs ORDER BY id")
    assert got == [("default", "queued"), ("other", "done")]
    with pytest.raises(TypeError):
        noop.defer(run_at=datetime(2030, 1, 1))  # naive datetimes are refused


async def test_queues_filter_what_a_worker_claims(make_app, database_url: str) -> None:
    app = await make_app(database_url)
    await app.jobs.enqueue(None, noop.defer(queue="mail"), n=1)
    await app.jobs.enqueue(None, noop, n=2)
    stats = await Worker(app, queues=["mail"]).run(burst=True, install_signal_handlers=False)
    assert stats["done"] == 1
    assert await rows(app, "SELECT queue, status FROM hd_jobs ORDER BY id") == [("mail", "done"), ("default", "queued")]


async def test_a_task_is_not_callable_outside_the_job_path(make_app, sqlite_url: str) -> None:
    app = await make_app(sqlite_url)
    ctx = Context(app, "r1", ANONYMOUS, "rest", slow)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        await app.controller.call(slow, ctx, lambda: {"seconds": 0})  # type: ignore[arg-type]
    assert "POST /things" in {f"{op.method} {op.path}" for op in app.operations}
    assert all(op.kind != "task" for op in app.operations)  # tasks get no routes


async def test_task_from_another_app_is_refused(make_app, sqlite_url: str) -> None:
    from hyperdeliver import ConfigurationError, Feature

    other = Feature("other", owner="x@example.com")

    @other.task()
    async def stray(ctx) -> None: ...

    app = await make_app(sqlite_url)
    with pytest.raises(ConfigurationError):
        await app.jobs.enqueue(None, stray)
    assert record.qualname in app.jobs.tasks
