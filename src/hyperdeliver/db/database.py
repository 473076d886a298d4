"""Database: one async engine and session factory per app, SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from .sqlite_inline import InlineSqlite


class Database:
    """Wraps the engine. ``db.session()`` gives an AsyncSession (a unit of work).

    On SQLite, ``busy_timeout`` is how many seconds a write waits for another
    connection's lock before "database is locked"; ``sqlite_inline`` runs calls on the
    event loop's thread (:mod:`.sqlite_inline`).

    Example:
        >>> db = Database("sqlite+aiosqlite:///:memory:")
        >>> db.dialect
        'sqlite'
    """

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 10, sqlite_inline: bool = True, busy_timeout: float = 30.0
    ) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        self.busy_timeout = busy_timeout
        self.inline = _inline(url, busy_timeout) if sqlite_inline and url.startswith("sqlite") else None
        """What the inline SQLite connections share: the checkpointer, the calls on their threads."""
        if self.inline is not None:
            kwargs["async_creator"] = self.inline.connect
        elif url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": busy_timeout}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = False
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            wait_ms = 0 if self.inline is not None else int(busy_timeout * 1000)  # inline: a call waits on its thread
            autocheckpoint = self.inline is None or self.inline.checkpointer is None

            def pragmas(dbapi_conn: Any, _record: Any) -> None:
                _sqlite_pragmas(dbapi_conn, wait_ms, autocheckpoint)

            event.listen(self.engine.sync_engine, "connect", pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def sqlite_inline(self) -> bool:
        """SQLite calls run on the event loop's thread (:mod:`.sqlite_inline`)."""
        return self.inline is not None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        if self.inline is not None:
            await self.inline.drain(self.busy_timeout + 1)
        await self.engine.dispose()
        if self.inline is not None:
            await self.inline.close()


WAL_SIZE_LIMIT = 64 * 1024 * 1024


def _sqlite_pragmas(dbapi_conn: Any, busy_timeout_ms: int, autocheckpoint: bool) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    if not autocheckpoint:
        cur.execute("PRAGMA wal_autocheckpoint=0")
    # After a checkpoint a big write (a VACUUM, a bulk load) left behind, the WAL file is
    # cut back to this size instead of keeping its largest size on disk.
    cur.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    cur.close()


def _inline(url: str, busy_timeout: float) -> InlineSqlite:
    """The :class:`~.sqlite_inline.InlineSqlite` for ``url``, with the file name and options
    SQLAlchemy would pass aiosqlite."""
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    cargs, cparams = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    return InlineSqlite(cargs[0] if cargs else "", cparams, busy_timeout)
