"""Database errors the framework explains in one line instead of a driver's traceback.

A table the code uses but the database lacks means a migration was not applied (or not
written): :func:`missing_table` recognises SQLite's and PostgreSQL's way of saying so,
and :class:`NotMigrated` is the 500 every adapter answers with, its detail the command
to run, never a traceback, in dev mode too.

Example:
    >>> missing_table(Exception("(sqlite3.OperationalError) no such table: invoices"))
    'invoices'
    >>> missing_table(Exception('relation "invoices" does not exist'))
    'invoices'
    >>> print(NotMigrated.for_table("invoices").detail)
    the database has no table 'invoices': run 'hyper db upgrade' (a new model needs a migration first: hyper db revision -m 'add invoices')
"""

from __future__ import annotations

import re
import socket

from ..errors import ServerError, ServiceUnavailable

_UNREACHABLE = frozenset({
    # asyncpg: connection-class SQLSTATEs (08xxx) and a server shutting down or starting (57P0x)
    "ConnectionDoesNotExistError", "ConnectionFailureError", "ClientCannotConnectError", "PostgresConnectionError",
    "CannotConnectNowError", "AdminShutdownError", "CrashShutdownError", "TooManyConnectionsError",
    "ConnectionRejectionError", "InvalidAuthorizationSpecificationError",
})
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error", "database table is locked")


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) says the database cannot be reached right now:
    a refused or dropped connection, a pool timeout, a server shutting down, a locked
    SQLite file. Not a bad query or a missing table: those stay 500s.

    >>> import sqlite3
    >>> unavailable(sqlite3.OperationalError("unable to open database file")), unavailable(ValueError("x"))
    (True, False)
    """
    from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout

    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        seen += 1
        if isinstance(current, (ConnectionError, TimeoutError, PoolTimeout, socket.gaierror)) or type(current).__name__ in _UNREACHABLE:
            return True
        if isinstance(current, OSError) and "connect" in str(current).lower():  # asyncio: "Multiple exceptions: Connect call failed"
            return True
        if type(current).__name__ == "OperationalError" and any(m in str(current).lower() for m in _SQLITE_UNAVAILABLE):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        nxt = getattr(current, "orig", None) if isinstance(current, DBAPIError) else None
        current = nxt if nxt is not None and nxt is not current else (current.__cause__ or current.__context__)
    return False


def service_unavailable() -> ServiceUnavailable:
    """The 503 every adapter answers when :func:`unavailable` says so."""
    return ServiceUnavailable("the database is unavailable; try again shortly", retry_after=5)


_MISSING = re.compile(r"""no such table: ["'`]?([\w.]+)|relation "([\w.]+)" does not exist""")


def missing_table(exc: BaseException) -> str | None:
    """The table a database error says does not exist, or None for any other error."""
    m = _MISSING.search(str(exc))
    if m is None:
        return None
    return m.group(1) or m.group(2)


class NotMigrated(ServerError):
    """500: the database lacks a table the code uses (a migration not applied or not written)."""

    code, title = "not-migrated", "Database Not Migrated"

    @classmethod
    def for_table(cls, table: str) -> NotMigrated:
        return cls(
            f"the database has no table {table!r}: run 'hyper db upgrade' "
            f"(a new model needs a migration first: hyper db revision -m 'add {table}')"
        )
