"""Context: what a handler receives. ``ctx.db`` is this call's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from .auth.principal import NO_COOKIES, Principal
from .db.core import CoreTransaction
from .db.direct import Direct
from .db.reads import FIRST, Apart, first_rows, plain_select
from .db.rows import models_of
from .errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy.sql import Executable

    from .app import App
    from .db.reads import ReadState
    from .operations import Invocable
    from .scopes import ScopeAccess

M = TypeVar("M")


class Context:
    """Per-call state: the caller, the unit of work, response extras.

    The database session is opened on first use of :attr:`db`, and committed or rolled
    back by the front controller when the handler returns or raises. A query's session
    reads without a transaction until its second statement (see :mod:`hyperdeliver.db.reads`).
    """

    __slots__ = (
        "app",
        "request_id",
        "principal",
        "interface",
        "operation",
        "client_ip",
        "_session",
        "_reads",
        "_apart",
        "_core",
        "response_headers",
        "cookies",
        "set_cookies",
        "status",
        "after_commit",
        "events",
        "auth_error",
        "csrf_error",
        "scope",
        "_scope_cache",
    )

    def __init__(
        self,
        app: App,
        request_id: str,
        principal: Principal,
        interface: str,
        operation: Invocable | None = None,
        client_ip: str = "",
        cookies: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.request_id = request_id
        self.principal = principal
        self.interface = interface
        self.operation = operation
        self.client_ip = client_ip
        self.cookies: Mapping[str, str] = cookies if cookies is not None else NO_COOKIES
        self._session: AsyncSession | None = None
        self._reads: ReadState | None = None
        """Set by the front controller for a query: how its session reads."""
        self._apart: Apart | None = None
        """A query's reads apart from its session (the scope check's, the handler's first);
        the front controller gives back a connection still kept at the call's end."""
        self._core: CoreTransaction | None = None
        """Set by the front controller for a mutation: its Core statements' transaction."""
        # Empty tuples until something is added: most calls add nothing, and a call
        # should not pay for four lists it never uses.
        self.response_headers: Sequence[tuple[str, str]] = ()
        self.set_cookies: Sequence[str] = ()
        self.status: int | None = None
        self.after_commit: Sequence[Callable[[], Any]] = ()
        self.events: Sequence[tuple[str, dict[str, Any]]] = ()
        self.auth_error: str | None = None
        self.csrf_error: str | None = None
        self.scope: ScopeAccess | None = None
        """A scoped call's scope: its name, id and the caller's roles there (None: not scoped)."""
        self._scope_cache: dict[Any, Any] | None = None

    @property
    def user(self) -> Principal:
        """The caller (``ctx.user.user_id`` is None when anonymous)."""
        return self.principal

    @property
    def db(self) -> AsyncSession:
        """This call's SQLAlchemy AsyncSession; one transaction, committed by the controller."""
        if self._session is None:
            reads, database = self._reads, self.app.database
            if self._core is not None and self._core.conn is not None:
                self._session = self._core.session(database.sessionmaker)
            elif reads is None:
                self._session = database.session()
            else:
                reads.watching()
                self._session = database.read_session() if reads.mode == FIRST else database.snapshot_session()
        return self._session

    async def rows(self, statement: Executable, model: type[M], /, **params: Any) -> list[M]:
        """Run ``statement`` (a ``select()`` of columns, ``params`` its bound parameters)
        in this call's session and return its rows as ``model`` instances, validated once
        from the columns (named as the model's fields, ``.label()`` renames): no ORM object
        is built, and a handler that returns the list (as ``list[model]``) is not
        validated a second time.

        A statement built once (``bindparam`` for what changes) is not built and keyed
        again per call: SQLAlchemy finds its compiled form straight away, and asyncpg its
        prepared statement.

        Example: ``return await ctx.rows(select(tasks.c.id, tasks.c.title).where(...), TaskOut)``
        """
        keys, found = await self._run(statement, params)
        return models_of(keys, found, model)

    async def scalar(self, statement: Executable, /, **params: Any) -> Any:
        """The first column of ``statement``'s first row (None without one), run as
        :meth:`rows` runs it: ``await ctx.scalar(select(t.c.id).where(t.c.id == bindparam("id")), id=7)``."""
        _, found = await self._run(statement, params)
        return found[0][0] if found else None

    async def _run(self, statement: Executable, params: dict[str, Any]) -> tuple[Sequence[str], Sequence[Any]]:
        if self._session is None:
            reads, core = self._reads, self._core
            if reads is not None and reads.mode == FIRST and plain_select(statement):
                # A query's first statement: Core outside any transaction, on the scope
                # check's connection where kept, given back after it (a second statement
                # runs the handler again in a snapshot).
                return await first_rows(self._reads_apart(), statement, params or None, reads)
            if core is None and reads is None and self.operation is not None and self.operation.kind == "mutation":
                database = self.app.database
                core = self._core = CoreTransaction(database.engine, database.writer)
            if core is not None:
                return await core.run(statement, params or None)
        if isinstance(statement, Direct):  # the scope check's, in an ORM session: SQLAlchemy's path
            statement = statement.statement
        result = await self.db.execute(statement, params or None)
        if not getattr(result, "returns_rows", True):  # a CursorResult of a statement without rows (an ORM result has rows)
            return (), ()
        return list(result.keys()), result.all()

    def _reads_apart(self) -> Apart:
        """This query call's :class:`~.db.reads.Apart` (made on first use)."""
        apart = self._apart
        if apart is None:
            database = self.app.database
            apart = self._apart = Apart(database.rows_engine, database.keep_apart)
        return apart

    @property
    def scope_cache(self) -> dict[Any, Any]:
        """The caller's scoped roles loaded so far in this request (shared by a GraphQL request's fields)."""
        if self._scope_cache is None:
            self._scope_cache = {}
        return self._scope_cache

    @property
    def settings(self) -> Any:
        return self.app.settings

    def set_header(self, name: str, value: str) -> None:
        """Add a response header (sent with errors too)."""
        self.add_headers([(name, value)])

    def add_headers(self, headers: Iterable[tuple[str, str]]) -> None:
        self.response_headers = [*self.response_headers, *headers]

    def on_commit(self, fn: Callable[[], Any]) -> None:
        """Call ``fn`` once this call's transaction has committed (not at all on a rollback)."""
        self.after_commit = [*self.after_commit, fn]

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        http_only: bool = True,
        same_site: str = "lax",
        path: str = "/",
    ) -> None:
        parts = [f"{name}={value}", f"Path={path}", f"SameSite={same_site}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if http_only:
            parts.append("HttpOnly")
        if self.app.settings.cookies_secure:
            parts.append("Secure")
        self.set_cookies = [*self.set_cookies, "; ".join(parts)]

    def delete_cookie(self, name: str, path: str = "/") -> None:
        secure = "; Secure" if self.app.settings.cookies_secure else ""
        self.set_cookies = [*self.set_cookies, f"{name}=; Path={path}; Max-Age=0; SameSite=lax{secure}"]

    def track(self, event: str, **props: Any) -> None:
        """Record a product event (recorded after the call's transaction commits)."""
        self.events = [*self.events, (event, props)]

    async def enqueue(self, task: Any, /, **kwargs: Any) -> Any:
        """Enqueue a background job in this call's transaction (nothing if it rolls back)."""
        jobs = self.app.jobs
        if jobs is None:
            raise ConfigurationError("this app has no job queue (its plugins= leave out hyperdeliver.jobs.JobsPlugin)")
        return await jobs.enqueue(self, task, **kwargs)
