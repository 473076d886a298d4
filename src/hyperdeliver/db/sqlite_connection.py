"""SQLite connections for SQLAlchemy: one trip to aiosqlite's thread per statement.

aiosqlite runs every call on the connection's own thread, and SQLAlchemy's aiosqlite
adapter makes four calls a statement (open a cursor, execute, fetch, close): four trips
from the event loop to that thread and back, each waking both. Here a statement is one
call, aiosqlite's ``execute_fetchall``: the ``sqlite3`` connection is made with
:class:`StatementConnection` (``sqlite3.connect``'s ``factory``), whose cursors hand back
their rows as :class:`Rows`, which carry the cursor's ``description``, ``rowcount`` and
``lastrowid`` too; the cursor SQLAlchemy drives (:class:`OneTripCursor`) reads them
without another trip. Teamboard's create went from 13 trips to 4 and its list from 8 to
2: +30 % requests/s on SQLite (``bench/db_bench.py``).

Everything else (commit, rollback, close, the isolation level, the connection's thread)
is aiosqlite's own, reached by SQLAlchemy's adapter as before (:class:`OneTripConnection`
passes it through). A server-side cursor (``conn.stream()``) gets its rows at once, as
a plain ``execute`` does: page a big read with ``LIMIT`` instead.

Used by :class:`~.database.Database` as ``create_async_engine(url, async_creator=creator(url, timeout=...))``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url


class Rows(list[Any]):
    """A statement's rows, with what its cursor said of them."""

    __slots__ = ("description", "rowcount", "lastrowid")
    description: Any
    rowcount: int
    lastrowid: int | None


class RowsCursor(sqlite3.Cursor):
    """``fetchall`` gives :class:`Rows`."""

    def fetchall(self) -> Rows:
        rows = Rows(super().fetchall())
        rows.description, rows.rowcount, rows.lastrowid = self.description, self.rowcount, self.lastrowid
        return rows


class StatementConnection(sqlite3.Connection):
    """A ``sqlite3`` connection whose cursors are :class:`RowsCursor`s (``execute`` too)."""

    def cursor(self, factory: Any = RowsCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)


class OneTripCursor:
    """The cursor SQLAlchemy's aiosqlite adapter drives: ``execute`` (or
    ``executemany``) is the one trip to the connection's thread, the rest reads what it
    brought back."""

    __slots__ = ("_conn", "_rows", "_next", "arraysize", "description", "rowcount", "lastrowid")

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._rows = Rows()
        self._next = 0
        self.arraysize = 1
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        rows = await self._conn.execute_fetchall(sql, parameters)
        if not isinstance(rows, Rows):  # not our sqlite3 connection: no description to read
            raise TypeError("OneTripCursor needs a connection made with factory=StatementConnection")
        self._rows, self._next = rows, 0
        self.description, self.rowcount, self.lastrowid = rows.description, rows.rowcount, rows.lastrowid
        return self

    async def executemany(self, sql: str, parameters: Any) -> OneTripCursor:
        cursor = await self._conn.executemany(sql, parameters)
        self._rows, self._next = Rows(), 0
        self.description, self.rowcount, self.lastrowid = cursor.description, cursor.rowcount, cursor.lastrowid
        return self

    async def fetchall(self) -> list[Any]:
        rows, start = self._rows, self._next
        self._rows, self._next = Rows(), 0
        return rows if start == 0 else rows[start:]

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        start = self._next
        chunk = self._rows[start : start + (size or self.arraysize)]
        self._next = start + len(chunk)
        return chunk

    async def fetchone(self) -> Any:
        chunk = await self.fetchmany(1)
        return chunk[0] if chunk else None

    async def close(self) -> None:
        self._rows, self._next = Rows(), 0


class OneTripConnection:
    """An aiosqlite connection whose ``cursor()`` is a :class:`OneTripCursor`; every other
    attribute is the aiosqlite connection's own."""

    __slots__ = ("_aio",)

    def __init__(self, aio: aiosqlite.Connection) -> None:
        self._aio = aio

    def cursor(self) -> OneTripCursor:
        return OneTripCursor(self._aio)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._aio, name)


def creator(url: str, **connect_args: Any) -> Callable[[], Awaitable[OneTripConnection]]:
    """``create_async_engine``'s ``async_creator`` for the SQLite ``url``: connections
    opened with the arguments SQLAlchemy's dialect would pass for ``url``, plus
    ``connect_args`` (``timeout``, ...)."""
    u = make_url(url)
    args, kwargs = u.get_dialect()().create_connect_args(u)
    kwargs.update(connect_args, factory=StatementConnection)

    async def connect() -> OneTripConnection:
        pending = aiosqlite.connect(*args, **kwargs)
        # The connection's thread does not hold the process open at exit (as SQLAlchemy's
        # own aiosqlite dialect has it).
        pending._thread.daemon = True
        return OneTripConnection(await pending)

    return connect
