"""The framework's own statements on the DB-API cursor: compiled once, no execution context.

Every scoped call runs one statement of the framework's before its handler: the scope
check's ``SELECT scope_id, role`` (:mod:`..scopes`). Through ``Connection.execute`` a
statement pays for SQLAlchemy's execution context and result (parameter and type
processing, result metadata, the row factory): about 110,000 instructions here, as much
again as the driver's own work. A statement the framework builds needs none of it when
its parameters and columns have no type processing, so :class:`Direct` keeps the SQL
SQLAlchemy compiled for it (once per dialect) and runs it on the DB-API cursor of the
same connection. The transaction and the connection are the ``Connection``'s own, and on
asyncpg SQLAlchemy's adapter still prepares the statement once per connection.

It gives way to ``Connection.execute`` whenever that would do more than run the SQL:

- when anything listens to the engine's statements (``echo``, or a
  ``before_cursor_execute``/``after_cursor_execute``/``handle_error`` listener, as
  tracing and query logs use): they see the framework's statements too;
- when a parameter or a column needs processing on this dialect (a ``TypeDecorator``, a
  UUID where the driver has none, an ``IN`` list to expand);
- when the connection has execution options (a ``schema_translate_map`` changes the SQL).

A driver error is raised as SQLAlchemy raises it (``sqlalchemy.exc.DBAPIError``'s
subclasses, the statement attached), and a lost connection, or one whose statement was
cancelled midway, is invalidated, as ``Connection.execute`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select


class Direct:
    """A ``select()`` of the framework's, run on the DB-API cursor where nothing is lost by it."""

    __slots__ = ("statement", "keys", "_plans")

    is_select = True
    """Read by :class:`.core.CoreTransaction`: a read, which takes no writer lock on SQLite."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.keys = [column.key or "" for column in statement.selected_columns]
        self._plans: dict[Dialect, tuple[Any, tuple[str, ...] | None] | None] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The statement's rows (tuples of its columns) on ``conn``, directly or not."""
        dialect = conn.dialect
        try:
            plan = self._plans[dialect]
        except KeyError:
            plan = self._plans[dialect] = self._plan(dialect)
        if plan is None or _watched(conn):
            return conn.execute(self.statement, params).all()
        compiled, order = plan
        values = compiled.construct_params(params)
        args = tuple(values[name] for name in order) if order is not None else values
        cursor = conn.connection.cursor()
        try:
            cursor.execute(compiled.string, args)
            return cursor.fetchall()  # type: ignore[no-any-return]
        except dialect.loaded_dbapi.Error as exc:
            lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
            if lost:
                conn.invalidate(exc)
            raise DBAPIError.instance(compiled.string, args, exc, dialect.loaded_dbapi.Error, hide_parameters=conn.engine.hide_parameters,
                                      connection_invalidated=lost, dialect=dialect) from exc
        except BaseException as exc:
            if not isinstance(exc, Exception) or isinstance(exc, TimeoutError):  # cancelled midway: the driver's state is unknown
                conn.invalidate(exc)
            raise
        finally:
            cursor.close()

    def _plan(self, dialect: Dialect) -> tuple[Any, tuple[str, ...] | None] | None:
        """The compiled statement and its positional parameters' order, or None when a
        parameter or a column needs what ``Connection.execute`` does."""
        compiled = self.statement.compile(dialect=dialect)
        for bind in compiled.binds.values():
            if bind.expanding or bind.literal_execute or bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                return None
        for column in self.statement.selected_columns:
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
                return None
        return compiled, (tuple(compiled.positiontup or ()) if compiled.positional else None)


def _watched(conn: Connection) -> bool:
    """Whether anything would see or change a statement on its way through
    ``Connection.execute`` on ``conn``: ``echo``, execution options (a
    ``schema_translate_map`` changes the SQL), listeners of cursor executes or of errors."""
    dispatch = conn.dispatch
    return bool(conn.engine.echo or conn.get_execution_options() or dispatch.before_cursor_execute
                or dispatch.after_cursor_execute or conn.dialect.dispatch.handle_error)


def keys_and_rows(conn: Connection, statement: Any, params: Any) -> tuple[list[str], Sequence[Any]]:
    """``statement``'s column names and rows on ``conn`` (none for a statement without
    rows); a :class:`Direct` runs directly where it can."""
    if isinstance(statement, Direct):
        return statement.keys, statement.rows(conn, params)
    result = conn.execute(statement, params)
    if not result.returns_rows:
        return [], ()
    return list(result.keys()), result.all()
