"""Run background jobs and crons inside a test, through the real worker path.

Behind the ``run_jobs`` and ``run_cron`` fixtures. Jobs run as ``hyper worker`` runs
them (claimed, through the front controller's job path, completed in the task's own
transaction), one at a time, in the test's event loop. Which jobs are due is decided by
the framework's clock, so a test that travels in time (the ``clock`` fixture) sees jobs
deferred to later become due.

Example (inside a test)::

    r = await client.post("/projects/1/tasks", json={"title": "x", "assignee_id": ada.id})
    ran = await run_jobs()
    assert [j.task for j in ran] == ["tasks.notify_assignee"]

    clock.travel_to("2027-01-04T07:00:00Z")
    run = await run_cron("tasks.stale_tasks_digest")   # the 07:00 schedule time
    assert run.ok
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from .. import clock
from ..jobs.queue import queue_of
from ..jobs.worker import Worker

if TYPE_CHECKING:
    from ..app import App
    from ..jobs.store import ClaimedJob
    from ..tasks import Task

MAX_JOBS = 1000
"""The most jobs one ``run_jobs()`` runs: a task that keeps enqueuing itself ends there."""


@dataclass
class JobRun:
    """One job that ran."""

    job_id: int
    task: str
    """The task's qualified name, ``feature.function``."""
    args: dict[str, Any]
    ok: bool
    status: str
    """The job's status after the run: ``done``, ``failed`` (an attempt is left) or ``dead``."""
    error: str | None = None
    """The failure's first line, ``ValueError: ...``."""
    exception: BaseException | None = field(default=None, repr=False)
    """What the task raised (None when it succeeded, or failed without raising)."""


class JobFailed(Exception):
    """A job failed in ``run_jobs()`` / ``run_cron()`` (raised after the drain; the
    task's own exception is its ``__cause__``). ``raise_errors=False`` returns the runs instead."""

    def __init__(self, run: JobRun) -> None:
        self.run = run
        super().__init__(f"job {run.job_id} {run.task}({_shown(run.args)}) failed: {run.error}")


def _shown(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


class _RecordingWorker(Worker):
    """A worker that keeps what each failed job raised (the real worker keeps the text)."""

    def __init__(self, app: App) -> None:
        super().__init__(app, concurrency=1, name="testing:run_jobs")
        self.raised: dict[int, BaseException] = {}

    async def _fail(self, job: ClaimedJob, task: Task | None, error: str, *, dead: bool = False) -> None:
        # Called from the worker's ``except`` clause: the exception being handled is the task's.
        exc = sys.exc_info()[1]
        if exc is not None:
            self.raised[job.id] = exc
        await super()._fail(job, task, error, dead=dead)


class JobRunner:
    """Runs one test app's due jobs and crons."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.jobs = queue_of(app)
        self.worker = _RecordingWorker(app)

    async def due(self) -> list[int]:
        """The ids of the jobs due now (by the framework's clock), oldest first."""
        from sqlalchemy import select

        from ..jobs.models import Job

        q = (
            select(Job.id)
            .where(Job.status.in_(("queued", "failed")), Job.run_at <= clock.now())
            .order_by(Job.run_at, Job.id)
        )
        async with self.app.database.session() as s:
            return list((await s.execute(q)).scalars())

    async def run_jobs(self, *, raise_errors: bool = True, max_jobs: int = MAX_JOBS) -> list[JobRun]:
        """Run every due job, and the jobs they enqueue, until none is due; what ran, in order.

        A failed job is retried here only when its retry is due by then (``backoff=0``, or
        after ``clock.travel``). With ``raise_errors`` the first failure is raised as
        :class:`JobFailed` once nothing is due.
        """
        runs: list[JobRun] = []
        while True:
            due = await self.due()
            if not due:
                break
            for job_id in due:
                if len(runs) >= max_jobs:
                    raise RuntimeError(f"run_jobs ran {max_jobs} jobs and more are due: does a task enqueue itself?")
                run = await self._run(job_id)
                if run is not None:
                    runs.append(run)
        if raise_errors:
            _raise_first(runs)
        return runs

    async def run_cron(self, name: str, *, force: bool = False, raise_errors: bool = True) -> JobRun | None:
        """Run cron ``name`` (``feature.function`` or a unique ``function``) for its most
        recent schedule time by the framework's clock, as ``hyper cron run`` does; None
        when that time has run already (``force`` runs it anyway)."""
        from ..jobs.scheduler import run_cron_now

        try:
            task = self.jobs.task(name)
        except KeyError:
            known = ", ".join(sorted(self.jobs.crons)) or "none"
            raise LookupError(f"no cron {name!r} (crons: {known})") from None
        if task.schedule is None:
            raise LookupError(f"{task.qualname} is a task, not a cron: enqueue it and call run_jobs()")
        done = await run_cron_now(self.app, task, force=force, worker=self.worker)
        if done.job_id is None or done.ok is None:
            return None
        run = await self._result(done.job_id, done.ok)
        if raise_errors:
            _raise_first([run])
        return run

    async def _run(self, job_id: int) -> JobRun | None:
        store = self.jobs.store
        async with self.app.database.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            job = await store.claim_one(conn, self.worker.name, job_id)
        if job is None:  # taken meanwhile (a worker of another process)
            return None
        ok = await self.worker.execute(job, ack=False)
        return await self._result(job_id, ok)

    async def _result(self, job_id: int, ok: bool) -> JobRun:
        from ..jobs.models import Job

        async with self.app.database.session() as s:
            job = await s.get(Job, job_id)
        assert job is not None
        args = job.args if isinstance(job.args, dict) else orjson.loads(job.args)
        error = (job.last_error or "").splitlines()[0] if not ok and job.last_error else None
        return JobRun(job_id, job.task, args, ok, job.status, error, self.worker.raised.pop(job_id, None))


def _raise_first(runs: list[JobRun]) -> None:
    for run in runs:
        if not run.ok:
            raise JobFailed(run) from run.exception
