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
  transaction read an older snapshot; waiting cannot help). ``executescript`` and an
  autocommit ``executemany`` run on the thread from the start.
- **A caller cancelled while its call waits on the thread** (a timeout, a client gone).
  The call finishes there; until it has, every later call on the connection (the
  rollback, the close) queues behind it on the same thread, so the sqlite3 connection is
  never used by two threads at once.
- **Checkpoints.** A commit that crosses SQLite's automatic checkpoint size would copy
  the WAL into the database file on the loop (13-15 ms). Inline connections turn the
  automatic checkpoint off; every :attr:`Checkpoints.every` write transactions, a passive
  checkpoint runs on the committing connection's thread instead.

The trade-off: a slow query (a report over millions of rows) holds the loop while it
runs. ``HYPER_SQLITE_INLINE=false`` gives back aiosqlite's thread for every call.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

log = logging.getLogger("hyperdeliver.db")

SQLITE_BUSY = 5
"""Primary result code of a lock held by another connection (extended codes keep it in the low byte)."""
SQLITE_BUSY_SNAPSHOT = 517
"""A read transaction's snapshot is older than the database: it cannot become a write."""
ON_THREAD = frozenset({"executescript"})
NEVER_REPEATED = frozenset({"fetchone", "fetchmany", "fetchall", "executescript"})


def is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == SQLITE_BUSY


class Checkpoints:
    """Counts the write transactions of a database's inline connections; every ``every``
    of them, one connection runs a passive WAL checkpoint on its thread."""

    def __init__(self, every: int = 200) -> None:
        self.every = every
        self.writes = 0
        self.runs = 0

    def due(self) -> bool:
        self.writes += 1
        return self.writes % self.every == 0


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread (see the module)."""

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], busy_timeout_ms: int, checkpoints: Checkpoints | None = None
    ) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.busy_timeout_ms = busy_timeout_ms
        self.checkpoints = checkpoints
        self.waits = 0
        """How many calls met a lock and waited for it on the thread."""
        self._on_thread = 0
        self._settled = 0
        """``total_changes`` when the last write transaction ended."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        conn = self._connection
        if not self._running or conn is None:
            raise ValueError("Connection closed")
        name = getattr(fn, "__name__", "")
        if self._on_thread or name in ON_THREAD or (name == "executemany" and conn.isolation_level is None and not conn.in_transaction):
            return await self._on_worker(self._waiting, conn, fn, args, kwargs)
        if name == "executemany" and len(args) > 1 and not isinstance(args[1], (list, tuple)):
            args = (args[0], list(args[1]), *args[2:])  # a generator could not be read twice
        changes = conn.total_changes
        try:
            result = fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or exc.sqlite_errorcode == SQLITE_BUSY_SNAPSHOT or name in NEVER_REPEATED or conn.total_changes != changes:
                raise
            self.waits += 1
            return await self._on_worker(self._waiting, conn, fn, args, kwargs)
        if name != "close" and self.checkpoints is not None and conn.total_changes != self._settled and not conn.in_transaction:
            self._settled = conn.total_changes
            if self.checkpoints.due():
                self.checkpoints.runs += 1
                self._start_on_worker(_checkpoint, conn)
        return result

    def _waiting(self, conn: sqlite3.Connection, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """On the worker thread: ``fn``, with the busy timeout on for this one call."""
        if getattr(fn, "__name__", "") == "close":
            return fn(*args, **kwargs)
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        try:
            return fn(*args, **kwargs)
        finally:
            conn.execute("PRAGMA busy_timeout=0")

    async def close(self) -> None:
        conn = self._connection
        if conn is None or not self._on_thread:
            await super().close()
            return
        # A call still waits for a lock on the thread (its caller was cancelled): the
        # connection closes after it, and whoever closes does not wait for that.
        self._connection = None
        self._tx.put_nowait((None, conn.close))
        self.stop()

    def _start_on_worker(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Queue ``fn(*args)`` on the worker thread; calls made before it is done queue behind it."""
        future = asyncio.get_running_loop().create_future()
        self._on_thread += 1
        future.add_done_callback(self._back_from_worker)
        self._tx.put_nowait((future, partial(fn, *args)))
        return future

    async def _on_worker(self, fn: Callable[..., Any], *args: Any) -> Any:
        # shield: a cancelled caller leaves the call to finish on the thread (see the module)
        return await asyncio.shield(self._start_on_worker(fn, *args))

    def _back_from_worker(self, future: asyncio.Future[Any]) -> None:
        self._on_thread -= 1
        if future.cancelled():
            return
        exc = future.exception()  # retrieved here, raised to the caller if it still waits
        if exc is not None and isinstance(exc, sqlite3.Error):
            log.debug("sqlite call on the worker thread failed: %s", exc)


def connect(database: str, *, timeout: float = 30.0, checkpoints: Checkpoints | None = None, **kwargs: Any) -> InlineConnection:
    """What ``aiosqlite.connect`` returns, for SQLAlchemy's ``async_creator``: the sqlite3
    connection is opened on the worker thread, usable from the loop's thread, and starts
    with the busy timeout at 0 (the worker thread turns it on per waiting call)."""
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        conn = sqlite3.connect(database, timeout=0, **kwargs)
        conn.execute("PRAGMA busy_timeout=0")
        return conn

    conn = InlineConnection(connector, busy_timeout_ms=int(timeout * 1000), checkpoints=checkpoints)
    conn._thread.daemon = True
    return conn
