"""The front controller: the one pipeline every call goes through, whatever the adapter.

Adapters (REST, GraphQL, jobs) do their transport-specific parsing, then call
:meth:`FrontController.call`, which does, in this order: the lifecycle gate, the role
check, validation, the handler inside a unit of work, and usage recording.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .db.errors import NotMigrated
from .db.reads import FIRST, SNAPSHOT, ReadOnlyQuery, ReadState, current, refused_by_server
from .error_map import does_not_fit, known_error
from .errors import Forbidden, HyperError, NotFound, Unauthorized
from .operations import Operation
from .roles import allows

if TYPE_CHECKING:
    from .app import App
    from .context import Context
    from .operations import Invocable

log = logging.getLogger("hyperdeliver.error")

Gate = Callable[["Invocable", "Context"], None]
"""A lifecycle gate: raises (410, 404) or adds headers to the context."""
Observer = Callable[["Invocable", "Context", int, float], None]
"""Called after every call with (operation, context, status, seconds). Must not block."""
Runner = Callable[..., Awaitable[Any]]
"""One operation's pipeline: ``await run(ctx, validate, *args)`` (see :meth:`FrontController.call`)."""


def beyond_int32(kwargs: dict[str, Any], names: list[str]) -> bool:
    """Whether one of the path values ``names`` is an int outside 32 bits (PostgreSQL's INTEGER).

    >>> beyond_int32({"task_id": 2**40}, ["task_id"]), beyond_int32({"task_id": 7}, ["task_id"])
    (True, False)
    """
    for name in names:
        value = kwargs.get(name)
        if isinstance(value, int) and not -(2**31) <= value < 2**31:
            return True
    return False


