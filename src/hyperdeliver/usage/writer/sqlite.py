"""SqliteWriter: the recorder's flushes on a sqlite3 connection of its own.

A flush is written on the event loop's thread when SQLite's write lock is free, the
usual case: ``BEGIN IMMEDIATE`` with no busy wait, three statements in C, ``COMMIT``
(about 0.1 ms for 1,000 calls; the WAL is not synced on commit). When another
connection holds the lock, the flush goes to the writer's thread instead and waits
there (``busy_timeout``), so the event loop never waits on a lock. The hand-over to a
thread cost about 0.2 ms of CPU per flush (twice the write itself), which is why it is
the fallback, not the rule.

The writer's connection never checkpoints the WAL on commit (a checkpoint copies pages
and syncs the file, milliseconds the event loop must not wait): every
:data:`CHECKPOINT_EVERY` flushes it runs a passive checkpoint on its thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from typing import Any

from ..batch import Batch, records
from ..fold import Folded
from .base import Writer

log = logging.getLogger("hyperdeliver.usage")
Statements = list[tuple[str, list[tuple[Any, ...]]]]
CHECKPOINT_EVERY = 50
"""Flushes between the writer's WAL checkpoints (a flush of 1,000 calls adds about 12 pages)."""


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLITE_BUSY, a lock held by another connection (the primary code
    of an extended one; an error raised without a code is not)."""
    return isinstance(exc, sqlite3.OperationalError) and ((getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF) == sqlite3.SQLITE_BUSY


@contextmanager
def busy_waiting(conn: sqlite3.Connection, timeout_ms: int) -> Iterator[None]:
    """The busy timeout on for the calls inside (on the writer's thread), back to 0 after."""
    conn.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
    try:
        yield
    finally:
        conn.execute("PRAGMA busy_timeout=0")


class SqliteWriter(Writer):
    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self.flushes = 0
        self.handed_over = 0
        """Flushes that found the write lock taken and were written on the thread."""
        self.checkpoints = 0
        """Passive checkpoints run, one every :data:`CHECKPOINT_EVERY` flushes."""

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("PRAGMA busy_timeout=0")
        return conn

    def _write(self, statements: Statements, wait: bool) -> None:
        """One transaction; without ``wait``, SQLITE_BUSY at once when the lock is taken."""
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        with busy_waiting(conn, int(self.timeout * 1000)) if wait else nullcontext():
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in statements:
                    conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _checkpoint(self) -> None:
        try:
            if self._conn is not None:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:  # the batch is written: a checkpoint that fails waits for the next
            log.warning("usage: WAL checkpoint failed", exc_info=True)

    async def _on_thread(self, fn: Any, *args: Any) -> None:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hd-usage-sqlite")
        await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def write(self, folded: Folded, batch: Batch) -> None:
        from ..store import BATCH_INSERT_SQLITE, counter_rows

        statements = [*counter_rows(folded, postgresql=False), (BATCH_INSERT_SQLITE, records([batch], postgresql=False))]
        if self._conn is None:  # the first flush connects on the thread (setting WAL may wait)
            await self._on_thread(self._write, statements, True)
        else:
            try:
                self._write(statements, False)
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                self.handed_over += 1
                await self._on_thread(self._write, statements, True)
        self.flushes += 1
        if self.flushes % CHECKPOINT_EVERY == 0:
            await self._on_thread(self._checkpoint)
            self.checkpoints += 1

    def _close(self) -> None:
        self._checkpoint()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        if self._conn is not None or self._thread is not None:
            await self._on_thread(self._close)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=False)
