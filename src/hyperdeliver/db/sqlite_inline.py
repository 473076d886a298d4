"""SQLite calls on the event loop's thread, waiting for locks on a worker thread.

aiosqlite runs every call (execute, fetch, commit, rollback) on a thread of its own and
hands the result back to the event loop. SQLite answers most calls in microseconds,
and the two thread hand-overs per call cost far more: on a 2-core VM a pooled
``SELECT 1`` took 407 µs of CPU through the thread and 98 µs inline
(``bench/sqlite_calls.py`` measures it). So :class:`InlineConnection` runs each call
where it is awaited, with SQLite's busy timeout at 0: a call never waits on the loop.

- **A lock held by another connection.** The call fails at once with ``SQLITE_BUSY``
  having changed nothing, and is run again on the connection's aiosqlite thread with the
  busy timeout the app configured, so the loop keeps serving while that call waits. Only
  a call that is safe to repeat is repeated: not one that changed rows before it met the
  lock (an autocommit ``executemany``), not a fetch, not ``SQLITE_BUSY_SNAPSHOT`` (the
  transaction read an older snapshot; waiting cannot help). ``executescript``,
  ``backup``, ``iterdump`` and an autocommit ``executemany`` run on the thread from the start.
- **One thread at a time.** While any call of a connection is queued or running on its
  thread (a caller cancelled while its call waited, SQLAlchemy's isolation-level
  switch), every later call, the close included, queues behind it there, so the sqlite3
  connection is never used by two threads at once; a close does not wait for it.
  :meth:`InlineSqlite.drain` (from ``Database.dispose``) waits for those calls.
- **Checkpoints.** A commit that crosses SQLite's automatic checkpoint size would copy
  the WAL into the database file on the loop (13-15 ms). With a database file, inline
  connections turn the automatic checkpoint off, and a :class:`Checkpointer` thread with
  a connection of its own runs a passive checkpoint when 1,000 WAL frames await one (as
  SQLite's automatic checkpoint would) or some have waited 5 s: whatever wrote them, DDL
  and ``VACUUM`` included.

The trade-off: a slow query (a report over millions of rows) holds the loop while it
runs. ``HYPER_SQLITE_INLINE=false`` gives back aiosqlite's thread for every call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from queue import SimpleQueue
from typing import Any

import aiosqlite
from aiosqlite.core import _connection_worker_thread

log = logging.getLogger("hyperdeliver.db")

ON_THREAD = frozenset({"executescript", "backup", "iterdump"})
NEVER_REPEATED = frozenset({"fetchone", "fetchmany", "fetchall"})


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLITE_BUSY, a lock held by another connection (the primary code
    of an extended one; an error raised without a code is not)."""
    return isinstance(exc, sqlite3.OperationalError) and ((getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF) == sqlite3.SQLITE_BUSY


@contextmanager
def busy_waiting(conn: sqlite3.Connection, timeout_ms: int) -> Iterator[None]:
    """The busy timeout on for the calls inside (on a worker thread), back to 0 after."""
    conn.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
    try:
        yield
    finally:
        conn.execute("PRAGMA busy_timeout=0")


class Checkpointer:
    """A thread with a sqlite3 connection of its own that runs a passive WAL checkpoint
    when ``frames`` WAL frames await one (SQLite's own automatic checkpoint size), or
    some frames have waited ``idle`` seconds. It looks every ``period`` seconds, in the
    WAL index's header (the ``-shm`` file): ``mxFrame`` and ``nBackfill``."""

    def __init__(self, path: str, period: float = 0.5, frames: int = 1000, idle: float = 5.0) -> None:
        self.path, self.period, self.frames, self.idle = path, period, frames, idle
        self.runs = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hyperdeliver-sqlite-checkpoint", daemon=True)
                self._thread.start()

    def waiting_frames(self) -> int:
        """WAL frames not yet copied into the database file (0 without a WAL)."""
        try:
            with open(self.path + "-shm", "rb") as f:
                header = f.read(100)
            max_frame, backfilled = struct.unpack_from("=I", header, 16)[0], struct.unpack_from("=I", header, 96)[0]
        except (OSError, struct.error):
            return 0
        return max(0, max_frame - backfilled)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        except sqlite3.Error as exc:
            log.debug("no WAL checkpoints for %s: %s", self.path, exc)
            return
        last = time.monotonic()
        try:
            while not self._stop.wait(self.period):
                waiting = self.waiting_frames()
                if not waiting or (waiting < self.frames and time.monotonic() - last < self.idle):
                    continue
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
                    last = time.monotonic()
                except sqlite3.Error as exc:  # tried again at the next look
                    log.debug("sqlite checkpoint of %s: %s", self.path, exc)
        finally:
            conn.close()

    async def stop(self) -> None:
        """Stop the thread (``start`` starts it again)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            await asyncio.to_thread(thread.join, 5)
            self._stop = threading.Event()


class InlineSqlite:
    """What the inline connections of one database share: the checkpointer (a database
    file only) and the calls still queued or running on their threads."""

    def __init__(self, database: str, options: Mapping[str, Any], busy_timeout: float) -> None:
        self.database, self.options = database, options
        self.busy_timeout_ms = int(busy_timeout * 1000)
        file = database not in ("", ":memory:") and not options.get("uri")
        self.checkpointer = Checkpointer(os.path.abspath(database)) if file else None
        """None: SQLite's automatic checkpoint stays on (``:memory:``, ``file:`` URIs)."""
        self.pending: set[asyncio.Future[Any]] = set()

    def connect(self) -> InlineConnection:
        """What ``aiosqlite.connect`` returns, for SQLAlchemy's ``async_creator``: the sqlite3
        connection is opened on the worker thread, usable from the loop's thread, with the
        busy timeout at 0 (the worker thread turns it on per waiting call)."""
        checkpointer = self.checkpointer
        database, options = self.database, {k: v for k, v in self.options.items() if k not in ("timeout", "check_same_thread")}

        def connector() -> sqlite3.Connection:
            conn = sqlite3.connect(database, timeout=0, check_same_thread=False, **options)
            conn.execute("PRAGMA busy_timeout=0")
            if checkpointer is not None:
                checkpointer.start()  # once the database file is there
            return conn

        return InlineConnection(connector, self)

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for the calls still on the connections' threads."""
        if self.pending:
            await asyncio.wait(list(self.pending), timeout=timeout)

    async def close(self) -> None:
        if self.checkpointer is not None:
            await self.checkpointer.stop()


class _CountingQueue(SimpleQueue):  # type: ignore[type-arg]
    """aiosqlite's call queue, counting the calls not yet done on the worker thread.
    ``pending`` is read and written on the loop's thread only."""

    def __init__(self) -> None:
        self.pending = 0

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, fn = item
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # from a finalizer, no loop: nothing will read the count
            super().put_nowait(item)
            return
        self.pending += 1

        def counted() -> Any:
            # The result goes back here rather than in aiosqlite's worker loop, which
            # dies on a loop closed meanwhile (a failed connect's stop, at exit).
            try:
                result = fn()
            except BaseException as exc:
                if future is not None:
                    _call_soon(loop, _settle, future, None, exc)
                return None
            else:
                if future is not None:
                    _call_soon(loop, _settle, future, result, None)
                return result
            finally:
                _call_soon(loop, self._done)

        super().put_nowait((None, counted))

    def _done(self) -> None:
        self.pending -= 1


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop has closed: nobody waits any more
        pass


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread (see the module)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], shared: InlineSqlite) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._queue = _CountingQueue()
        self._tx = self._queue
        self._thread = threading.Thread(target=_connection_worker_thread, args=(self._tx,), daemon=True)
        self.shared = shared
        self.waits = 0
        """How many calls met a lock and waited for it on the thread."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        conn = self._connection
        if not self._running or conn is None:
            raise ValueError("Connection closed")
        name = getattr(fn, "__name__", "")
        if self._queue.pending or name in ON_THREAD or (name == "executemany" and conn.isolation_level is None and not conn.in_transaction):
            return await self._on_worker(self._waiting, conn, fn, args, kwargs)
        if name == "executemany" and len(args) > 1 and not isinstance(args[1], (list, tuple)):
            args = (args[0], list(args[1]), *args[2:])  # a generator could not be read twice
        changes = conn.total_changes
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or exc.sqlite_errorcode == sqlite3.SQLITE_BUSY_SNAPSHOT or name in NEVER_REPEATED or conn.total_changes != changes:
                raise
        self.waits += 1
        return await self._on_worker(self._waiting, conn, fn, args, kwargs)

    def _waiting(self, conn: sqlite3.Connection, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """On the worker thread: ``fn``, with the busy timeout on for this one call."""
        with busy_waiting(conn, self.shared.busy_timeout_ms):
            return fn(*args, **kwargs)

    async def close(self) -> None:
        conn = self._connection
        if conn is None or not self._queue.pending:
            await super().close()
            return
        # A call is still on the thread (its caller was cancelled): the connection
        # closes after it, and whoever closes does not wait for that.
        self._connection = None
        self._tx.put_nowait((None, conn.close))
        self.stop()

    async def _on_worker(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the worker thread. The result comes back through the loop only
        while it runs; shielded, so a cancelled caller leaves the call to finish there."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = self.shared.pending
        pending.add(future)
        future.add_done_callback(_forget(pending))
        self._queue.put_nowait((future, partial(fn, *args)))  # the queue settles the future
        return await asyncio.shield(future)


def _forget(pending: set[asyncio.Future[Any]]) -> Callable[[asyncio.Future[Any]], None]:
    def done(future: asyncio.Future[Any]) -> None:
        pending.discard(future)
        if not future.cancelled() and future.exception() is not None:  # retrieved: its caller may be gone
            log.debug("sqlite call on a worker thread failed: %s", future.exception())

    return done
