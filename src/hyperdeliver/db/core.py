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

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.util import greenlet_spawn


class CoreTransaction:
    """The connection and transaction of one mutation's Core statements, opened on first use."""

    __slots__ = ("engine", "conn")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.conn: Connection | None = None

    async def run(self, statement: Any, params: Any) -> tuple[list[str], Sequence[Any]]:
        """Run ``statement``; its column names and rows (none for a statement without)."""
        return await greenlet_spawn(self._run, statement, params)

    def _run(self, statement: Any, params: Any) -> tuple[list[str], Sequence[Any]]:
        conn = self.conn
        if conn is None:
            conn = self.conn = self.engine.sync_engine.connect()
            conn.begin()
        result = conn.execute(statement, params)
        if not result.returns_rows:
            return [], ()
        return list(result.keys()), result.all()

    def session(self, maker: Any) -> AsyncSession:
        """An ORM session on this transaction's connection (opened now if not yet)."""
        if self.conn is None:
            self.conn = self.engine.sync_engine.connect()
            self.conn.begin()
        return maker(bind=AsyncConnection(self.engine, self.conn), join_transaction_mode="rollback_only")  # type: ignore[no-any-return]

    async def finish(self, commit: bool) -> None:
        """Commit (or roll back) and give the connection back; nothing if none was opened."""
        if self.conn is not None:
            await greenlet_spawn(self._finish, commit)

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
