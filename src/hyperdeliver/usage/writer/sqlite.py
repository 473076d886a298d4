"""SqliteWriter: the recorder's flushes on a sqlite3 connection of its own, on one thread.

The statements run in C with the GIL released while SQLite works; the event loop waits
for one hand-over per flush. ``BEGIN IMMEDIATE`` takes the write lock up front, so a
flush waits (``busy_timeout``) behind the app's own writes instead of failing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..batch import Batch, records
from ..fold import Folded
from .base import Writer

_INSERT = "INSERT INTO hd_usage_batches (first_ts, last_ts, events, release, keys, rows) VALUES (?, ?, ?, ?, ?, ?)"
Statements = list[tuple[str, list[tuple[Any, ...]]]]


class SqliteWriter(Writer):
    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        return conn

    def _write(self, statements: Statements) -> None:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements:
                conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    async def write(self, folded: Folded, batch: Batch) -> None:
        from ..store import counter_rows

        statements = [*counter_rows(folded, postgresql=False), (_INSERT, records([batch], postgresql=False))]
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hd-usage-sqlite")
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, statements)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(thread, self._close)
            thread.shutdown(wait=False)
