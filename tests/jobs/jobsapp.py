"""A small app for the job tests; worker subprocesses load it as ``jobsapp:create_app``
with PYTHONPATH=tests/jobs and HYPER_* settings from the environment."""

from __future__ import annotations

import asyncio
import os

import sqlalchemy as sa

from hyperdeliver import PUBLIC, App, Context, Feature, Settings

# A table of its own MetaData: executions of `record`, one row per job argument n.
test_metadata = sa.MetaData()
runs = sa.Table(
    "jobs_test_runs",
    test_metadata,
    sa.Column("n", sa.Integer, primary_key=True),  # unique: a second execution would fail
    sa.Column("worker_pid", sa.Integer, nullable=False),
)

feature = Feature("jobtest", owner="qa@example.com", summary="Tasks for the job queue tests")
flaky_calls: list[float] = []


@feature.task(retries=3)
async def record(ctx: Context, n: int, sleep: float = 0.0) -> None:
    """Insert the execution row, then sleep (a kill during the sleep loses the insert)."""
    await ctx.db.execute(runs.insert().values(n=n, worker_pid=os.getpid()))
    if sleep:
        await asyncio.sleep(sleep)


@feature.task()
async def noop(ctx: Context, n: int) -> None:
    """No database work; appends n to the file named by HD_TEST_RUNLOG, if set."""
    path = os.environ.get("HD_TEST_RUNLOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{n}\n".encode())
        finally:
            os.close(fd)


@feature.task(retries=3, backoff=0.2)
async def flaky(ctx: Context) -> None:
    """Always fails."""
    flaky_calls.append(asyncio.get_running_loop().time())
    raise RuntimeError("flaky failed on purpose")


@feature.task(timeout=0.2)
async def too_slow(ctx: Context) -> None:
    """Never finishes: only its timeout ends it."""
    await asyncio.Event().wait()


@feature.task()
async def slow(ctx: Context, seconds: float) -> None:
    await asyncio.sleep(seconds)


@feature.cron("* * * * * *")
async def every_second(ctx: Context) -> None:
    """Per-second cron for the scheduler race."""


@feature.cron("0 7 * * *")
async def daily(ctx: Context) -> None:
    """07:00 UTC: what `hyper cron run` is tested with."""


@feature.mutation("POST /things", roles=PUBLIC)
async def make_thing(ctx: Context, n: int, fail: bool = False) -> None:
    """Enqueue `record` in the request's transaction; fail afterwards if asked."""
    await ctx.enqueue(record, n=n)
    if fail:
        raise RuntimeError("the request fails after enqueueing")


def create_app(settings: Settings | None = None) -> App:
    return App("jobsapp", features=[feature], settings=settings)
