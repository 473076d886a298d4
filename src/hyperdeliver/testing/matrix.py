"""The generated permission-matrix test: every operation, called as every caller.

A project turns it on with one line in its tests::

    # tests/test_permissions.py
    from hyperdeliver.testing import permission_matrix

    test_permission_matrix = permission_matrix()

pytest then collects one test per operation and caller (``tasks.create_task-as-viewer``,
``tasks.create_task-as-admin-without-csrf``, ``auth.me-as-anonymous``…), read from the
app's registry when the tests are collected: an operation added to the app is covered
by the next run without anyone writing a test. Each test builds the caller on a fresh
app (the ``app`` fixture), calls the operation over HTTP with plausible path, query and
body values (:mod:`.values`), and checks the answer against :func:`.expectations.expected`:
401 or 403 where the declared roles and the hierarchy refuse the caller, 404 where a
scoped operation is called outside the caller's scopes, anything else
(200, 201, 404 from a missing row, 422) where they let it through. A handler that was
reached counts as let through whatever it answered, so its own checks (a wrong current
password answering 401) are not mistaken for the role check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .expectations import Caller, callers, expected, operations

if TYPE_CHECKING:
    from ..app import App
    from ..operations import Operation

TESTING_EXTRA = "pip install 'hyperdeliver[testing]'"
SCOPE_ID, OTHER_SCOPE_ID = "1", "2"
"""A scoped operation is called in scope id 1 (its lookup pinned there: the rows behind a
lookup are the app's data, its own tests check them); scope columns hold their roles in
id 1, or in id 2 for the "another" column."""
MATRIX_ATTRIBUTE = "hyperdeliver_permission_matrix"
"""Set on the generated test function: the plugin parametrizes functions carrying it."""


@dataclass(frozen=True)
class Case:
    """One cell of the matrix: an operation (by qualified name) and a caller."""

    operation: str
    caller: Caller

    @property
    def id(self) -> str:
        """The test id: ``tasks.create_task-as-viewer``."""
        return f"{self.operation}-as-{self.caller.name}"


@dataclass(frozen=True)
class MatrixOptions:
    """What :func:`permission_matrix` was asked for."""

    app: str | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()

    def selects(self, op: Operation) -> bool:
        names = {op.qualname, op.feature.name}
        if self.only and not names & set(self.only):
            return False
        return not names & set(self.skip)


def cases(app: App, options: MatrixOptions | None = None) -> list[Case]:
    """Every (operation, caller) cell the matrix test checks, in ``hyper routes`` order."""
    options = options or MatrixOptions()
    columns = callers(app)
    return [Case(op.qualname, c) for op in operations(app) if options.selects(op) for c in columns if c.applies_to(op)]


def permission_matrix(*, app: str | None = None, only: Iterable[str] = (), skip: Iterable[str] = ()) -> Callable[..., Any]:
    """The permission-matrix test function; assign it to a ``test_…`` name in a test module.

    Args:
        app: ``module:attribute`` of the app factory whose operations are listed (default:
            as the ``app`` fixture finds it: the ``hyperdeliver_app`` ini option,
            ``HYPER_APP``, or ``[tool.hyperdeliver] app`` in pyproject.toml).
        only: check only these operations or features (qualified or feature names).
        skip: leave out these operations or features.
    """
    try:
        import pytest
    except ImportError:  # pragma: no cover - pytest runs this
        raise ImportError(f"permission_matrix() is a pytest test: {TESTING_EXTRA}") from None

    @pytest.mark.asyncio
    async def test_permission_matrix(permission_case: Case, app: App) -> None:
        """One operation called as one caller answers what the roles and hierarchy say."""
        await check(app, permission_case)

    setattr(test_permission_matrix, MATRIX_ATTRIBUTE, MatrixOptions(app, tuple(only), tuple(skip)))
    return test_permission_matrix


async def check(app: App, case: Case) -> None:
    """Call ``case``'s operation as its caller on ``app`` (started, on a fresh database)
    and assert the outcome :func:`expected` says."""
    from .client import TestClient
    from .users import Users

    try:
        op = app.operation(case.operation)
    except KeyError:
        raise AssertionError(f"{case.operation} is not an operation of {app.name!r} any more") from None
    caller = case.caller
    check = op.scope_check
    async with TestClient(app, csrf=caller.csrf) as client:
        if caller.logged_in:
            users = Users(app)
            user = await users.create(*sorted(caller.roles))
            for role in sorted(caller.scope_roles):
                await app.memberships.grant(user.id, caller.scope or "", OTHER_SCOPE_ID if caller.elsewhere else SCOPE_ID, role)
            await users.log_in(client, user)
            caller = replace(caller, user_id=user.id)
        want = expected(app, op, caller)
        path, query, body = _inputs(op)
        url = op.path.format(**{k: quote(v, safe="") for k, v in path.items()})
        reached: list[bool] = []
        handler = op.handler

        async def spy(ctx: Any, **kwargs: Any) -> Any:
            reached.append(True)
            return await handler(ctx, **kwargs)

        op.handler = spy  # the controller reads op.handler per call
        if check is not None:
            op.scope_check = check.pin(SCOPE_ID)  # and op.scope_check: the call names scope id 1
        try:
            response = await client.request(op.method, url, params=query, json=body)
        finally:
            op.handler = handler
            op.scope_check = check
    status = response.status_code
    if not want.matches(status, bool(reached)):
        got = f"{status} from the handler" if reached else str(status)
        raise AssertionError(
            f"{case.id}: {op.method} {url} answered {got}, expected {want.value} "
            f"({_why(app, op, caller)}): {response.text[:300]}"
        )


def _inputs(op: Operation) -> tuple[dict[str, str], dict[str, str], Any]:
    from .values import Unfillable, for_operation

    try:
        return for_operation(op)
    except Unfillable as exc:
        raise AssertionError(f"{op.qualname}: {exc}; use permission_matrix(skip=[{op.qualname!r}]) and test it by hand") from None


def _why(app: App, op: Operation, caller: Caller) -> str:
    """The declaration behind an expectation, for the failure message."""
    declared = "PUBLIC" if op.public else ", ".join(sorted(op.roles or ())) or "nothing"
    if op.scope is not None:
        declared += f" in the {op.scope}"
    if not caller.logged_in:
        who = "no login"
    else:
        held = sorted(app.role_hierarchy.expand(caller.roles)) or ["no roles"]
        who = f"a user with {', '.join(held)}" + ("" if caller.csrf else ", no CSRF header")
        if caller.scope is not None:
            where = "another" if caller.elsewhere else "this"
            who += f", {', '.join(sorted(caller.scope_roles))} in {where} {caller.scope}"
    return f"declared roles: {declared}; caller: {who}"
