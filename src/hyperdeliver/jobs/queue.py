"""JobQueue: what ``app.jobs`` is. Enqueues inside the caller's transaction.

Example (in an operation)::

    @feature.mutation("POST /invoices", roles={"billing"})
    async def create_invoice(ctx: Context, data: InvoiceIn) -> Invoice:
        row = Invoice(**data.model_dump())
        ctx.db.add(row)
        await ctx.db.flush()
        await ctx.enqueue(send_invoice, invoice_id=row.id)         # same transaction
        await ctx.enqueue(send_invoice.defer(delay=3600), invoice_id=row.id)  # in an hour
        return row

If the operation fails, its transaction rolls back and the job never existed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import ConfigurationError, NotFound
from ..plugins import Plugin
from .store import JobStore, store_for
from ..tasks import Task, TaskCall, resolve

if TYPE_CHECKING:
    from ..app import App


def queue_of(app: App) -> JobQueue:
    """``app.jobs``, or a ConfigurationError saying the app has none."""
    if app.jobs is None:
        raise ConfigurationError("this app has no job queue (its plugins= leave out hyperdeliver.jobs.JobsPlugin)")
    return app.jobs


class JobQueue:
    """The app's job queue: its tasks (by qualified name), crons, and the store."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.tasks: dict[str, Task] = {}
        for feature in app.features.values():
            for task in feature.tasks.values():
                self.tasks[task.qualname] = task
        self._store: JobStore | None = None

    def __repr__(self) -> str:
        return f"<JobQueue tasks={len(self.tasks)} crons={len(self.crons)}>"

    @property
    def crons(self) -> dict[str, Task]:
        return {q: t for q, t in self.tasks.items() if t.schedule is not None}

    @property
    def store(self) -> JobStore:
        if self._store is None:
            self._store = store_for(self.app.database.engine)
        return self._store

    def task(self, name: str) -> Task:
        """A task by qualified name (``"billing.send_invoice"``) or unique short name."""
        if name in self.tasks:
            return self.tasks[name]
        found = [t for t in self.tasks.values() if t.name == name]
        if len(found) == 1:
            return found[0]
        raise KeyError(name)

    def _own(self, target: Task | TaskCall | Any) -> TaskCall:
        call = resolve(target)
        if self.tasks.get(call.task.qualname) is not call.task:
            raise ConfigurationError(f"{call.task.qualname} is not a task of the app {self.app.name!r}")
        return call

    async def enqueue(self, where: Any, target: Task | TaskCall | Any, /, **kwargs: Any) -> int:
        """Insert one job and return its id.

        ``where`` is a :class:`~hyperdeliver.Context` (its ``ctx.db`` transaction), an
        ``AsyncSession`` (yours to commit), or None (a transaction of its own, committed).
        Arguments are validated against the task's signature now, not when it runs.
        """
        call = self._own(target)
        check = call.task.scope_check
        if check is not None:
            await self._check_scope(where, check, call.task.validate_args(kwargs))
        args = call.task.encode_args(kwargs)
        params: dict[str, Any] = {
            "queue": call.queue,
            "task": call.task.qualname,
            "args": args,
            "max_attempts": call.task.max_attempts,
            "run_at": call.run_at,
        }
        if where is None:
            async with self.app.database.session() as session:
                job_id = await self.store.enqueue(session, **params)
                await session.commit()
                return job_id
        session = where if isinstance(where, AsyncSession) else where.db
        return await self.store.enqueue(session, **params)

    @staticmethod
    async def _check_scope(where: Any, check: Any, values: dict[str, Any]) -> None:
        """A scoped task enqueued by a user's call: 404 unless that user holds a role in
        the scope its arguments name (jobs, cron and scripts enqueue as the system)."""
        from ..context import Context

        if isinstance(where, Context) and where.interface != "job":
            if where.principal.user_id is None:
                raise NotFound(f"no {check.scope.name} for {check.param} {check.value(values)}")
            await check.access(where, check.value(values))

    async def enqueue_many(self, where: Any, target: Task | TaskCall | Any, args: Iterable[dict[str, Any]]) -> int:
        """Insert many jobs of one task in one statement; returns how many."""
        call = self._own(target)
        if call.task.scope_check is not None:
            args = list(args)
            for a in args:
                await self._check_scope(where, call.task.scope_check, call.task.validate_args(a))
        rows = [
            {
                "queue": call.queue,
                "task": call.task.qualname,
                "args": call.task.encode_args(a),
                "max_attempts": call.task.max_attempts,
                "run_at": call.run_at,
            }
            for a in args
        ]
        if not rows:
            return 0
        if where is None:
            async with self.app.database.session() as session:
                await self.store.enqueue_many(session, rows, {call.queue})
                await session.commit()
        else:
            session = where if isinstance(where, AsyncSession) else where.db
            await self.store.enqueue_many(session, rows, {call.queue})
        return len(rows)


class JobsPlugin(Plugin):
    """Sets ``app.jobs`` to the app's :class:`JobQueue` (one of the default plugins).

    With ``settings.worker_in_process`` (``hyper dev`` and ``hyper demo`` turn it on) the
    web process also runs a worker and the cron scheduler, started and drained with the
    app's lifespan. Production runs ``hyper worker`` processes instead.
    """

    name = "jobs"

    def __init__(self) -> None:
        self._worker: Any = None
        self._task: asyncio.Task[Any] | None = None

    def setup(self, app: App) -> None:
        from . import models  # noqa: F401  (registers hd_jobs/hd_cron_ticks with the metadata)

        app.jobs = JobQueue(app)

    async def startup(self, app: App) -> None:
        if not app.settings.worker_in_process or self._task is not None:
            return
        from .worker import Worker

        self._worker = Worker(app, scheduler=True)
        self._task = asyncio.create_task(self._worker.run(install_signal_handlers=False), name="hd-in-process-worker")

    async def shutdown(self, app: App) -> None:
        if self._task is None:
            return
        self._worker.stop()
        try:
            await self._task
        finally:
            self._task = self._worker = None
