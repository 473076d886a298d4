"""Database: one async engine and session factory per app, SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .reads import ReadSession, begin_on_sqlite, watch


class Database:
    """Wraps the engine. ``db.session()`` gives an AsyncSession (a unit of work).

    ``read_session()`` and ``snapshot_session()`` are a query operation's sessions (see
    :mod:`.reads`): no transaction (autocommit on PostgreSQL) for a single statement, one
    read-only transaction (``REPEATABLE READ READ ONLY`` on PostgreSQL) for several.

    On PostgreSQL reads outside a transaction have a pool of their own, in autocommit, and
    transactions (mutations, jobs, a query's snapshot) another. Each pool keeps ``pool_size`` connections open and opens at most
    ``max_overflow`` more under load (closed again once returned): a call that finds them
    all in use waits up to ``pool_timeout`` seconds for one to come back, instead of
    opening and closing connections by the hundred. asyncpg keeps a prepared statement per
    SQL text on each connection (``prepared_statement_cache_size``, 100) and SQLAlchemy
    one compiled form per statement shape (``query_cache_size``, 500).

    On SQLite (aiosqlite: each call runs on the connection's thread), ``busy_timeout`` is
    how many seconds a write waits there for another connection's lock before "database
    is locked"; the event loop keeps serving meanwhile.

    Example:
        >>> db = Database("sqlite+aiosqlite:///:memory:")
        >>> db.dialect
        'sqlite'
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        max_overflow: int = 0,
        pool_timeout: float = 30.0,
        busy_timeout: float = 30.0,
    ) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        self.busy_timeout = busy_timeout
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": busy_timeout}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = max_overflow
            kwargs["pool_timeout"] = pool_timeout
            kwargs["pool_pre_ping"] = False
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            wait_ms = int(busy_timeout * 1000)

            def pragmas(dbapi_conn: Any, _record: Any) -> None:
                _sqlite_pragmas(dbapi_conn, wait_ms)

            event.listen(self.engine.sync_engine, "connect", pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        if self.dialect == "postgresql":
            self.reads_engine: AsyncEngine = create_async_engine(url, isolation_level="AUTOCOMMIT", **kwargs)
            """A pool of its own for reads outside a transaction: its connections stay in
            autocommit (no switch per checkout, no event on the path of ``ctx.rows``)."""
            self.rows_engine = self.reads_engine
            self.read_engine = self.reads_engine.execution_options(hd_reads="first")
            self.snapshot_engine = self.engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        else:
            self.reads_engine = self.engine
            self.rows_engine = self.engine
            self.read_engine = self.engine.execution_options(hd_reads="first")
            self.snapshot_engine = self.engine.execution_options(hd_reads="snapshot")
            if self.dialect == "sqlite":
                begin_on_sqlite(self.snapshot_engine)
        server_refuses = self.dialect == "postgresql"
        watch(self.read_engine, server_refuses_writes=server_refuses)
        watch(self.snapshot_engine, server_refuses_writes=server_refuses)
        self.read_sessionmaker = async_sessionmaker(
            self.read_engine, sync_session_class=ReadSession, expire_on_commit=False, autoflush=True
        )
        self.snapshot_sessionmaker = async_sessionmaker(
            self.snapshot_engine, sync_session_class=ReadSession, expire_on_commit=False, autoflush=True
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    def read_session(self) -> AsyncSession:
        """A query's session before its second statement: no transaction (see :mod:`.reads`)."""
        return self.read_sessionmaker()

    def snapshot_session(self) -> AsyncSession:
        """A query's session for several statements: one read-only transaction (see :mod:`.reads`)."""
        return self.snapshot_sessionmaker()

    def pool_status(self) -> dict[str, dict[str, int]]:
        """Each pool's connections (``transactions``, and on PostgreSQL ``reads``):
        ``size`` (kept open), ``checked_out`` (in use), ``idle``, ``overflow`` (open beyond
        ``size``); a pool without them (SQLite in memory) is left out."""
        pools = {"transactions": self.engine.pool}
        if self.reads_engine is not self.engine:
            pools["reads"] = self.reads_engine.pool
        out = {}
        for name, pool in pools.items():
            try:
                out[name] = {"size": pool.size(), "checked_out": pool.checkedout(), "idle": pool.checkedin(), "overflow": max(0, pool.overflow())}  # type: ignore[attr-defined]
            except AttributeError:
                pass
        return out

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.reads_engine is not self.engine:
            await self.reads_engine.dispose()


WAL_SIZE_LIMIT = 64 * 1024 * 1024


def _sqlite_pragmas(dbapi_conn: Any, busy_timeout_ms: int) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    # After a checkpoint a big write (a VACUUM, a bulk load) left behind, the WAL file is
    # cut back to this size instead of keeping its largest size on disk.
    cur.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    cur.close()

