"""Writers of the recorder's flushes: one flush's counters and raw batch, in one transaction.

- :class:`~.base.EngineWriter`: through the app's SQLAlchemy engine (any database)
- :class:`~.sqlite.SqliteWriter`: a sqlite3 connection of its own, written on the event
  loop while SQLite's write lock is free and on a thread of its own while it is not
- :class:`~.postgresql.PostgresWriter`: an asyncpg connection of its own: one statement
  (the batch row and both rollup upserts), one round trip

A flush through the engine cost about 1.5 ms of CPU before its first call (pool
checkout, greenlet hand-overs, a thread hop per statement, the pool's reset), as much
as 1,500 calls cost; the writers of their own cost 0.2-0.5 ms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import EngineWriter, Writer

if TYPE_CHECKING:
    from ...app import App

__all__ = ["EngineWriter", "Writer", "writer_for"]


def writer_for(app: App) -> Writer:
    """The fastest writer for the app's database (the engine's for in-memory SQLite,
    which another connection would not see)."""
    from sqlalchemy.engine import make_url

    url = make_url(app.database.url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        from .sqlite import SqliteWriter

        return SqliteWriter(url.database)
    if url.get_backend_name() == "postgresql":
        from .postgresql import PostgresWriter

        return PostgresWriter(url.set(drivername="postgresql").render_as_string(hide_password=False))
    return EngineWriter(app)
