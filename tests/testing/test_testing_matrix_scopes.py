"""The permission matrix on scoped operations: its scope columns, and a leak it catches."""

from __future__ import annotations

import pytest

from hyperdeliver import App
from hyperdeliver.testing import Outcome, callers, expected
from hyperdeliver.testing.matrix import Case, cases, check


def test_scoped_operations_get_a_column_per_scoped_role_and_another_scopes_admin(app: App) -> None:
    names = [c.name for c in callers(app)]
    assert names[-4:] == ["workspace-viewer", "workspace-member", "workspace-admin", "admin-of-another-workspace"]
    delete_task = app.operation("tasks.delete_task")  # roles={"admin"}, scope="workspace"
    got = {c.name: expected(app, delete_task, c) for c in callers(app) if c.applies_to(delete_task)}
    assert got == {
        "anonymous": Outcome.UNAUTHORIZED,
        "no-role": Outcome.NOT_FOUND,  # no membership
        "viewer": Outcome.NOT_FOUND,
        "member": Outcome.NOT_FOUND,  # a global role is not a workspace role
        "admin": Outcome.ALLOWED,  # the global admin: every workspace
        "admin-without-csrf": Outcome.FORBIDDEN,
        "workspace-viewer": Outcome.FORBIDDEN,
        "workspace-member": Outcome.FORBIDDEN,
        "workspace-admin": Outcome.ALLOWED,
        "admin-of-another-workspace": Outcome.NOT_FOUND,  # admin elsewhere: nothing here
    }
    # The scope columns concern the scope's operations only.
    me = app.operation("auth.me")
    assert not any(c.applies_to(me) for c in callers(app) if c.scope is not None)
    assert sum(1 for c in cases(app) if c.operation == "tasks.delete_task") == 10


async def test_the_matrix_fails_when_another_scopes_admin_gets_through(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    [case] = [c for c in cases(app) if c.id == "tasks.delete_task-as-admin-of-another-workspace"]
    # (As declared it answers 404 without reaching the handler: tests/demo's matrix runs it.)
    # A bug: the check reads the scope id from the wrong place (the caller's own scope, say).
    op = app.operation("tasks.delete_task")
    real = op.scope_check

    class Leaky:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def pin(self, scope_id: str) -> object:
            return real.pin("2")  # the scope the caller holds a role in, not the one named

    monkeypatch.setattr(op, "scope_check", Leaky())
    with pytest.raises(AssertionError, match=r"tasks.delete_task-as-admin-of-another-workspace: DELETE /tasks/1 answered 404 from the handler, expected 404"):
        await check(app, Case(case.operation, case.caller))
