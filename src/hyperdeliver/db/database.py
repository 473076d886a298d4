"""Database: one async engine and session factory per app, SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.pool import PoolResetState, StaticPool
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from . import sqlite_connection
from .reads import ReadSession, begin_on_sqlite, watch


class Database:
    """Wraps the engine. ``db.session()`` gives an AsyncSession (a unit of work).

    ``read_session()`` and ``snapshot_session()`` are a query operation's sessions (see
    :mod:`.reads`): no transaction (autocommit on PostgreSQL) for a single statement, one
    read-only transaction (``REPEATABLE READ READ ONLY`` on PostgreSQL) for several.

    A query's Core reads outside a transaction (its scope check, its first ``ctx.rows``)
    have a pool of their own, in autocommit, and everything else (transactions, a query's
    ORM session) another; SQLite in memory has one connection for both. On PostgreSQL
    each pool keeps ``pool_size`` connections open and opens at most
    ``max_overflow`` more under load (closed again once returned): a call that finds them
    all in use waits up to ``pool_timeout`` seconds for one to come back, instead of
    opening and closing connections by the hundred. asyncpg keeps a prepared statement per
    SQL text on each connection (``prepared_statement_cache_size``, 100) and SQLAlchemy
    one compiled form per statement shape (``query_cache_size``, 500).

    On SQLite (aiosqlite: each call runs on its connection's thread), ``busy_timeout`` is
    how many seconds a write waits there for another connection's lock before "database
    is locked"; the event loop keeps serving meanwhile. A connection given back goes
    without a ROLLBACK when it has no transaction open (each call to the driver is a
    trip to that thread).

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
            # One trip to the connection's thread per statement (see .sqlite_connection).
            kwargs["async_creator"] = sqlite_connection.creator(url, timeout=busy_timeout)
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = max_overflow
            kwargs["pool_timeout"] = pool_timeout
            kwargs["pool_pre_ping"] = False
        sqlite = url.startswith("sqlite")
        if sqlite:
            # The pool rolls a returned connection back only when a transaction is open:
            # on aiosqlite a ROLLBACK is a trip to the connection's thread, for nothing
            # after a COMMIT.
            kwargs["pool_reset_on_return"] = None
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if sqlite:
            _sqlite_connections(self.engine, int(busy_timeout * 1000))
            event.listen(self.engine.sync_engine.pool, "reset", _rollback_if_in_transaction)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        if self.dialect == "postgresql" or (sqlite and not isinstance(self.engine.pool, StaticPool)):
            # A StaticPool's one connection is the whole database (SQLite in memory): a
            # second engine would open another, empty one.
            reads_kwargs = {**kwargs, "skip_autocommit_rollback": True} if sqlite else kwargs
            self.reads_engine: AsyncEngine = create_async_engine(url, isolation_level="AUTOCOMMIT", **reads_kwargs)
            """A pool of its own for reads outside a transaction: its connections stay in
            autocommit (no switch per checkout, no event on the path of ``ctx.rows``, and
            on SQLite no ROLLBACK when one is given back)."""
            if sqlite:
                _sqlite_connections(self.reads_engine, int(busy_timeout * 1000))
        else:
            self.reads_engine = self.engine
        self.rows_engine = self.reads_engine
        self.keep_apart = self.reads_engine is not self.engine
        """A query keeps its scope check's connection for its handler's first statement
        (:class:`.reads.Apart`): one checkout for both reads. Safe because a query's ORM
        sessions (below) take theirs from the other pool: a call holding a reads
        connection never waits for a second one from the same pool."""
        # The ORM session of a query before its second statement, in the transactions
        # pool: in autocommit on PostgreSQL (a switch on the client, no round trip); on
        # SQLite the ``sqlite3`` module opens no transaction for a ``SELECT`` anyway.
        first = {"hd_reads": "first"} if sqlite else {"hd_reads": "first", "isolation_level": "AUTOCOMMIT"}
        self.read_engine = self.engine.execution_options(**first)
        if self.dialect == "postgresql":
            self.snapshot_engine = self.engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        else:
            self.snapshot_engine = self.engine.execution_options(hd_reads="snapshot")
            begin_on_sqlite(self.snapshot_engine)
        server_refuses = self.dialect == "postgresql"
        watch(self.read_engine, server_refuses_writes=server_refuses)
        watch(self.snapshot_engine, server_refuses_writes=server_refuses)
        self.writer: asyncio.Lock | None = None
        """SQLite file: the lock a writing transaction (a mutation's, a job's) holds in this
        process from its first statement to its COMMIT, set by :meth:`open`. SQLite lets one
        connection write at a time; a second writer would otherwise wait in SQLite's busy
        handler, which sleeps between tries (up to 100 ms each) while the lock may long be
        free. Waiting here, the next writer starts the moment the last one commits.
        Other processes (``hyper worker``, a second server) still meet ``busy_timeout``."""
        self.read_sessionmaker = async_sessionmaker(
            self.read_engine, sync_session_class=ReadSession, expire_on_commit=False, autoflush=True
        )
        self.snapshot_sessionmaker = async_sessionmaker(
            self.snapshot_engine, sync_session_class=ReadSession, expire_on_commit=False, autoflush=True
        )

    def open(self) -> None:
        """Start serving (the App's start-up, in its event loop): on a SQLite file, the
        :attr:`writer` lock."""
        if self.dialect == "sqlite" and self.keep_apart:
            self.writer = asyncio.Lock()

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


def _sqlite_connections(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """Every new connection of ``engine`` gets the app's SQLite pragmas."""

    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, busy_timeout_ms)

    event.listen(engine.sync_engine, "connect", pragmas)


def _rollback_if_in_transaction(dbapi_conn: Any, record: Any, state: PoolResetState) -> None:
    """The pool's reset of a returned SQLite connection (``pool_reset_on_return=None``):
    a ROLLBACK only when a transaction is open (SQLAlchemy's custom reset-on-return scheme)."""
    if state.asyncio_safe and not state.terminate_only and record.driver_connection.in_transaction:
        dbapi_conn.rollback()


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

