"""A mutation's Core statements: one transaction on a connection, no ORM session.

``ctx.rows`` and ``ctx.scalar`` in a mutation that has not opened ``ctx.db`` run here:
the connection is taken from the pool and its transaction begun with the first statement
(one hop to SQLAlchemy's sync side per statement, none for the session's bookkeeping),
and the front controller commits or rolls it back, as it does the session. Should the
handler open ``ctx.db`` afterwards, the session is bound to this connection and joins its
transaction (``join_transaction_mode="rollback_only"``): still one transaction,
committed once by the controller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from .direct import keys_and_rows
from .greenlets import run_sync


class CoreTransaction:
    """The connection and transaction of one mutation's Core statements, opened on first use.

    On a SQLite file, the transaction takes the database's :attr:`~.database.Database.writer`
    lock before its first statement that is not a ``select()`` (an ``INSERT``, an ``UPDATE``,
    a ``text()`` that may write) and gives it back after its COMMIT or ROLLBACK: the writers
    of this process queue there, not in SQLite's busy handler. Once an ORM session has joined the transaction without the lock (its flush
    may already have written), the transaction never waits for it: it would wait for a
    writer that waits for it.
    """

    __slots__ = ("engine", "conn", "writer", "holds")

    def __init__(self, engine: AsyncEngine, writer: asyncio.Lock | None = None) -> None:
        self.engine = engine
        self.conn: Connection | None = None
        self.writer = writer
        self.holds = False

    async def run(self, statement: Any, params: Any) -> tuple[list[str], Sequence[Any]]:
        """Run ``statement``; its column names and rows (none for a statement without)."""
        if self.writer is not None and not self.holds and not statement.is_select:
            await self.writer.acquire()
            self.holds = True
        return await run_sync(self._run, statement, params)

    def _run(self, statement: Any, params: Any) -> tuple[list[str], Sequence[Any]]:
        conn = self.conn
        if conn is None:
            conn = self.conn = self.engine.sync_engine.connect()
            conn.begin()
        return keys_and_rows(conn, statement, params)

    def session(self, maker: Any) -> AsyncSession:
        """An ORM session on this transaction's connection (opened now if not yet)."""
        if not self.holds:
            self.writer = None
        if self.conn is None:
            self.conn = self.engine.sync_engine.connect()
            self.conn.begin()
        return maker(bind=AsyncConnection(self.engine, self.conn), join_transaction_mode="rollback_only")  # type: ignore[no-any-return]

    async def finish(self, commit: bool) -> None:
        """Commit (or roll back) and give the connection back; nothing if none was opened."""
        try:
            if self.conn is not None:
                await run_sync(self._finish, commit)
        finally:
            if self.holds:
                self.holds = False
                self.writer.release()  # type: ignore[union-attr]  # held: set

    def _finish(self, commit: bool) -> None:
        conn, self.conn = self.conn, None
        assert conn is not None
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
        finally:
            conn.close()
