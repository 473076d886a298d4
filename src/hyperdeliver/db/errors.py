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

from ..errors import HyperError, ServerError

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


class PoolExhausted(HyperError):
    """503: every pooled connection stayed in use for ``db_pool_timeout`` seconds."""

    status, code, title = 503, "database-busy", "Database Busy"

    @classmethod
    def after(cls, seconds: float) -> PoolExhausted:
        return cls(f"no database connection came free within {seconds:g} s: try again", headers={"Retry-After": "1"})
