"""``hyper worker``, ``hyper scheduler``, ``hyper cron …`` and ``hyper jobs …``."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console

from ..errors import BadRequest, Conflict, NotFound
from .loader import load_app
from .output import print_json, table

if TYPE_CHECKING:
    from ..app import App

jobs_cli = typer.Typer(no_args_is_help=True)
"""Merged into ``hyper`` (``cli.add_typer(jobs_cli)``): worker, scheduler, cron, jobs."""
cron_cli = typer.Typer(help="Cron schedules declared with @feature.cron.", no_args_is_help=True)
queue_cli = typer.Typer(help="Inspect and repair background jobs.", no_args_is_help=True)
jobs_cli.add_typer(cron_cli, name="cron")
jobs_cli.add_typer(queue_cli, name="jobs")
console = Console()
AppOpt = Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_ID = 2**63 - 1
"""The largest job id or limit a database column (SQLite INTEGER, PostgreSQL BIGINT) holds."""
MAX_AGE = timedelta(days=100 * 365)
"""The longest --older-than: a cutoff further back than this is no cutoff at all."""
JobId = Annotated[int, typer.Argument(help="the job's id", min=1, max=MAX_ID)]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _app_with_jobs(spec: str | None, *, tables: bool = True) -> App:
    app = load_app(spec)
    if app.jobs is None:
        raise BadRequest("this app has no job queue (its plugins= leave out hyperdeliver.jobs.JobsPlugin)")
    if tables:
        asyncio.run(_check_tables(app))
    return app


async def _check_tables(app: App) -> None:
    """One clear line instead of a worker retrying forever against a missing table."""
    from sqlalchemy import inspect

    try:
        async with app.database.engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    except Exception as exc:
        raise BadRequest(f"cannot reach the database: {str(exc).splitlines()[0]}") from None
    finally:
        await app.database.dispose()
    if not {"hd_jobs", "hd_cron_ticks"} <= names:
        raise BadRequest("the database has no job tables (hd_jobs): run 'hyper db upgrade' first")


def parse_duration(value: str) -> timedelta:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"90s"``, ``"2w"`` -> timedelta."""
    m = _DURATION.match(value)
    if not m:
        raise BadRequest(f"--older-than {value!r}: use a number and a unit, like 7d, 12h, 30m")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds > MAX_AGE.total_seconds():
        raise BadRequest(f"--older-than {value!r} is too long: at most {MAX_AGE.days}d")
    return timedelta(seconds=seconds)


# -- worker and scheduler ---------------------------------------------------------


@jobs_cli.command()
def worker(
    app: AppOpt = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", "-c", envvar="HYPER_WORKER_CONCURRENCY", help="jobs at once [default: settings.worker_concurrency]")] = None,
    queue: Annotated[list[str], typer.Option("--queue", "-q", help="serve only this queue; repeat for several [default: all]")] = [],  # noqa: B006
    scheduler: Annotated[bool, typer.Option("--scheduler/--no-scheduler", help="also enqueue cron jobs")] = True,
    burst: Annotated[bool, typer.Option("--burst", help="exit when no job is due")] = False,
) -> None:
    """Run background jobs (and, unless --no-scheduler, the cron scheduler) until SIGTERM."""
    from ..jobs.worker import Worker

    application = _app_with_jobs(app)
    if concurrency is not None and concurrency < 1:
        raise BadRequest("--concurrency must be at least 1")
    _logging()

    async def go() -> None:
        try:
            w = Worker(application, concurrency=concurrency, queues=queue or None, scheduler=scheduler and not burst)
            await w.run(burst=burst)
        finally:
            await application.database.dispose()

    asyncio.run(go())


