"""Worker: claims jobs in batches and runs each through the front controller's job path.

Example::

    worker = Worker(app, concurrency=10)
    await worker.run()          # until SIGTERM/SIGINT or worker.stop()

The loop, on one autocommit connection: acknowledge the jobs finished since the last
round and claim up to the number of free slots (one statement on PostgreSQL); start each
claimed job as an asyncio task; when nothing is due, sleep until a job finishes, a
``NOTIFY`` arrives (PostgreSQL) or ``worker_poll_interval`` passes. Beside it, every
``worker_heartbeat_interval`` the worker refreshes ``heartbeat_at`` of its jobs and
recovers jobs of workers silent for ``worker_heartbeat_timeout`` (retried or dead).

A job whose task used ``ctx.db`` is marked done inside that transaction, so its writes
and its completion commit together (exactly once, even if the worker is killed right
after). A job that never touched the database is acknowledged in the next batch
(at least once: a worker killed in between runs it again elsewhere).

On SIGTERM the worker stops claiming, waits up to ``worker_drain_timeout`` seconds for
running jobs, gives the unfinished ones back to the queue and exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import traceback
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..auth.principal import Principal
from ..context import Context
from .store import ClaimedJob
from .queue import queue_of
from ..tasks import BEFORE_COMMIT, Task

if TYPE_CHECKING:
    from ..app import App
    from .queue import JobQueue

log = logging.getLogger("hyperdeliver.worker")

JOB_PRINCIPAL = Principal(user_id=None, name="job", via="job")
"""Who a job runs as: no user; tasks are authorized by the job path itself."""


class JobLost(Exception):
    """Another worker took this job over (this worker missed its heartbeats)."""


class Worker:
    """Runs the app's jobs. One per process is typical; ``concurrency`` jobs at a time."""

    def __init__(
        self,
        app: App,
        *,
        concurrency: int | None = None,
        queues: Sequence[str] | None = None,
        name: str | None = None,
        scheduler: bool = False,
    ) -> None:
        settings = app.settings
        self.app = app
        self.jobs: JobQueue = queue_of(app)
        self.store = self.jobs.store
        self.concurrency = max(1, concurrency or settings.worker_concurrency)
        self.queues = list(queues) if queues else None
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.poll_interval = settings.worker_poll_interval
        self.heartbeat_interval = settings.worker_heartbeat_interval
        self.heartbeat_timeout = settings.worker_heartbeat_timeout
        self.drain_timeout = settings.worker_drain_timeout
        if self.drain_timeout >= 30:
            log.warning(
                "worker_drain_timeout is %s s: Kubernetes kills a pod 30 s after SIGTERM by default; keep it below",
                self.drain_timeout,
            )
        self.with_scheduler = scheduler
        self.stats: Counter[str] = Counter()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._acks: list[int] = []
        self._signal = asyncio.Event()
        self._stopping = False

    def __repr__(self) -> str:
        return f"<Worker {self.name} concurrency={self.concurrency} running={len(self._running)}>"

    @property
    def pending_acks(self) -> tuple[int, ...]:
        """Ids of jobs this worker finished whose ``done`` rides on its next claim (one
        round trip per batch); a task that commits its completion with its own writes
        is never here."""
        return tuple(self._acks)

    # -- control --------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; ``run`` drains the running jobs and returns."""
        if not self._stopping:
            log.info("worker %s: stopping, draining %d running job(s)", self.name, len(self._running))
        self._stopping = True
        self._signal.set()

    async def run(self, *, burst: bool = False, install_signal_handlers: bool = True) -> Counter[str]:
        """Work until stopped (or, with ``burst``, until no job is due). Returns counters."""
        loop = asyncio.get_running_loop()
        self._signal = asyncio.Event()
        handled: list[signal.Signals] = []
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    loop.add_signal_handler(sig, self.stop)
                    handled.append(sig)
                except (NotImplementedError, RuntimeError):  # not the main thread
                    pass
        listener = await self._listen()
        helpers = [asyncio.create_task(self._maintain(), name="hd-worker-heartbeat")]
        scheduler = None
        if self.with_scheduler and self.jobs.crons:
            from .scheduler import Scheduler

            scheduler = Scheduler(self.app)
            helpers.append(asyncio.create_task(scheduler.run(install_signal_handlers=False), name="hd-scheduler"))
        log.info("worker %s: started, concurrency %d, queues %s", self.name, self.concurrency, self.queues or "all")
        try:
            await self._loop(burst)
        finally:
            if scheduler is not None:
                scheduler.stop()
            await self._drain()
            for h in helpers:
                if h.get_name() == "hd-scheduler":
                    await asyncio.gather(h, return_exceptions=True)
                else:
                    h.cancel()
                    await asyncio.gather(h, return_exceptions=True)
            if listener is not None:
                await _close_quietly(listener)
            for sig in handled:
                loop.remove_signal_handler(sig)
            log.info("worker %s: stopped (%s)", self.name, dict(self.stats))
        return self.stats

    # -- the loop -------------------------------------------------------------------

    async def _loop(self, burst: bool) -> None:
        errors = 0
        while not self._stopping:
            try:
                async with self.app.database.engine.connect() as conn:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    errors = 0
                    await self.store.tune_claim_connection(conn, True)
                    try:
                        finished = await self._claim_loop(conn, burst)
                    except Exception:
                        if not conn.invalidated:  # its session settings must not reach the pool
                            await conn.invalidate()
                        raise
                    await self.store.tune_claim_connection(conn, False)
                    if finished:
                        return
            except Exception as exc:  # a lost connection: back off, reconnect, go on
                errors += 1
                log.warning("worker %s: database error (%s); retrying", self.name, exc)
                self._signal.clear()
                await self._sleep(min(30.0, 0.5 * 2**errors))

    async def _claim_loop(self, conn: Any, burst: bool) -> bool:
        """Claim and start jobs until stopped; True when done (burst finished or stopping)."""
        signal_ = self._signal
        while not self._stopping:
            signal_.clear()
            free = self.concurrency - len(self._running)
            if free <= 0:
                await signal_.wait()
                continue
            acks = self._acks
            self._acks = []
            try:
                jobs = await self.store.claim(conn, self.name, free, acks, self.queues)
            except BaseException:
                self._acks = acks + self._acks
                raise
            self.stats["acked"] += len(acks)
            for job in jobs:
                self._running[job.id] = asyncio.create_task(self._run_job(job))
            self.stats["claimed"] += len(jobs)
            if len(jobs) < free:
                if burst and not jobs and not self._running and not self._acks:
                    return True
                await self._sleep(self.poll_interval)
        return True

    async def _sleep(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._signal.wait()
        except TimeoutError:
            pass

    # -- one job --------------------------------------------------------------------

    async def _run_job(self, job: ClaimedJob) -> None:
        try:
            await self.execute(job)
        finally:
            self._running.pop(job.id, None)
            self._signal.set()

    async def execute(self, job: ClaimedJob, *, ack: bool = True) -> bool:
        """Run one claimed job through the front controller; True when it succeeded."""
        task = self.jobs.tasks.get(job.task)
        if task is None:
            await self._fail(job, None, f"unknown task {job.task!r} (not declared in this app)", dead=True)
            return False
        ctx = Context(self.app, f"job-{job.id}", JOB_PRINCIPAL, "job", task)
        done_in_tx = False
        store, me = self.store, self.name

        async def before_commit(c: Context) -> None:
            nonlocal done_in_tx
            session = c._session
            if session is not None:
                if await store.complete_in_session(session, me, job.id) != 1:
                    raise JobLost(f"job {job.id} was taken over by another worker")
                done_in_tx = True

        BEFORE_COMMIT.set(before_commit)
        try:
            if task.timeout is None:
                await self.app.controller.call(task, ctx, task.decode_args, job.args)
            else:
                async with asyncio.timeout(task.timeout):
                    await self.app.controller.call(task, ctx, task.decode_args, job.args)
        except JobLost:
            self.stats["lost"] += 1
            log.warning("worker %s: %s; its result is discarded", self.name, f"job {job.id} was taken over")
            return False
        except TimeoutError:
            await self._fail(job, task, f"TimeoutError: {task.qualname} took longer than {task.timeout} s")
            return False
        except Exception as exc:
            await self._fail(job, task, _describe(exc))
            return False
        finally:
            BEFORE_COMMIT.set(None)
        self.stats["done"] += 1
        if not done_in_tx:
            if ack:
                self._acks.append(job.id)
            else:
                async with self.app.database.engine.connect() as conn:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await self.store.ack(conn, me, [job.id])
        return True

    async def _fail(self, job: ClaimedJob, task: Task | None, error: str, *, dead: bool = False) -> None:
        dead = dead or job.attempts >= job.max_attempts
        delay = 0.0 if dead or task is None else task.retry_delay(job.attempts)
        self.stats["dead" if dead else "failed"] += 1
        log.warning(
            "job %s %s attempt %d/%d failed: %s%s",
            job.id,
            job.task,
            job.attempts,
            job.max_attempts,
            error.splitlines()[0] if error else "",
            " (dead)" if dead else f" (retry in {delay:.1f} s)",
        )
        try:
            async with self.app.database.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await self.store.fail(conn, self.name, job.id, dead=dead, delay=delay, error=error[:4000])
        except Exception as exc:  # the heartbeat timeout recovers the job later
            log.error("worker %s: could not record the failure of job %s: %s", self.name, job.id, exc)

    # -- heartbeats, recovery, drain ------------------------------------------------

    async def _maintain(self) -> None:
        while True:
            try:
                async with self.app.database.engine.connect() as conn:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await self.store.heartbeat(conn, self.name)
                    recovered = await self.store.recover(conn, self.heartbeat_timeout)
                if recovered:
                    self.stats["recovered"] += len(recovered)
                    log.warning("worker %s: recovered %d job(s) of silent workers: %s", self.name, len(recovered), recovered[:20])
                    self._signal.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("worker %s: heartbeat failed: %s", self.name, exc)
            await asyncio.sleep(self.heartbeat_interval)

    async def _drain(self) -> None:
        if self._running:
            _, pending = await asyncio.wait(list(self._running.values()), timeout=self.drain_timeout)
            if pending:
                ids = [jid for jid, t in self._running.items() if t in pending]
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                self.stats["released"] += len(ids)
                log.warning("worker %s: drain timeout, %d job(s) given back to the queue: %s", self.name, len(ids), ids)
                await self._write(self.store.release, ids)
        if self._acks:
            acks, self._acks = self._acks, []
            await self._write(self.store.ack, acks)
            self.stats["acked"] += len(acks)

    async def _write(self, fn: Any, ids: list[int]) -> None:
        try:
            async with self.app.database.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await fn(conn, self.name, ids)
        except Exception as exc:
            log.error("worker %s: could not update jobs %s: %s", self.name, ids, exc)

    async def _listen(self) -> Any:
        """PostgreSQL: LISTEN on a connection of its own; a NOTIFY only wakes the loop."""
        if self.store.dialect != "postgresql":
            return None
        import asyncpg

        url = self.app.database.engine.url.set(drivername="postgresql")
        try:
            conn = await asyncpg.connect(url.render_as_string(hide_password=False))
            await conn.add_listener("hd_jobs", lambda *_: self._signal.set())
            return conn
        except Exception as exc:  # polling still works
            log.warning("worker %s: LISTEN failed (%s); polling every %s s", self.name, exc, self.poll_interval)
            return None


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-8))
    return f"{type(exc).__name__}: {exc}\n{text}"


async def _close_quietly(conn: Any) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=2)
    except Exception:
        conn.terminate()
