"""UsageRecorder: the front-controller observer that buffers one event per call, and the
background flusher that writes the buffer in batches.

The request path only appends a tuple to a list (O(1)); a background task flushes every
``usage_flush_interval`` seconds or as soon as ``usage_flush_size`` events wait. Memory
is bounded by ``usage_buffer_max``: beyond it events are dropped and counted. A batch the
database refuses is counted as dropped too, so ``produced == persisted + dropped +
pending`` always holds, and after shutdown (which flushes) ``pending == 0``.

Example:
    >>> from hyperdeliver import App, Settings
    >>> app = App("x", settings=Settings(env="test", database_url="sqlite://"))
    >>> rec = app.usage
    >>> rec.counters()
    {'produced': 0, 'persisted': 0, 'dropped': 0, 'pending': 0}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .. import clock
from .buffer import CallBuffer, KeyStats, paused_gc
from .store import UserDays, flush_users, purge, write_track
from .writer import Writer, writer_for

if TYPE_CHECKING:
    from ..app import App
    from ..context import Context
    from ..operations import Invocable

log = logging.getLogger("hyperdeliver.usage")
PURGE_EVERY = 3600.0
SKETCH_INTERVAL = 300.0
"""Seconds between writes of the per-user rollups (user days and distinct-user sketches);
the call counters and raw rows follow every flush. Users are gathered in memory meanwhile,
so an active user costs one row per feature per interval, not one per call."""
STOP_TIMEOUT = 30.0
"""Seconds shutdown waits for a flush in progress before it cancels it."""
PENDING_USERS_MAX = 100_000
"""Per-user entries gathered before they are written early (bounds the memory)."""


class UsageRecorder:
    def __init__(self, app: App) -> None:
        s = app.settings
        self.app = app
        self.flush_interval = s.usage_flush_interval
        self.flush_size = s.usage_flush_size
        self.buffer_max = s.usage_buffer_max
        self.release = s.release
        self.buffer = CallBuffer()
        self.track_buffer: list[dict[str, Any]] = []
        self._taken = 0
        """Calls taken out of the buffer by flushes."""
        self._overflowed = 0
        """Calls dropped because the buffer was full."""
        self._due = min(self.flush_size, self.buffer_max)
        """The buffered count from which a call wakes the flusher or is dropped."""
        self.persisted = 0
        self.dropped = 0
        self.in_flight = 0
        self.flushes = 0
        self.last_flush_seconds = 0.0
        self.flush_seconds_total = 0.0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._last_purge = 0.0
        self._stopping = False
        self.pending_users: UserDays = {}
        self._last_sketch = time.monotonic()
        self.purge_in_flusher = True
        """False when a daily cron purges (the jobs subsystem is present)."""
        self.stats_sinks: list[Callable[[list[KeyStats]], None]] = []
        """Called with every batch's per-operation stats before it is written (the
        Prometheus request metrics, see :meth:`pending_stats`)."""
        self.drop_sinks: list[Callable[[Invocable, Context, int, float], None]] = []
        """Called with each call that the full buffer drops, so that those sinks miss none."""
        self.flush_sinks: list[Callable[[float], None]] = []
        """Called with each flush's duration in seconds (the Prometheus flush histogram)."""
        self.writer: Writer | None = None
        """Where flushes go (:func:`~hyperdeliver.usage.writer.writer_for`), opened by the first."""

    # -- request path --------------------------------------------------------------

    def observe(self, op: Invocable, ctx: Context, status: int, seconds: float) -> None:
        """The observer: one tuple appended to the call's operation's list (plus the
        call's product events when it succeeded). A dashboard page is not product usage."""
        if op.kind == "page":
            return
        buf = self.buffer
        n = buf.count
        full = False
        if n >= self._due:  # rare: a flush is due, or the buffer is full
            full = n >= self.buffer_max
            if full:
                self.dropped += 1
                self._overflowed += 1
                for sink in self.drop_sinks:
                    sink(op, ctx, status, seconds)
            elif self._wake is not None:
                self._wake.set()
        if not full:
            buf.count = n + 1
            calls = buf.groups.get(op)
            if calls is None:
                calls = buf.groups[op] = []
            calls.append((clock.time(), ctx.interface, ctx.principal.user_id, status, seconds * 1000.0))
        if ctx.events and status < 400:
            now = clock.time()
            for name, props in ctx.events:
                self.track_buffer.append({"ts": now, "event": name, "user_id": ctx.principal.user_id, "feature": op.feature.name, "props": props})

    @property
    def produced(self) -> int:
        """Calls observed: taken by flushes, dropped at a full buffer, or buffered now."""
        return self._taken + self._overflowed + self.buffer.count

    def pending_stats(self) -> list[KeyStats]:
        """The stats of the calls buffered now (not yet handed to :attr:`stats_sinks`)."""
        with paused_gc():
            return self.buffer.stats()

    def counters(self) -> dict[str, int]:
        pending = len(self.buffer) + self.in_flight
        return {"produced": self.produced, "persisted": self.persisted, "dropped": self.dropped, "pending": pending}

    # -- background ----------------------------------------------------------------

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task = asyncio.create_task(self._loop(), name="hyperdeliver-usage-flusher")

    async def stop(self) -> None:
        """Let the flusher finish the flush it is in (cancelled after ``STOP_TIMEOUT``),
        then flush what is left, per-user rollups included."""
        task, self._task = self._task, None
        if task is not None:
            assert self._wake is not None
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
            self._stopping = False
        await self.flush(users=True)
        writer, self.writer = self.writer, None
        if writer is not None:
            await writer.close()

    async def _flush_users(self) -> None:
        try:
            await flush_users(self.app, self.pending_users)
        except Exception:  # noqa: BLE001  (rebuild_rollups recomputes them from raw events)
            self.pending_users.clear()
            log.exception("usage: merging user sketches failed")

    async def _loop(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            try:
                # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancellation
                # that lands as the event fires, and the loop would then never end.
                async with asyncio.timeout(self.flush_interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                return
            await self.flush()
            if self.purge_in_flusher and time.monotonic() - self._last_purge > PURGE_EVERY:
                self._last_purge = time.monotonic()
                try:
                    await purge(self.app)
                except Exception:  # noqa: BLE001
                    log.exception("usage retention purge failed")

    async def flush(self, *, users: bool = False) -> int:
        """Write what is buffered now; returns the events persisted. User sketches are
        merged when ``users`` or every ``SKETCH_INTERVAL`` seconds."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            raw, self.buffer = self.buffer, CallBuffer()
            self._taken += len(raw)
            tracks, self.track_buffer = self.track_buffer, []
            if users or len(self.pending_users) >= PENDING_USERS_MAX or time.monotonic() - self._last_sketch >= SKETCH_INTERVAL:
                self._last_sketch = time.monotonic()
                users = True
            if not raw and not tracks:
                if users:
                    await self._flush_users()
                return 0
            self.in_flight = len(raw)
            t0 = time.perf_counter()
            try:
                # the users go straight to pending_users: they used the feature even if
                # the write below fails (then only the batch's counters and raw calls are lost)
                prepared = raw.prepare(self.release, self.pending_users)
                for sink in self.stats_sinks:
                    sink(prepared.stats)
                if self.writer is None:
                    self.writer = writer_for(self.app)
                await self.writer.write(prepared.folded, prepared.batch)
                self.persisted += len(raw)
            except Exception:  # noqa: BLE001
                self.dropped += len(raw)
                log.exception("usage flush failed: %d events dropped", len(raw))
            except BaseException:  # cancelled mid-write: counted, so that the books still balance
                self.dropped += len(raw)
                raise
            finally:
                self.in_flight = 0
            if tracks:
                for r in tracks:
                    r["ts"] = datetime.fromtimestamp(r["ts"], timezone.utc)
                try:
                    await write_track(self.app, tracks)
                except Exception:  # noqa: BLE001
                    log.exception("track events flush failed: %d events dropped", len(tracks))
            if users:
                await self._flush_users()
            dt = time.perf_counter() - t0
            self.flushes += 1
            self.last_flush_seconds = dt
            self.flush_seconds_total += dt
            for observe in self.flush_sinks:
                observe(dt)
            return len(raw)


