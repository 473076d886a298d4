"""Scoped roles: a role held within one scope (a workspace, an organisation), declared on
the operation and checked by the front controller.

An app declares its scopes; an operation names the scope its roles are held in; the
controller finds the scope id in the call's arguments (``workspace_id``, or a child
object's id resolved by one declared :class:`Lookup`), loads the caller's roles there
(one indexed query, joined with the lookup, cached per request) and answers:

- 404 when the caller holds no role in that scope (or the object does not exist): the
  same answer either way, so nothing is revealed about what exists elsewhere;
- 403 when they hold a role there but not one the operation needs;
- otherwise the handler runs, with ``ctx.scope`` saying where and with which roles.

A user holding the scope's ``global_admin`` role globally passes every check (the
dashboard's and support's view of every tenant).

Example:
    >>> from hyperdeliver import App, Feature, Lookup, Scope, Settings
    >>> from hyperdeliver.demo.teamboard.features.projects.models import Project
    >>> board = Feature("board", owner="ada@example.com")
    >>> @board.query("GET /projects/{project_id}/summary", roles={"viewer"}, scope="workspace")
    ... async def summary(ctx, project_id: int) -> dict[str, str]:
    ...     return {"workspace": ctx.scope.id}
    >>> workspace = Scope("workspace", lookups=[Lookup("project_id", Project.workspace_id)])
    >>> app = App("acme", features=[board], roles=["viewer", "member", "admin"], scopes=[workspace],
    ...           settings=Settings(env="test", database_url="sqlite://"))
    >>> check = app.operation("board.summary").scope_check
    >>> check.scope.name, check.param, check.lookup.param
    ('workspace', 'project_id', 'project_id')
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import FromClause, String, and_, bindparam, cast, literal, select

from .db.direct import Direct
from .errors import ConfigurationError, Forbidden, NotFound
from .roles import AUTHENTICATED, PUBLIC, RoleHierarchy, allows, requirement

if TYPE_CHECKING:
    from .context import Context

LookupFn = Callable[["Context", Any], Awaitable[Any]]
"""``async def fn(ctx, value) -> scope id or None`` (None: no such object)."""


class Lookup:
    """How a child object's id (an argument named ``param``) resolves to its scope's id.

    Either a chain of columns, each a foreign key followed to the next table, ending at
    the scope id: ``Lookup("comment_id", Comment.task_id, Task.project_id, Project.workspace_id)``
    (a comment's task's project's workspace: one query with joins, in which the
    caller's memberships are joined too); or one async function
    ``Lookup("task_id", fn)`` returning the scope id or None.
    """

    def __init__(self, param: str, *path: Any) -> None:
        if not path:
            raise ConfigurationError(f"Lookup({param!r}) needs columns (Task.project_id, Project.workspace_id) or a function")
        self.param = param
        self.fn: LookupFn | None = None
        self.columns: list[Any] = []
        if len(path) == 1 and callable(path[0]) and not hasattr(path[0], "__clause_element__"):
            self.fn = path[0]
        else:
            for p in path:
                col = p.__clause_element__() if hasattr(p, "__clause_element__") else p
                if getattr(col, "table", None) is None:
                    raise ConfigurationError(f"Lookup({param!r}): {p!r} is not a table column")
                self.columns.append(col)

    def __repr__(self) -> str:
        if self.fn is not None:
            return f"Lookup({self.param!r}, {getattr(self.fn, '__name__', self.fn)})"
        return f"Lookup({self.param!r}, {' -> '.join(f'{c.table.name}.{c.name}' for c in self.columns)})"

    @property
    def noun(self) -> str:
        return _noun(self.param)

    def statement(self, scope: str, m: FromClause) -> Any:
        """``SELECT scope_id, role`` for one object id and one user: the chain of joins
        from the object to its scope id, outer-joined with the user's memberships there
        (``m``, the memberships table)."""
        first = self.columns[0].table
        (pk,) = first.primary_key.columns
        frm: Any = first
        prev = self.columns[0]
        for col in self.columns[1:]:
            (next_pk,) = col.table.primary_key.columns
            frm = frm.join(col.table, next_pk == prev)
            prev = col
        scope_col = self.columns[-1]
        frm = frm.outerjoin(
            m,
            and_(
                m.c.user_id == bindparam("user_id"),
                m.c.scope == literal(scope),
                m.c.scope_id == cast(scope_col, String),
            ),
        )
        return select(scope_col, m.c.role).select_from(frm).where(pk == bindparam("value", type_=pk.type))


@dataclass
class Scope:
    """A kind of scope roles can be held in (``App(scopes=[Scope("workspace", ...)])``).

    Args:
        name: the scope's name, as operations name it (``scope="workspace"``).
        roles: the roles held within it, lowest first, or ``role -> roles it includes``;
            default: the app's own role hierarchy.
        lookups: how child objects' ids resolve to this scope's id, one :class:`Lookup`
            per argument name (``project_id``, ``task_id``…), shared by every operation.
        param: the argument that names the scope directly (default ``<name>_id``).
        global_admin: the global role whose holders pass every check in this scope, as if
            they held its top role (the dashboard's view); None: nobody.
    """

    name: str
    roles: Sequence[str] | Mapping[str, Iterable[str]] | None = None
    lookups: Sequence[Lookup] = ()
    param: str = ""
    global_admin: str | None = "admin"
    hierarchy: RoleHierarchy = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ConfigurationError(f"scope name {self.name!r} must be letters, digits or '_'")
        self.param = self.param or f"{self.name}_id"
        seen = {self.param}
        for lk in self.lookups:
            if lk.param in seen:
                raise ConfigurationError(f"scope {self.name!r}: two ways to read {lk.param!r}")
            seen.add(lk.param)
        self.by_param = {lk.param: lk for lk in self.lookups}
        if self.roles is not None:
            self.hierarchy = RoleHierarchy(self.roles)

    def lookup_for(self, names: Iterable[str]) -> tuple[str, Lookup | None]:
        """Which of an operation's argument ``names`` names this scope: ``(param, lookup)``."""
        names = list(names)
        if self.param in names:
            return self.param, None
        found = [n for n in names if n in self.by_param]
        if len(found) != 1:
            raise LookupError(found)
        return found[0], self.by_param[found[0]]


@dataclass(frozen=True)
class ScopeAccess:
    """Where a scoped call runs and with what (``ctx.scope``)."""

    name: str
    """The scope's name: ``"workspace"``."""
    id: str
    """The scope's id, as text: ``"3"``."""
    roles: frozenset[str]
    """The caller's effective roles there (the scope's hierarchy applied; every role for a global admin)."""
    global_admin: bool = False
    """The caller passed as a global admin, not as a member."""

    def has_role(self, role: str) -> bool:
        return role in self.roles


def _noun(param: str) -> str:
    return param[:-3].replace("_", " ") if param.endswith("_id") else param.replace("_", " ")


class ScopeCheck:
    """One operation's (or task's) scope check, built at start-up from its declaration."""

    def __init__(
        self, scope: Scope, param: str, lookup: Lookup | None, roles: frozenset[str], qualname: str, body: str | None, memberships: FromClause
    ) -> None:
        self.scope = scope
        self.param = param
        self.lookup = lookup
        self.need = requirement(roles) if roles is not None else frozenset()
        self.qualname = qualname
        self.body = body
        """The body parameter whose field ``param`` is; None: ``param`` is an argument itself."""
        self.memberships = memberships
        """The table of scoped roles (``hd_memberships``), handed in by the App: the core names no service's table."""
        self.pinned: str | None = None
        self._statement: Any = None
        """The check's one statement (a :class:`~.db.direct.Direct`), built on its first call."""

    def value(self, kwargs: Mapping[str, Any]) -> Any:
        if self.body is not None:
            return getattr(kwargs.get(self.body), self.param, None)
        return kwargs.get(self.param)

    def pin(self, scope_id: str) -> ScopeCheck:
        """This check with the scope id fixed (the permission matrix: the data behind a
        lookup is the app's; the decision is the framework's)."""
        out = ScopeCheck(self.scope, self.param, None, frozenset(), self.qualname, self.body, self.memberships)
        out.need, out.pinned = self.need, scope_id
        return out

    async def resolve(self, ctx: Context, value: Any) -> tuple[str | None, frozenset[str]]:
        """(scope id or None when the object does not exist, the caller's granted roles
        there): one query, remembered for the rest of the request."""
        cache = ctx.scope_cache
        key = (self.scope.name, self.param, value) if self.lookup is not None else (self.scope.name, "", str(value))
        hit = cache.get(key)
        if hit is not None:
            # A GraphQL request's fields run concurrently: a lookup under way is awaited, not repeated.
            return await hit if isinstance(hit, asyncio.Future) else hit  # type: ignore[no-any-return]
        pending: asyncio.Future[tuple[str | None, frozenset[str]]] = asyncio.get_running_loop().create_future()
        cache[key] = pending
        try:
            out = await self._load(ctx, value)
        except BaseException as exc:
            del cache[key]
            if isinstance(exc, asyncio.CancelledError):
                pending.cancel()
            else:
                pending.set_exception(exc)
                pending.exception()  # retrieved: nobody else may be waiting
            raise
        pending.set_result(out)
        cache[key] = out
        if out[0] is not None:
            cache.setdefault((self.scope.name, "", out[0]), out)
        return out

    async def _load(self, ctx: Context, value: Any) -> tuple[str | None, frozenset[str]]:
        user_id = ctx.principal.user_id
        lookup = self.lookup
        if lookup is not None and lookup.fn is None:
            if self._statement is None:
                self._statement = Direct(lookup.statement(self.scope.name, self.memberships))
            rows = await _rows(ctx, self._statement, {"user_id": user_id, "value": value})
            scope_id = None if not rows or rows[0][0] is None else str(rows[0][0])
            roles = frozenset(r[1] for r in rows if r[1] is not None)
        else:
            if lookup is not None and lookup.fn is not None:
                found = await lookup.fn(ctx, value)
                scope_id = None if found is None else str(found)
            else:
                scope_id = self.pinned if self.pinned is not None else (None if value is None else str(value))
            if scope_id is None:
                roles = frozenset()
            else:
                if self._statement is None:
                    self._statement = Direct(_roles_statement(self.memberships))
                rows = await _rows(ctx, self._statement, {"user_id": user_id, "scope": self.scope.name, "scope_id": scope_id})
                roles = frozenset(r[0] for r in rows)
        return scope_id, roles

    async def access(self, ctx: Context, value: Any) -> ScopeAccess:
        """The caller's access in the scope ``value`` names, or NotFound (no role there,
        or no such object: one answer for both)."""
        scope = self.scope
        scope_id, granted = await self.resolve(ctx, value)
        is_admin = scope.global_admin is not None and scope.global_admin in ctx.principal.effective_roles
        if scope_id is None or (not granted and not is_admin):
            raise NotFound(f"no {self.lookup.noun if self.lookup is not None else _noun(self.param)} {value}")
        roles = scope.hierarchy.names if is_admin else scope.hierarchy.expand(granted)
        return ScopeAccess(scope.name, scope_id, roles, is_admin and not granted)

    async def __call__(self, ctx: Context, kwargs: Mapping[str, Any]) -> None:
        """The controller's check: sets ``ctx.scope`` or raises 404/403."""
        access = await self.access(ctx, self.value(kwargs))
        need = self.need
        if not allows(need, access.roles):
            raise Forbidden(f"{self.qualname} needs one of the roles {sorted(need or ())} in this {self.scope.name}")
        ctx.scope = access


def _roles_statement(m: FromClause) -> Any:
    """``SELECT role`` of one user in one scope (``m``, the memberships table)."""
    return select(m.c.role).where(m.c.user_id == bindparam("user_id"), m.c.scope == bindparam("scope"), m.c.scope_id == bindparam("scope_id"))


async def _rows(ctx: Context, statement: Any, params: Mapping[str, Any] | None) -> Sequence[Any]:
    """The check's rows. A query's check reads apart from its handler's session, outside
    any transaction (the handler's one read keeps its fast path and, where the database
    keeps it, the check's connection; see :class:`.db.reads.Apart`); a mutation's check
    reads in the call's transaction, as ``ctx.rows`` does (Core, no ORM session opened for
    the handler's own Core statements to follow)."""
    op = ctx.operation
    if op is not None and op.kind == "query" and ctx._session is None:
        _, rows = await ctx._reads_apart().rows(statement, params)
        return rows
    _, rows = await ctx._run(statement, dict(params or {}))
    return rows


def build_check(scopes: Mapping[str, Scope], target: Any, names: Sequence[str], body: Any = None, *, memberships: FromClause) -> ScopeCheck:
    """``target``'s (an Operation or Task) ScopeCheck from its ``scope``/``scope_at``
    declaration and its argument ``names``, reading roles from ``memberships`` (the
    ``hd_memberships`` table); a ConfigurationError says what is wrong."""
    label = target.qualname
    scope = scopes.get(target.scope)
    if scope is None:
        raise ConfigurationError(
            f"hd.E004 {label} names scope {target.scope!r}; the app declares {sorted(scopes) or 'none'} (App(scopes=[Scope(...)]))"
        )
    roles = getattr(target, "roles", None)
    if roles is not None and PUBLIC in roles:
        raise ConfigurationError(f"hd.E004 {label}: a PUBLIC operation cannot be scoped")
    at = target.scope_at
    lookup: Lookup | None = None
    if isinstance(at, Lookup):
        param, lookup = at.param, at
    elif isinstance(at, str):
        param = at
        lookup = scope.by_param.get(at)
    else:
        candidates = list(names)
        body_fields: list[str] = []
        if body is not None:
            body_fields = list(getattr(body.annotation, "model_fields", {}))
        try:
            param, lookup = scope.lookup_for(candidates)
        except LookupError as exc:
            if not exc.args[0] and scope.param in body_fields:
                param, lookup = scope.param, None
            else:
                hint = f"found {exc.args[0]}" if exc.args[0] else "found none"
                raise ConfigurationError(
                    f"hd.E005 {label} is scoped to {scope.name!r} but its arguments name it {'ambiguously' if exc.args[0] else 'nowhere'} "
                    f"({hint}; expected {scope.param!r} or one of {sorted(scope.by_param)}): say scope_at='...'"
                ) from None
    field_of = None
    if param not in names:
        if body is not None and param in getattr(body.annotation, "model_fields", {}):
            field_of = body.name
        else:
            raise ConfigurationError(f"hd.E005 {label}: scope_at {param!r} is not one of its arguments")
    need = frozenset() if roles is None or roles == {AUTHENTICATED} or getattr(target, "kind", "") == "task" else roles
    unknown = scope.hierarchy.unknown(need)
    if unknown:
        raise ConfigurationError(
            f"hd.E002 {label} names unknown roles {sorted(unknown)} in scope {scope.name!r}; it declares {sorted(scope.hierarchy.names)}"
        )
    return ScopeCheck(scope, param, lookup, need, label, field_of, memberships)
