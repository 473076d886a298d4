"""The permission matrix's expectations: who may call which operation, from the declarations.

One function, :func:`expected`, says what a caller gets from an operation, following
the front controller's order: the lifecycle gate (a removed feature answers 410 to
everyone, a flag that is off for the caller 404), then the CSRF check of a
cookie-authenticated write (403), then the declared roles with the app's hierarchy
(401 without a login, 403 without a role that is enough); for a scoped operation the
roles held in its scope (404 without any there or with roles only in another one of the
scope's ids, 403 without one that is enough; the scope's global admin passes). The generated permission
tests (:func:`~hyperdeliver.testing.permission_matrix`) and ``hyper routes --matrix``
both read it, so they cannot disagree; a new kind of rule (scoped roles, say) is added
here and both follow.

Example:
    >>> from hyperdeliver import App, Feature, Settings
    >>> f = Feature("invoices", owner="ada@example.com")
    >>> @f.mutation("POST /invoices", roles={"member"})
    ... async def create_invoice(ctx) -> None: ...
    >>> app = App("acme", features=[f], roles=["viewer", "member", "admin"],
    ...           settings=Settings(env="test", database_url="sqlite://"))
    >>> op = app.operation("invoices.create_invoice")
    >>> {c.name: expected(app, op, c).value for c in callers(app)}  # doctest: +NORMALIZE_WHITESPACE
    {'anonymous': '401', 'no-role': '403', 'viewer': '403', 'member': 'ok', 'admin': 'ok',
     'admin-without-csrf': '403'}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ..roles import allows

if TYPE_CHECKING:
    from ..app import App
    from ..operations import Operation

DENIED = (401, 403)
"""The statuses that mean "the framework refused this caller"."""


class Outcome(str, Enum):
    """What a caller gets from an operation."""

    UNAUTHORIZED = "401"
    """Log in first."""
    FORBIDDEN = "403"
    """Logged in, but no role that is enough (or a cookie write without its CSRF token)."""
    NOT_FOUND = "404"
    """A feature flag that is off for this caller, or a scoped operation in a scope where
    the caller holds no role: it does not exist for them."""
    GONE = "410"
    """The feature was removed."""
    ALLOWED = "ok"
    """Let through: any answer but 401 and 403 (a 404 or 422 from the handler counts)."""

    def matches(self, status: int, reached: bool = False) -> bool:
        """Whether a call that answered ``status`` got this outcome. ``reached``: the
        handler ran, so whatever it answered, the framework let the caller through."""
        if self is Outcome.ALLOWED:
            return reached or status not in DENIED
        return not reached and status == int(self.value)


@dataclass(frozen=True)
class Caller:
    """Who calls, in a column of the matrix."""

    name: str
    """The column's name and the test id's suffix: ``anonymous``, ``no-role``, a role, ``admin-without-csrf``."""
    roles: frozenset[str] = frozenset()
    """The roles the caller's user holds (the hierarchy adds the roles they include)."""
    logged_in: bool = False
    """A user with a cookie session; False: no credentials at all."""
    csrf: bool = True
    """Whether the session's writes send the ``X-CSRF-Token`` header."""
    writes_only: bool = False
    """The column applies to mutations only (the CSRF check concerns writes)."""
    user_id: int | None = None
    """The caller's user once made (feature flags with a percentage rollout depend on it)."""
    scope: str | None = None
    """A scope column: the scope the caller holds ``scope_roles`` in (it applies to that scope's operations only)."""
    scope_roles: frozenset[str] = frozenset()
    """The roles held in the scope (its hierarchy adds the roles they include)."""
    elsewhere: bool = False
    """The roles are held in another id of the scope than the one the call names."""

    def applies_to(self, op: Operation) -> bool:
        if self.scope is not None and op.scope != self.scope:
            return False
        return op.kind == "mutation" or not self.writes_only


def top_role(app: App) -> str | None:
    """The role that includes the most others (the last declared among equals)."""
    h = app.role_hierarchy
    best: str | None = None
    for role in h.includes:
        if best is None or len(h.expand({role})) >= len(h.expand({best})):
            best = role
    return best


def callers(app: App) -> list[Caller]:
    """The matrix's columns: anonymous, a user without roles, one user per role of the
    hierarchy (lowest first, as declared), and the top role's cookie session sending
    writes without the CSRF header."""
    out = [Caller("anonymous"), Caller("no-role", logged_in=True)]
    out += [Caller(role, frozenset({role}), logged_in=True) for role in app.role_hierarchy.includes]
    top = top_role(app)
    if top is not None:
        out.append(Caller(f"{top}-without-csrf", frozenset({top}), logged_in=True, csrf=False, writes_only=True))
    for name, scope in app.scopes.items():
        # Per scope: a member with each of its roles in the scope the call names, and its
        # top role held in another one (which must not reach this one: 404).
        h = scope.hierarchy
        out += [Caller(f"{name}-{role}", logged_in=True, scope=name, scope_roles=frozenset({role})) for role in h.includes]
        best = max(h.includes, key=lambda r: len(h.expand({r})), default=None)
        if best is not None:
            out.append(Caller(f"{best}-of-another-{name}", logged_in=True, scope=name, scope_roles=frozenset({best}), elsewhere=True))
    return out


def expected(app: App, op: Operation, caller: Caller) -> Outcome:
    """What ``caller`` gets from ``op``: the one place the matrix's expectations are decided."""
    effective = app.role_hierarchy.expand(caller.roles)
    store = app.lifecycle
    state = store.rules.get(op.feature.name) if store is not None else None
    if state is not None:
        if state.lifecycle == "removed":
            return Outcome.GONE
        flag = state.flag
        if flag is not None and not flag.allows(caller.user_id if caller.logged_in else None, effective, state.feature):
            return Outcome.NOT_FOUND
    if op.kind == "mutation" and caller.logged_in and not caller.csrf:
        return Outcome.FORBIDDEN
    need = op.requirement
    if need is None:
        return Outcome.ALLOWED
    if not caller.logged_in:
        return Outcome.UNAUTHORIZED
    check = getattr(op, "scope_check", None)
    if check is not None:
        scope = check.scope
        if scope.global_admin is not None and scope.global_admin in effective:
            return Outcome.ALLOWED
        if caller.scope != scope.name or caller.elsewhere or not caller.scope_roles:
            return Outcome.NOT_FOUND
        if not allows(check.need, scope.hierarchy.expand(caller.scope_roles)):
            return Outcome.FORBIDDEN
        return Outcome.ALLOWED
    if not allows(need, effective):
        return Outcome.FORBIDDEN
    return Outcome.ALLOWED


def operations(app: App) -> list[Operation]:
    """The operations the matrix covers (every one the app serves), by path then method."""
    return sorted(app.operations, key=lambda o: (o.path, o.method, o.qualname))


def matrix(app: App, columns: Sequence[Caller] | None = None) -> list[tuple[Operation, dict[str, Outcome | None]]]:
    """Every operation with each caller's outcome (None where the column does not apply),
    what ``hyper routes --matrix`` prints."""
    columns = list(columns) if columns is not None else callers(app)
    return [
        (op, {c.name: expected(app, op, c) if c.applies_to(op) else None for c in columns}) for op in operations(app)
    ]
