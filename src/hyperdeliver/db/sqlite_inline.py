"""SQLite calls on the event loop's thread, waiting for locks on a worker thread.

aiosqlite runs every call (execute, fetch, commit, rollback) on a thread of its own and
hands the result back to the event loop. SQLite answers most calls in microseconds,
and the two thread hand-overs per call cost far more: on a 2-core VM a pooled
``SELECT 1`` took 633 µs of CPU through the thread and 107 µs inline
(``bench/sqlite_calls.py`` measures it). So :class:`InlineConnection` runs each call
where it is awaited, with SQLite's busy timeout at 0: a call never waits on the loop.

When another connection holds the write lock the call fails at once with
``SQLITE_BUSY``; it had no effect, and it is run again on the connection's aiosqlite
thread with the busy timeout the app configured, so the loop keeps serving while that
one call waits. Reads never wait in WAL mode, so only contended writes take this path.

The trade-off: a slow query (a report over millions of rows) holds the loop while it
runs. ``HYPER_SQLITE_INLINE=false`` gives back aiosqlite's thread for every call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite

SQLITE_BUSY = 5
"""Primary result code of a lock held by another connection (extended codes keep it in the low byte)."""


def is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == SQLITE_BUSY


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread (see the module)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], busy_timeout_ms: int) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.busy_timeout_ms = busy_timeout_ms
        self.waits = 0
        """How many calls met a lock and waited for it on the thread."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
        self.waits += 1
        return await super()._execute(self._waiting, fn, args, kwargs)

    def _waiting(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """On the worker thread: ``fn`` again, with the busy timeout on for this one call."""
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        try:
            return fn(*args, **kwargs)
        finally:
            conn.execute("PRAGMA busy_timeout=0")


def connect(database: str, *, timeout: float = 30.0, **kwargs: Any) -> InlineConnection:
    """What ``aiosqlite.connect`` returns, for SQLAlchemy's ``async_creator``: the sqlite3
    connection is opened on the worker thread, usable from the loop's thread, and starts
    with the busy timeout at 0 (the worker thread turns it on per waiting call)."""
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        conn = sqlite3.connect(database, timeout=0, **kwargs)
        conn.execute("PRAGMA busy_timeout=0")
        return conn

    conn = InlineConnection(connector, busy_timeout_ms=int(timeout * 1000))
    conn._thread.daemon = True
    return conn
