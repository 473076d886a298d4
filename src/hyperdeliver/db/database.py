"""Database: one async engine and session factory per app, SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from .sqlite_inline import Checkpoints
from .sqlite_inline import connect as inline_connect


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
        self.sqlite_inline = sqlite_inline and url.startswith("sqlite")
        """SQLite calls run on the event loop's thread (:mod:`.sqlite_inline`)."""
        self.checkpoints = Checkpoints() if self.sqlite_inline else None
        """Inline SQLite: the WAL checkpoints run on a connection's thread, not at a commit on the loop."""
        if self.sqlite_inline:
            kwargs["async_creator"] = _inline_creator(url, busy_timeout, self.checkpoints)
        elif url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": busy_timeout}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = False
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            inline = self.sqlite_inline

            def pragmas(dbapi_conn: Any, _record: Any) -> None:
                # inline: a call waits for a lock on its thread, and checkpoints run there too
                _sqlite_pragmas(dbapi_conn, 0 if inline else int(busy_timeout * 1000), autocheckpoint=not inline)

            event.listen(self.engine.sync_engine, "connect", pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

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
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, busy_timeout_ms: int, autocheckpoint: bool) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    if not autocheckpoint:
        cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()


def _inline_creator(url: str, timeout: float, checkpoints: Checkpoints | None) -> Callable[[], Any]:
    """SQLAlchemy's ``async_creator`` for :class:`~.sqlite_inline.InlineConnection`, with
    the file name and options SQLAlchemy would pass aiosqlite for ``url``."""
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    cargs, cparams = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    cparams.pop("timeout", None)

    def create() -> Any:
        return inline_connect(*cargs, timeout=timeout, checkpoints=checkpoints, **cparams)

    return create
