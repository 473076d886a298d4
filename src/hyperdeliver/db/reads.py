"""Reads: how the statements of a query operation (``@feature.query``) run.

A query only reads, and most read once: one ``SELECT``. Run in a transaction, that
``SELECT`` costs three round trips (``BEGIN``, the statement, ``COMMIT``) where one
would do. So a query's session starts out **without a transaction**: on PostgreSQL its
connection is in autocommit (no ``BEGIN``, no ``COMMIT``), on SQLite the ``sqlite3``
module never opens one for a ``SELECT``.

A handler that reads twice must see one snapshot, not two moments of the database.
When its second statement is about to run, the handler is stopped
(:class:`NeedsSnapshot`, before that statement reaches the database) and run again from
the start inside one transaction: on PostgreSQL ``REPEATABLE READ READ ONLY`` (every
statement sees the snapshot of the first), on SQLite a deferred ``BEGIN`` (WAL keeps the
snapshot of the first read). The operation is remembered: its later calls start in that
transaction, and are not stopped again. What the first run left on the context (headers,
cookies, a status, events, on-commit callbacks) is dropped before the second.

A query that writes is refused with :class:`ReadOnlyQuery` (a 500 naming the operation:
a write belongs in a ``@feature.mutation``), nothing written: an ORM flush with changes,
an ``INSERT``/``UPDATE``/``DELETE`` or any statement other than a ``SELECT`` in the first
mode; in the transaction, a statement that is not ``SELECT``/``WITH``/``VALUES`` on
SQLite, and on PostgreSQL the server itself refuses any write (the transaction is
``READ ONLY``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar, Token
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Select, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import CTE
from sqlalchemy.sql.visitors import iterate

from ..errors import ServerError
from .direct import keys_and_rows
from .greenlets import run_sync

FIRST, SNAPSHOT = 1, 2
"""A query context's modes: no transaction yet (``FIRST``), one read-only transaction (``SNAPSHOT``)."""
WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT", "REVOKE", "COPY"})
READS = frozenset({"SELECT", "WITH", "VALUES", "BEGIN"})


class NeedsSnapshot(Exception):
    """A query's handler is about to run a second statement: it runs again in one snapshot.

    Raised before the statement reaches the database and caught by the front controller;
    a handler that catches every ``Exception`` still runs again (the controller checks
    :attr:`ReadState.restart`).
    """


class ReadOnlyQuery(ServerError):
    """500: a query operation tried to write (nothing was written)."""

    code, title = "read-only-query", "Query Tried To Write"

    @classmethod
    def for_operation(cls, qualname: str, what: str) -> ReadOnlyQuery:
        return cls(f"{qualname} is a query, and a query only reads ({what} refused): declare it with @feature.mutation to write")


class ReadState:
    """One query call's reads: its mode, the statements run so far."""

    __slots__ = ("mode", "statements", "restart", "qualname", "token")

    def __init__(self, mode: int, qualname: str) -> None:
        self.mode = mode
        self.statements = 0
        self.restart = False
        self.qualname = qualname
        self.token: Token[ReadState | None] | None = None
        """Set once the query opens a session (:func:`watching`), reset by the controller."""

    def watching(self) -> None:
        """Make this the running query's state for :func:`watch`'s listener (once)."""
        if self.token is None:
            self.token = current.set(self)


current: ContextVar[ReadState | None] = ContextVar("hyperdeliver_read", default=None)
"""The running query's :class:`ReadState`, from its session's opening to the handler's end."""


def first_word(statement: str) -> str:
    """The statement's first keyword, upper-cased.

    >>> first_word("  select 1"), first_word("INSERT INTO t VALUES (1)"), first_word("(SELECT 1)")
    ('SELECT', 'INSERT', 'SELECT')
    """
    s = statement.lstrip(" \t\r\n(")
    end = 0
    n = len(s)
    while end < n and (s[end].isalpha() or s[end] == "_"):
        end += 1
    return s[:end].upper()


class ReadSession(Session):
    """The ORM session of a query: a flush with changes is refused (:class:`ReadOnlyQuery`)."""