class FrontController:
    def __init__(self, app: App) -> None:
        self.app = app
        # Plugins append to these lists; each operation's runner holds the lists themselves,
        # so a gate or observer appended later counts, and one assigned anew would not.
        self.gates: list[Gate] = []
        self.observers: list[Observer] = []
        self._runners: dict[Invocable, Runner] = {}
        self.snapshot_reads: set[Invocable] = set()
        """The queries seen running several statements: they start in one read-only transaction."""

    def record(self, op: Invocable, ctx: Context, status: int, seconds: float) -> None:
        """Tell the observers (usage, metrics) about a call that ended before its pipeline
        ran: its authentication or its body failed in the adapter. Every call is counted."""
        for obs in self.observers:
            obs(op, ctx, status, seconds)

    def runner(self, op: Invocable) -> Runner:
        """``op``'s pipeline (see :meth:`call`), built on first use and kept: what the
        operation's declaration decides (its roles, kind) is bound once; its handler and
        status, and the settings, are read per call (tests replace them)."""
        run = self._runners.get(op)
        if run is None:
            run = self._runners[op] = self._build(op)
        return run

    async def call(self, op: Invocable, ctx: Context, validate: Callable[..., dict[str, Any]], *args: Any) -> Any:
        """Gate, authorize, validate, run, record. ``validate(*args)`` is the adapter's
        parser, called only once the caller may call ``op`` (401/403 before 422).

        Authorization: 401 when a login is needed, 403 when the caller lacks every
        required role, 403 when a cookie-authenticated write lacks its CSRF token; a
        background task answers only the job path. A scoped operation's roles are checked
        after validation, in the scope its arguments name (:mod:`hyperdeliver.scopes`):
        404 without any role there, 403 without one that is enough.

        The handler runs inside a unit of work: the session it opened is committed on
        success and rolled back on any error, then the ``after_commit`` callbacks run.
        A query reads without a transaction until its second statement, then runs again in
        one read-only transaction (:mod:`hyperdeliver.db.reads`).
        """
        return await self.runner(op)(ctx, validate, *args)

    def _build(self, op: Invocable) -> Runner:
        gates, observers = self.gates, self.observers  # the lists, not copies: plugins append later
        is_task, is_mutation, qualname = op.kind == "task", op.kind == "mutation", op.qualname
        is_query = op.kind == "query"
        # A cookie-authenticated write needs its CSRF token: a mutation, or a page's form post.
        checks_csrf = is_mutation or (op.kind == "page" and isinstance(op, Operation) and op.method not in ("GET", "HEAD"))
        snapshot_reads = self.snapshot_reads
        # As RoleHierarchy.allows reads op.roles, computed once per operation (a task has none).
        # A scoped operation's roles are held in its scope: globally it needs only a login,
        # and its ScopeCheck (read per call: the permission matrix pins it) does the rest.
        scoped = not is_task and op.scope_check is not None
        need = None if is_task else (frozenset() if scoped else op.requirement)
        app = self.app
        path_names = [p.name for p in getattr(op, "path_params", ())]  # a Task has none

        async def run(ctx: Context, validate: Callable[..., dict[str, Any]], *args: Any) -> Any:
            start = perf_counter()
            status = 500
            try:
                for g in gates:
                    g(op, ctx)
                if is_task:
                    # Background tasks are internal: only the job path (worker, `hyper cron run`) runs them.
                    if ctx.interface != "job":
                        raise Forbidden(f"{qualname} is a background task: enqueue it with ctx.enqueue")
                else:
                    if ctx.auth_error is not None:
                        raise Unauthorized(ctx.auth_error, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
                    if checks_csrf and ctx.csrf_error is not None:
                        raise Forbidden(ctx.csrf_error)
                    if need is not None:
                        principal = ctx.principal
                        if principal.user_id is None:
                            raise Unauthorized("log in or send an API token", headers={"WWW-Authenticate": 'Bearer realm="api"'})
                        if not allows(need, principal.effective_roles):
                            raise Forbidden(f"{qualname} needs one of the roles {sorted(need)}")
                kwargs = validate(*args)
                try:
                    if scoped:
                        # 404 outside the caller's scopes, 403 without the role; a query's
                        # check reads on a connection of its own, outside its reads.
                        check = op.scope_check
                        assert check is not None  # scoped: the app built it
                        await check(ctx, kwargs)
                    if is_query:
                        result = await read(ctx, kwargs)
                    else:
                        result = await op.handler(ctx, **kwargs)
                        session = ctx._session
                        if session is not None:
                            await session.commit()
                        if ctx._core is not None:
                            await ctx._core.finish(commit=True)
                except BaseException as exc:
                    session = ctx._session
                    if session is not None and not is_query:
                        await session.rollback()
                    if ctx._core is not None:
                        await ctx._core.finish(commit=False)
                    if is_query and refused_by_server(exc):
                        raise ReadOnlyQuery.for_operation(qualname, "a write") from exc
                    if does_not_fit(exc) and beyond_int32(kwargs, path_names):
                        # A path names a resource; an id no 32-bit key column holds names none.
                        raise NotFound("no such entity (its id is out of range)") from exc
                    err = known_error(exc, app.settings.dev)
                    if err is not None and err is not exc:
                        if isinstance(err, NotMigrated):
                            log.error("%s: %s", qualname, err.detail)
                        raise err from exc
                    raise
                finally:
                    session = ctx._session
                    if session is not None:
                        ctx._session = None
                        await session.close()
                    if ctx._apart is not None:  # a query's connection kept from its scope check
                        await ctx._apart.close()
                for fn in ctx.after_commit:
                    fn()
                status = ctx.status or op.status
                return result
            except HyperError as exc:
                status = exc.status
                raise
            finally:
                if observers:
                    elapsed = perf_counter() - start
                    for obs in observers:
                        obs(op, ctx, status, elapsed)

        async def read(ctx: Context, kwargs: dict[str, Any]) -> Any:
            """A query's handler: run without a transaction; run again in one snapshot when
            it reaches a second statement (the session is closed, never committed)."""
            state = ctx._reads = ReadState(SNAPSHOT if op in snapshot_reads else FIRST, qualname)
            try:
                if state.mode == SNAPSHOT and ctx._apart is not None:
                    await ctx._apart.close()  # the scope check's connection: no first read to keep it for
                extras = ctx.response_headers, ctx.set_cookies, ctx.status, ctx.after_commit, ctx.events
                try:
                    result = await op.handler(ctx, **kwargs)
                    if not state.restart:
                        return result
                except Exception:
                    if not state.restart:
                        raise
                snapshot_reads.add(op)
                session, ctx._session = ctx._session, None
                if session is not None:
                    await session.close()
                if ctx._apart is not None:
                    await ctx._apart.close()
                ctx.response_headers, ctx.set_cookies, ctx.status, ctx.after_commit, ctx.events = extras
                state.mode, state.restart = SNAPSHOT, False
                return await op.handler(ctx, **kwargs)
            finally:
                if state.token is not None:
                    current.reset(state.token)
                    state.token = None

        return run