@jobs_cli.command("scheduler")
def scheduler_cmd(app: AppOpt = None) -> None:
    """Enqueue cron jobs on schedule (exactly once per time, however many run) until SIGTERM."""
    from ..jobs.queue import queue_of
    from ..jobs.scheduler import Scheduler

    application = _app_with_jobs(app)
    if not queue_of(application).crons:
        raise BadRequest("this app declares no @feature.cron schedules")
    _logging()

    async def go() -> None:
        try:
            await Scheduler(application).run()
        finally:
            await application.database.dispose()

    asyncio.run(go())


# -- cron -------------------------------------------------------------------------


@cron_cli.command("list")
def cron_list(app: AppOpt = None, json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Every cron: name, schedule (UTC), next run, owner."""
    from ..jobs.queue import queue_of
    from ..jobs.scheduler import describe

    application = _app_with_jobs(app, tables=False)
    rows = [describe(t) for t in sorted(queue_of(application).crons.values(), key=lambda t: t.qualname)]
    if json:
        print_json(rows)
        return
    console.print(
        table(
            f"{application.name}: {len(rows)} cron(s), times in UTC",
            ("name", "schedule", "next", "queue", "owner", "summary"),
            [(r["name"], r["schedule"], r["next"], r["queue"], r["owner"], r["summary"]) for r in rows],
        )
    )


@cron_cli.command("run")
def cron_run(
    name: Annotated[str, typer.Argument(help="the cron's name (feature.function or function)")],
    app: AppOpt = None,
    force: Annotated[bool, typer.Option("--force", help="run even if this schedule time already ran")] = False,
) -> None:
    """Run a cron now, in this process (for a Kubernetes CronJob).

    The most recent schedule time is claimed in hd_cron_ticks first, so a CronJob that
    fires twice, or an in-process scheduler, never runs the same time twice.
    """
    from ..jobs.queue import queue_of

    application = _app_with_jobs(app)
    jobs = queue_of(application)
    try:
        task = jobs.task(name)
    except KeyError:
        known = ", ".join(sorted(jobs.crons)) or "none"
        raise NotFound(f"no cron {name!r} (crons: {known})") from None
    if task.schedule is None:
        raise BadRequest(f"{task.qualname} is a task, not a cron")
    _logging()
    code = asyncio.run(_cron_run(application, task, force))
    raise typer.Exit(code)


async def _cron_run(application: App, task: Any, force: bool) -> int:
    from ..jobs.scheduler import run_cron_now

    try:
        run = await run_cron_now(application, task, force=force)
    finally:
        await application.database.dispose()
    if run.job_id is None:
        console.print(f"{task.qualname} already ran for {run.tick.isoformat()}; nothing to do (--force runs it anyway)")
        return 0
    if run.ok is None:
        console.print(f"job {run.job_id} was taken by a worker already")
        return 0
    console.print(f"{task.qualname} ({run.tick.isoformat()}) job {run.job_id}: {'done' if run.ok else 'failed'}")
    return 0 if run.ok else 1


# -- jobs -------------------------------------------------------------------------


def _job_row(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "task": job.task,
        "queue": job.queue,
        "status": job.status,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "run_at": job.run_at.isoformat() if job.run_at else None,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "locked_by": job.locked_by,
        "last_error": (job.last_error or "").splitlines()[0] if job.last_error else None,
    }


@queue_cli.command("list")
def jobs_list(
    app: AppOpt = None,
    status: Annotated[Optional[str], typer.Option("--status", "-s", help="queued, running, done, failed or dead")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="only this task (feature.name)")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", max=MAX_ID)] = 50,
    json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The latest jobs, newest first, with a count per status."""
    from sqlalchemy import func, select

    from ..jobs.models import STATUSES, Job

    if status is not None and status not in STATUSES:
        raise BadRequest(f"--status {status!r}: use one of {', '.join(STATUSES)}")
    if limit < 1:
        raise BadRequest("--limit must be at least 1")
    application = _app_with_jobs(app)

    async def go() -> tuple[list[dict[str, Any]], dict[str, int]]:
        try:
            async with application.database.session() as s:
                q = select(Job).order_by(Job.id.desc()).limit(limit)
                if status:
                    q = q.where(Job.status == status)
                if task:
                    q = q.where(Job.task == task)
                rows = [_job_row(j) for j in (await s.execute(q)).scalars()]
                counts = dict((await s.execute(select(Job.status, func.count()).group_by(Job.status))).tuples().all())
                return rows, counts
        finally:
            await application.database.dispose()

    rows, counts = asyncio.run(go())
    if json:
        print_json({"counts": counts, "jobs": rows})
        return
    summary = ", ".join(f"{s} {counts.get(s, 0)}" for s in STATUSES)
    cells = [
        (
            str(r["id"]), r["task"], r["queue"], r["status"], f"{r['attempts']}/{r['max_attempts']}",
            r["run_at"] or "", r["finished_at"] or "", (r["last_error"] or "")[:60],
        )
        for r in rows
    ]
    columns = ("id", "task", "queue", "status", "attempts", "run_at", "finished_at", "last_error")
    console.print(table(f"{application.name} jobs ({summary})", columns, cells))


async def _get_job(application: App, job_id: int) -> Any:
    from ..jobs.models import Job

    async with application.database.session() as s:
        job = await s.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


@queue_cli.command("show")
def jobs_show(job_id: JobId, app: AppOpt = None) -> None:
    """One job: its arguments, state and full last error."""
    application = _app_with_jobs(app)

    async def go() -> Any:
        try:
            return await _get_job(application, job_id)
        finally:
            await application.database.dispose()

    job = asyncio.run(go())
    data = _job_row(job) | {"args": job.args, "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None}
    data["last_error"] = job.last_error
    print_json(data)


@queue_cli.command("retry")
def jobs_retry(job_id: JobId, app: AppOpt = None) -> None:
    """Queue a dead (or failed) job again, now, with a fresh set of attempts."""
    from sqlalchemy import update

    from ..db.model import utcnow
    from ..jobs.models import Job

    application = _app_with_jobs(app)

    async def go() -> None:
        try:
            job = await _get_job(application, job_id)
            if job.status not in ("dead", "failed"):
                raise Conflict(f"job {job_id} is {job.status}; only dead or failed jobs can be retried")
            async with application.database.session() as s:
                result = await s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status.in_(("dead", "failed")))
                    .values(status="queued", attempts=0, run_at=utcnow(), locked_by=None, finished_at=None)
                )
                await s.commit()
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    raise Conflict(f"job {job_id} changed meanwhile; look again with 'hyper jobs show {job_id}'")
        finally:
            await application.database.dispose()

    asyncio.run(go())
    console.print(f"job {job_id} queued again")


@queue_cli.command("purge")
def jobs_purge(
    older_than: Annotated[str, typer.Option("--older-than", help="age of finished jobs to delete: 7d, 12h, 30m")] = "7d",
    dead: Annotated[bool, typer.Option("--dead", help="delete old dead jobs too")] = False,
    app: AppOpt = None,
) -> None:
    """Delete done jobs (and, with --dead, dead ones) that finished before the given age."""
    from sqlalchemy import delete

    from ..db.model import utcnow
    from ..jobs.models import CronTick, Job

    age = parse_duration(older_than)
    application = _app_with_jobs(app)
    statuses = ("done", "dead") if dead else ("done",)

    async def go() -> int:
        try:
            cutoff = utcnow() - age
            async with application.database.session() as s:
                result = await s.execute(delete(Job).where(Job.status.in_(statuses), Job.finished_at < cutoff))
                await s.execute(delete(CronTick).where(CronTick.tick_at < cutoff))
                await s.commit()
                return int(result.rowcount)  # type: ignore[attr-defined]
        finally:
            await application.database.dispose()

    n = asyncio.run(go())
    console.print(f"deleted {n} {' and '.join(statuses)} job(s) finished before {older_than} ago")
