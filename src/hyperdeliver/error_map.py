"""The one error mapping: the :class:`~hyperdeliver.errors.HyperError` a caller sees for
any exception a call raises, whatever the transport.

Each transport renders that one answer its own way, built on this: problem+json over
HTTP (:class:`hyperdeliver.http.problem.ProblemResponse`), a GraphQL error with
``extensions.code`` (:func:`hyperdeliver.graphql.errors.graphql_error`).

Example:
    >>> error_for(ValueError("boom"), dev=False).status
    500
    >>> import sqlite3
    >>> error_for(sqlite3.OperationalError("database is locked"), dev=False).headers
    {'Retry-After': '5'}
"""

from __future__ import annotations

import traceback

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from .db.errors import NotMigrated, missing_table, service_unavailable, unavailable
from .errors import Conflict, HyperError, ServerError, ValidationFailed, first_line

DOES_NOT_FIT = "a value in the request does not fit the database (a number out of range?)"


def known_error(exc: BaseException, dev: bool) -> HyperError | None:
    """The answer for an exception the framework understands, else None (a bug: a 500).

    A HyperError is its own answer. A write the database refused is a 409, a value out
    of its column's range a 422, an unreachable database a 503 (``Retry-After``), a
    missing table a one-line 500 naming the migration to run.
    """
    if isinstance(exc, HyperError):
        return exc
    if isinstance(exc, IntegrityError):
        return conflict(exc, dev)
    if does_not_fit(exc):
        return ValidationFailed([], DOES_NOT_FIT)
    if unavailable(exc):
        return service_unavailable()
    table = missing_table(exc)
    if table is not None:
        return NotMigrated.for_table(table)
    return None


def error_for(exc: BaseException, dev: bool) -> HyperError:
    """The answer for any exception: :func:`known_error`'s, else a 500 that says nothing
    of the error outside dev mode (in dev: its type, message and traceback)."""
    known = known_error(exc, dev)
    if known is not None:
        return known
    if not dev:
        return ServerError("an unexpected error occurred; the request id is in the logs")
    err = ServerError(f"{type(exc).__name__}: {exc}")
    err.extra["traceback"] = traceback.format_exception(exc)
    return err


def conflict(exc: IntegrityError, dev: bool) -> Conflict:
    """409 for a write the database refused (a unique, foreign-key, not-null or check
    constraint): the caller's input clashes with stored data, which is not a server
    error. The database's own message names tables and columns, so only dev mode shows it."""
    detail = "the change conflicts with the stored data: a unique, foreign-key, not-null or check constraint refused it"
    if dev:
        detail += f" ({first_line(exc.orig if exc.orig is not None else exc)})"
    return Conflict(detail)


def does_not_fit(exc: BaseException) -> bool:
    """Whether the database driver refused a value the caller sent as out of its column's
    range or type: a DB-API ``DataError`` (asyncpg's "value out of int32 range" arrives
    wrapped in a plain ``DBAPIError``), or sqlite3's overflow of a 64-bit INTEGER."""
    if isinstance(exc, DataError):
        return True
    if isinstance(exc, DBAPIError):
        cause = exc.orig.__cause__ if exc.orig is not None else None
        return type(cause).__name__ == "DataError"
    return isinstance(exc, OverflowError) and "SQLite INTEGER" in str(exc)