@event.listens_for(ReadSession, "before_flush")
def _refuse_flush(session: Session, flush_context: Any, instances: Any) -> None:
    state = current.get()
    raise ReadOnlyQuery.for_operation(state.qualname if state is not None else "this session", "an ORM flush")


def watch(engine: AsyncEngine, *, server_refuses_writes: bool) -> None:
    """Count and check the statements run through ``engine`` (a read or snapshot engine)."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def check(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        state = current.get()
        if state is None:
            return
        word = first_word(statement)
        if state.mode == FIRST:
            if word in WRITES:
                raise ReadOnlyQuery.for_operation(state.qualname, word)
            state.statements += 1
            if state.statements > 1 or word != "SELECT":
                state.restart = True
                raise NeedsSnapshot(state.qualname)
        elif word in WRITES or not (server_refuses_writes or word in READS):
            raise ReadOnlyQuery.for_operation(state.qualname, word or "a statement")


def begin_on_sqlite(engine: AsyncEngine) -> None:
    """A deferred ``BEGIN`` when a session on ``engine`` begins (the ``sqlite3`` module
    opens no transaction for a ``SELECT``): its reads share one snapshot."""

    @event.listens_for(engine.sync_engine, "begin")
    def begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def refused_by_server(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a write in a read-only transaction (SQLSTATE 25006)."""
    orig = getattr(exc, "orig", None)
    return orig is not None and (getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)) == "25006"


_plain: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()


def plain_select(statement: Any) -> bool:
    """Whether ``statement`` is a ``select()`` without a CTE (so no data-modifying one):
    safe to run in autocommit. Kept per statement object (one built once is checked once)."""
    try:
        return _plain[statement]
    except (KeyError, TypeError):
        pass
    plain = isinstance(statement, Select) and not any(isinstance(e, CTE) for e in iterate(statement))
    try:
        _plain[statement] = plain
    except TypeError:
        pass
    return plain


class Apart:
    """A query call's connection outside any transaction (autocommit on PostgreSQL), for
    the reads that run apart from its session: the front controller's scope check and the
    handler's first statement (:func:`first_rows`).

    With ``keep`` (the database's :attr:`~.database.Database.keep_apart`: not on SQLite in
    memory, whose one connection is every pool's), the scope check's connection stays
    checked out for the handler's first statement and is given back after it, or before
    a snapshot run, or at the call's end (:meth:`close`, by the controller): one pool
    checkout for both reads, and no second wait for the pool under load. Otherwise each
    read takes a connection and gives it back at once.
    """

    __slots__ = ("engine", "keep", "conn")

    def __init__(self, engine: AsyncEngine, keep: bool) -> None:
        self.engine = engine
        self.keep = keep
        self.conn: Connection | None = None

    async def rows(self, statement: Any, params: Any, last: bool = False) -> tuple[list[str], Sequence[Any]]:
        """``statement``'s keys and rows, in one hop to SQLAlchemy's sync side; the
        connection is given back after it when it is not kept, or with ``last``."""
        return await run_sync(self._rows, statement, params, last)

    def _rows(self, statement: Any, params: Any, last: bool) -> tuple[list[str], Sequence[Any]]:
        conn, self.conn = self.conn, None
        if conn is None:
            conn = self.engine.sync_engine.connect()
        try:
            out = keys_and_rows(conn, statement, params)
        except BaseException:
            conn.close()
            raise
        if self.keep and not last:
            self.conn = conn
        else:
            conn.close()
        return out

    async def close(self) -> None:
        """Give back a connection still kept (nothing when none is)."""
        if self.conn is not None:
            conn, self.conn = self.conn, None
            await run_sync(conn.close)


async def first_rows(apart: Apart, statement: Any, params: Any, state: ReadState) -> tuple[list[str], Sequence[Any]]:
    """A query's first statement, a :func:`plain_select`, run apart (a connection outside
    any transaction, given back after it): the keys and rows. A second statement would
    run the handler again."""
    state.statements += 1
    if state.statements > 1:
        state.restart = True
        raise NeedsSnapshot(state.qualname)
    return await apart.rows(statement, params, last=True)
