"""The one error mapping: which HyperError a caller sees for an exception, whatever the transport."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError

from hyperdeliver.db.errors import NotMigrated
from hyperdeliver.error_map import error_for, known_error
from hyperdeliver.errors import Conflict, NotFound, ServerError, ServiceUnavailable, ValidationFailed


def test_a_hyper_error_is_its_own_answer() -> None:
    exc = NotFound("no task 7")
    assert error_for(exc, dev=False) is exc


def test_the_database_errors_the_framework_understands() -> None:
    refused = IntegrityError("INSERT ...", {}, sqlite3.IntegrityError("UNIQUE constraint failed: hd_users.email"))
    conflict = error_for(refused, dev=False)
    assert isinstance(conflict, Conflict) and "hd_users" not in conflict.detail
    assert "hd_users.email" in error_for(refused, dev=True).detail  # only dev mode names the table
    assert isinstance(error_for(OverflowError("Python int too large to convert to SQLite INTEGER"), dev=False), ValidationFailed)
    down = error_for(OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), dev=False)
    assert isinstance(down, ServiceUnavailable) and down.headers == {"Retry-After": "5"}
    missing = error_for(OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: invoices")), dev=False)
    assert isinstance(missing, NotMigrated) and "hyper db upgrade" in missing.detail


def test_anything_else_is_a_500_that_says_nothing_outside_dev() -> None:
    assert known_error(RuntimeError("boom"), dev=False) is None
    hidden = error_for(RuntimeError("boom: a secret"), dev=False)
    assert isinstance(hidden, ServerError) and "secret" not in hidden.detail and "traceback" not in hidden.extra
    shown = error_for(RuntimeError("boom: a secret"), dev=True)
    assert shown.detail == "RuntimeError: boom: a secret" and "RuntimeError" in "".join(shown.extra["traceback"])
