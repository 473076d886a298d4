"""Scheduler: enqueues each ``@feature.cron`` job once per schedule time, across replicas.

Every replica computes the same schedule times (UTC). For each due time it inserts a
row into ``hd_cron_ticks`` (unique per cron name and time) together with the job, in
one transaction; when the row exists already another replica got there first, and
nothing is enqueued. Schedule times missed while no scheduler ran are not made up,
except the ones within ``catch_up`` seconds (a restart, a slow loop).

Example::

    scheduler = Scheduler(app)
    await scheduler.run()            # until SIGTERM/SIGINT or scheduler.stop()
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from croniter import croniter

from .. import clock

from .queue import queue_of
from ..tasks import Task

if TYPE_CHECKING:
    from ..app import App
    from .worker import Worker

log = logging.getLogger("hyperdeliver.scheduler")


def next_tick(task: Task, after: datetime) -> datetime:
    """The first schedule time strictly after ``after`` (UTC)."""
    assert task.schedule is not None
    return croniter(task.schedule, after).get_next(datetime)  # type: ignore[no-any-return]


def last_tick(task: Task, now: datetime) -> datetime:
    """The latest schedule time at or before ``now`` (UTC)."""
    assert task.schedule is not None
    probe = now + timedelta(microseconds=1)
    return croniter(task.schedule, probe).get_prev(datetime)  # type: ignore[no-any-return]


class Scheduler:
    """Turns cron schedules into jobs. Safe to run in every replica."""

    def __init__(self, app: App, *, catch_up: float = 60.0) -> None:
        self.app = app
        self.jobs = queue_of(app)
        self.crons: dict[str, Task] = self.jobs.crons
        self.catch_up = catch_up
        self.enqueued = 0
        self.skipped = 0
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def enqueue_tick(self, task: Task, tick_at: datetime) -> int | None:
        """Enqueue ``task`` for ``tick_at`` unless some scheduler already did; the job id or None."""
        store = self.jobs.store
        async with self.app.database.engine.connect() as conn:
            return await store.enqueue_tick(
                conn,
                name=task.qualname,
                tick_at=tick_at,
                queue=task.queue,
                task=task.qualname,
                max_attempts=task.max_attempts,
            )

    async def run(self, *, install_signal_handlers: bool = True) -> None:
        """Enqueue due ticks until stopped."""
        loop = asyncio.get_running_loop()
        handled: list[signal.Signals] = []
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    loop.add_signal_handler(sig, self.stop)
                    handled.append(sig)
                except (NotImplementedError, RuntimeError):
                    pass
        now = _now()
        # The next time to try for each cron; a tick within catch_up before start counts too.
        due: dict[str, datetime] = {}
        for name, task in self.crons.items():
            recent = last_tick(task, now)
            due[name] = recent if (now - recent).total_seconds() <= self.catch_up else next_tick(task, now)
        log.info("scheduler: %d cron(s): %s", len(self.crons), ", ".join(f"{n} ({t.schedule})" for n, t in self.crons.items()))
        try:
            while not self._stop.is_set() and self.crons:
                now = _now()
                for name, task in self.crons.items():
                    while due[name] <= now and not self._stop.is_set():
                        await self._fire(task, due[name])
                        due[name] = next_tick(task, due[name])
                wake = min(due.values())
                await self._wait((wake - _now()).total_seconds())
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    async def _fire(self, task: Task, tick_at: datetime) -> None:
        for attempt in range(3):
            try:
                job_id = await self.enqueue_tick(task, tick_at)
            except Exception as exc:  # a transient database error: try again shortly
                log.warning("scheduler: %s at %s failed (%s)", task.qualname, tick_at.isoformat(), exc)
                await self._wait(0.2 * (attempt + 1))
                continue
            if job_id is None:
                self.skipped += 1
            else:
                self.enqueued += 1
                log.info("scheduler: %s for %s -> job %s", task.qualname, tick_at.isoformat(), job_id)
            return

    async def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        except TimeoutError:
            pass


def _now() -> datetime:
    return clock.now()


@dataclass
class CronRun:
    """What :func:`run_cron_now` did."""

    task: Task
    tick: datetime
    """The schedule time it ran for (now, to the second, when forced)."""
    job_id: int | None
    """The job; None when this schedule time had run already (nothing was done)."""
    ok: bool | None
    """Whether the job succeeded; None when it did not run here (see ``job_id``, or a
    worker claimed the job first)."""


async def run_cron_now(app: App, task: Task, *, force: bool = False, worker: Worker | None = None) -> CronRun:
    """Run a cron's most recent schedule time now, in this process (``hyper cron run``).

    The time is claimed in ``hd_cron_ticks`` first, so a time that ran already (a
    CronJob firing twice, an in-process scheduler) is not run again; ``force`` runs now,
    as a new time or, if that second ran too, as an extra job. ``worker`` runs the job
    (default: a worker of its own, concurrency 1).
    """
    from .worker import Worker

    now = clock.now()
    tick = now.replace(microsecond=0) if force else last_tick(task, now)
    scheduler = Scheduler(app)
    job_id = await scheduler.enqueue_tick(task, tick)
    if job_id is None:
        if not force:
            return CronRun(task, tick, None, None)
        job_id = await scheduler.jobs.enqueue(None, task)
    worker = worker or Worker(app, concurrency=1, name=f"cron-run:{task.qualname}:{job_id}")
    async with app.database.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        job = await scheduler.jobs.store.claim_one(conn, worker.name, job_id)
    if job is None:
        return CronRun(task, tick, job_id, None)
    return CronRun(task, tick, job_id, await worker.execute(job, ack=False))


def describe(task: Task, now: datetime | None = None) -> dict[str, Any]:
    """One row of ``hyper cron list``."""
    now = now or _now()
    return {
        "name": task.qualname,
        "schedule": task.schedule,
        "queue": task.queue,
        "retries": task.retries,
        "owner": task.feature.owner,
        "next": next_tick(task, now).isoformat(),
        "summary": task.summary,
    }
