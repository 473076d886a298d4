"""Cron: exactly one job per schedule time, however many schedulers race."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timedelta, timezone

import pytest
from jobhelpers import rows, worker_env
from jobsapp import every_second
from waiting import eventually

from hyperdeliver import App
from hyperdeliver.jobs.scheduler import Scheduler, last_tick, next_tick

RACE_TICKS = 15  # of the per-second cron; bench/cron_race.py runs the full 2-minute race


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def _check_one_job_per_tick(app: App, at_least: int) -> int:
    ticks = await rows(
        app, "SELECT tick_at, job_id FROM hd_cron_ticks WHERE name = 'jobtest.every_second' ORDER BY tick_at"
    )
    jobs = await rows(app, "SELECT id FROM hd_jobs WHERE task = 'jobtest.every_second' ORDER BY id")
    assert len(ticks) >= at_least, f"only {len(ticks)} ticks"
    times = [_aware(t[0]) for t in ticks]
    gaps = {(b - a).total_seconds() for a, b in zip(times, times[1:])}
    assert gaps == {1.0}, f"ticks are not one per second: {sorted(gaps)}"  # no hole, no duplicate
    assert sorted(t[1] for t in ticks) == [j[0] for j in jobs], (ticks, jobs)  # one job per tick, each its own
    return len(ticks)


async def _ticks_reach(app: App, n: int) -> None:
    """Wait (the schedulers run on real time, one tick a second) until ``n`` ticks are in."""

    async def reached() -> bool:
        return len(await rows(app, "SELECT tick_at FROM hd_cron_ticks WHERE name = 'jobtest.every_second'")) >= n

    await eventually(reached, f"{n} ticks of jobtest.every_second", timeout=n * 4 + 30)


async def _until_started(proc) -> bytes:
    """The scheduler's log up to its start line ("scheduler: N cron(s): ...")."""
    lines = []
    while True:
        line = await asyncio.to_thread(proc.stderr.readline)
        lines.append(line)
        if not line or b"cron(s)" in line:
            return b"".join(lines)


@pytest.mark.postgres
async def test_three_scheduler_processes_race_one_job_per_tick(make_app, postgres_url: str, spawn) -> None:
    app = await make_app(postgres_url)
    procs = [spawn(worker_env(postgres_url), "scheduler") for _ in range(3)]
    # The race starts once all three run: on a busy machine a process takes seconds to start.
    early = [await _until_started(p) for p in procs]
    await _ticks_reach(app, RACE_TICKS)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    enqueued_by = []
    for p, before in zip(procs, early):
        # Read on through proc.stderr's own buffer: communicate() reads the raw pipe, and would
        # lose a line that _until_started's readline already buffered (a catch-up tick, say).
        err = before + await asyncio.to_thread(p.stderr.read)
        await asyncio.to_thread(p.wait, timeout=15)
        assert p.returncode == 0, err.decode()[-2000:]
        enqueued_by.append(err.count(b"jobtest.every_second for "))
    n = await _check_one_job_per_tick(app, at_least=RACE_TICKS)
    assert sum(enqueued_by) == n, enqueued_by  # each tick was won by exactly one process


async def test_schedulers_race_on_sqlite(make_app, sqlite_url: str) -> None:
    apps = [await make_app(sqlite_url) for _ in range(3)]
    schedulers = [Scheduler(a) for a in apps]
    tasks = [asyncio.create_task(s.run(install_signal_handlers=False)) for s in schedulers]
    await _ticks_reach(apps[0], 3)
    for s in schedulers:
        s.stop()
    await asyncio.gather(*tasks)
    n = await _check_one_job_per_tick(apps[0], at_least=3)
    assert sum(s.enqueued for s in schedulers) == n, [(s.enqueued, s.skipped) for s in schedulers]
    assert sum(s.skipped for s in schedulers) >= n  # the two losers of each tick saw the row


def test_schedule_times() -> None:
    now = datetime(2026, 11, 25, 6, 30, 15, 500, tzinfo=timezone.utc)
    assert next_tick(every_second, now) == datetime(2026, 11, 25, 6, 30, 16, tzinfo=timezone.utc)
    assert last_tick(every_second, now) == datetime(2026, 11, 25, 6, 30, 15, tzinfo=timezone.utc)
    from hyperdeliver.demo.teamboard.features.tasks import stale_tasks_digest

    assert last_tick(stale_tasks_digest, now) == datetime(2026, 11, 25, 6, 30, 15, tzinfo=timezone.utc).replace(
        day=24, hour=7, minute=0, second=0
    )
    assert next_tick(stale_tasks_digest, now) - last_tick(stale_tasks_digest, now) == timedelta(days=1)


def test_bad_cron_expression_is_refused() -> None:
    from hyperdeliver import ConfigurationError, Feature

    f = Feature("f", owner="o@example.com")
    with pytest.raises(ConfigurationError, match="not a cron expression"):

        @f.cron("every day at 7")
        async def nope(ctx) -> None: ...

    with pytest.raises(ConfigurationError, match="takes only the Context"):

        @f.cron("0 7 * * *")
        async def with_args(ctx, n: int) -> None: ...
