"""Scoped roles in the front controller, on teamboard's workspaces (SQLite and PostgreSQL).

Workspace A is the seed's Acme (id 1); workspace B is made here with a project, a task
and a comment. A member of A must not learn that B's objects exist (404, as for an id
that exists nowhere), through REST and GraphQL, nor enqueue work against them.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import event

from hyperdeliver import App, Context, NotFound
from hyperdeliver.testing import TestClient
from hyperdeliver.testing.users import Users, use_fast_hasher


class World:
    """Teamboard with workspace B next to the seed's A, and users made for the test."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.users = Users(app)
        self.ids: dict[str, int] = {}

    async def build(self) -> World:
        use_fast_hasher(self.app)
        admin = await self.users.resolve("admin@teamboard.dev")
        async with TestClient(self.app) as c:
            await self.users.log_in(c, admin)
            ws = (await c.post("/workspaces", json={"name": "Beta"})).json()
            project = (await c.post(f"/workspaces/{ws['id']}/projects", json={"name": "Secret"})).json()
            task = (await c.post(f"/projects/{project['id']}/tasks", json={"title": "Hidden"})).json()
            comment = (await c.post(f"/tasks/{task['id']}/comments", json={"body": "psst"})).json()
            a_task = (await c.post("/projects/1/tasks", json={"title": "Visible"})).json()
        self.ids = {"ws_b": ws["id"], "project_b": project["id"], "task_b": task["id"], "comment_b": comment["id"], "task_a": a_task["id"]}
        return self

    async def client_as(self, email: str, *global_roles: str, **scoped: str) -> TestClient:
        """A started client logged in as ``email`` (made with ``global_roles`` if new),
        granted ``{"1": "admin", ...}``-style workspace roles (keys: ``a``, ``b``)."""
        user = await self.users.resolve(email, global_roles)
        for where, role in scoped.items():
            await self.app.memberships.grant(user.id, "workspace", 1 if where == "a" else self.ids["ws_b"], role)
        client = TestClient(self.app)
        await client.__aenter__()
        await self.users.log_in(client, user)
        return client


@pytest.fixture
async def world(teamboard: App) -> World:
    return await World(teamboard).build()


async def test_a_member_of_a_gets_404_for_b_objects_over_rest(world: World) -> None:
    ids = world.ids
    member = await world.client_as("member@teamboard.dev")  # the seed's member of A
    try:
        assert (await member.get("/projects/1")).status_code == 200
        assert (await member.get(f"/tasks/{ids['task_a']}")).status_code == 200
        for method, url, body in (
            ("GET", f"/workspaces/{ids['ws_b']}", None),
            ("GET", f"/workspaces/{ids['ws_b']}/projects", None),
            ("POST", f"/workspaces/{ids['ws_b']}/projects", {"name": "x"}),
            ("GET", f"/projects/{ids['project_b']}", None),
            ("GET", f"/projects/{ids['project_b']}/tasks", None),
            ("POST", f"/projects/{ids['project_b']}/tasks", {"title": "x"}),
            ("GET", f"/projects/{ids['project_b']}/export.csv", None),
            ("GET", f"/tasks/{ids['task_b']}", None),
            ("PATCH", f"/tasks/{ids['task_b']}", {"status": "done"}),
            ("GET", f"/tasks/{ids['task_b']}/comments", None),
            ("POST", f"/tasks/{ids['task_b']}/comments", {"body": "hi"}),
            ("DELETE", f"/comments/{ids['comment_b']}", None),
        ):
            r = await member.request(method, url, json=body)
            assert r.status_code == 404, (method, url, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            # The same answer as for an id that exists nowhere: nothing tells B's ids apart.
            missing = await member.request(method, url.replace(str(ids["task_b"]), "999999").replace(str(ids["project_b"]), "999999"), json=body)
            if "/tasks/" in url or "/projects/" in url:
                assert missing.status_code == 404 and missing.json()["detail"].split()[0] == r.json()["detail"].split()[0]
        # Nothing in B changed.
        admin = await world.client_as("admin@teamboard.dev")
        try:
            assert (await admin.get(f"/tasks/{ids['task_b']}")).json()["status"] == "todo"
            assert [c["body"] for c in (await admin.get(f"/tasks/{ids['task_b']}/comments")).json()] == ["psst"]
            assert [p["name"] for p in (await admin.get(f"/workspaces/{ids['ws_b']}/projects")).json()] == ["Secret"]
        finally:
            await admin.aclose()
        # The member's workspace list shows A only; the global admin's shows both.
        assert [w["name"] for w in (await member.get("/workspaces")).json()] == ["Acme"]
    finally:
        await member.aclose()


async def test_a_member_of_a_gets_404_for_b_objects_over_graphql(world: World) -> None:
    ids = world.ids
    member = await world.client_as("member@teamboard.dev")
    try:
        for query in (
            f"{{ getProject(projectId: {ids['project_b']}) {{ name }} }}",
            f"{{ listTasks(projectId: {ids['project_b']}) {{ title }} }}",
            f"{{ getTask(taskId: {ids['task_b']}) {{ title }} }}",
            f"{{ listComments(taskId: {ids['task_b']}) {{ body }} }}",
            f"mutation {{ updateTask(taskId: {ids['task_b']}, data: {{status: done}}) {{ id }} }}",
            f"mutation {{ deleteComment(commentId: {ids['comment_b']}) }}",
        ):
            r = await member.post("/graphql", json={"query": query})
            body = r.json()
            assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", (query, body)
            assert not any(v for v in (body.get("data") or {}).values()), body
        ok = (await member.post("/graphql", json={"query": f"{{ getTask(taskId: {ids['task_a']}) {{ title }} }}"})).json()
        assert ok == {"data": {"getTask": {"title": "Visible"}}}
    finally:
        await member.aclose()


async def test_admin_of_a_is_not_admin_of_b(world: World) -> None:
    ids = world.ids
    # No global role: admin of A by membership, member of B.
    alice = await world.client_as("alice@example.test", a="admin", b="member")
    try:
        a_task = ids["task_a"]
        assert (await alice.delete(f"/tasks/{a_task}")).status_code == 204  # admin in A
        r = await alice.delete(f"/tasks/{ids['task_b']}")
        assert r.status_code == 403 and "in this workspace" in r.json()["detail"]  # a member in B, not an admin
        assert (await alice.post(f"/projects/{ids['project_b']}/archive")).status_code == 403
        assert (await alice.get(f"/tasks/{ids['task_b']}")).status_code == 200  # but a member reads
        # Admin of A cannot make themself admin of B.
        r = await alice.put(f"/workspaces/{ids['ws_b']}/members", json={"email": "alice@example.test", "role": "admin"})
        assert r.status_code == 403
        assert (await alice.put("/workspaces/1/members", json={"email": "viewer@teamboard.dev", "role": "member"})).status_code == 200
    finally:
        await alice.aclose()
    # Without a membership in B at all: 404, even as admin of A.
    bob = await world.client_as("bob@example.test", a="admin")
    try:
        assert (await bob.delete(f"/tasks/{ids['task_b']}")).status_code == 404
        assert (await bob.get(f"/workspaces/{ids['ws_b']}/members")).status_code == 404
        assert (await bob.get("/workspaces/1/members")).status_code == 200
    finally:
        await bob.aclose()
    # A global role is not a workspace role: a global member with no membership sees nothing.
    carol = await world.client_as("carol@example.test", "member")
    try:
        assert (await carol.get("/projects/1")).status_code == 404
        assert (await carol.get("/workspaces")).json() == []
    finally:
        await carol.aclose()


async def test_a_viewer_in_the_scope_gets_403_on_writes(world: World) -> None:
    viewer = await world.client_as("viewer@teamboard.dev")  # the seed's viewer of A
    try:
        assert (await viewer.get("/projects/1/tasks")).status_code == 200
        r = await viewer.post("/projects/1/tasks", json={"title": "x"})
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    finally:
        await viewer.aclose()


async def test_a_member_of_a_cannot_enqueue_work_against_b(world: World) -> None:
    app, ids = world.app, world.ids
    member = await world.users.resolve("member@teamboard.dev")
    principal = app.auth.principal_for(member, "session")
    notify = app.jobs.task("tasks.notify_assignee")
    ctx = Context(app, "req-1", principal, "rest")
    try:
        with pytest.raises(NotFound, match=rf"no task {ids['task_b']}"):
            await ctx.enqueue(notify, task_id=ids["task_b"], assignee_id=member.id)
        assert await ctx.enqueue(notify, task_id=ids["task_a"], assignee_id=member.id) > 0  # A's task: allowed
        await ctx.db.commit()
    finally:
        await ctx.db.close()
    # Through the API too: assigning B's task (which would enqueue a notification) is a 404, no job.
    client = await world.client_as("member@teamboard.dev")
    try:
        before = await _jobs(app)
        r = await client.patch(f"/tasks/{ids['task_b']}", json={"assignee_id": member.id})
        assert r.status_code == 404
        assert await _jobs(app) == before
        # A job enqueued by the system (no user: a cron, a script) is not refused.
        await app.jobs.enqueue(None, notify, task_id=ids["task_b"], assignee_id=member.id)
        assert await _jobs(app) == before + 1
    finally:
        await client.aclose()


async def _jobs(app: App) -> int:
    from sqlalchemy import text

    async with app.database.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM hd_jobs WHERE task = 'tasks.notify_assignee'"))).scalar_one())


async def test_the_scope_is_loaded_with_one_query_per_request(world: World) -> None:
    app, ids = world.app, world.ids
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    client = await world.client_as("member@teamboard.dev")
    # Every pool: a query's check reads apart from its handler (db/reads.py), a mutation's in its transaction.
    engines = {app.database.engine.sync_engine, app.database.rows_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        r = await client.get(f"/tasks/{ids['task_a']}/comments")
        assert r.status_code == 200
        scoped = [s for s in statements if "hd_memberships" in s]
        # One statement: the comment's task's project's workspace, joined with the caller's roles there.
        assert len(scoped) == 1, statements
        assert "tasks" in scoped[0] and "projects" in scoped[0]
        statements.clear()
        # A GraphQL request with three fields on two objects: one statement per object (the
        # fields run concurrently; the second getTask awaits the first's lookup).
        query = f"{{ a: getTask(taskId: {ids['task_a']}) {{ id }} b: getTask(taskId: {ids['task_a']}) {{ id }} c: getProject(projectId: 1) {{ id }} }}"
        r = await client.post("/graphql", json={"query": query})
        assert "errors" not in r.json(), r.json()
        assert len([s for s in statements if "hd_memberships" in s]) == 2
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
        await client.aclose()


async def test_the_membership_lookup_uses_the_index(world: World) -> None:
    """The (user_id, scope, scope_id) lookup is served by an index on both databases."""
    from sqlalchemy import text

    app = world.app
    dialect = app.database.engine.dialect.name
    async with app.database.engine.connect() as conn:
        if dialect == "sqlite":
            plan = (await conn.execute(text("EXPLAIN QUERY PLAN SELECT role FROM hd_memberships WHERE user_id = 1 AND scope = 'workspace' AND scope_id = '1'"))).all()
            assert any("USING INDEX" in str(row[-1]) or "USING COVERING INDEX" in str(row[-1]) for row in plan), plan
        else:
            await conn.execute(text("SET enable_seqscan = off"))
            plan = (await conn.execute(text("EXPLAIN SELECT role FROM hd_memberships WHERE user_id = 1 AND scope = 'workspace' AND scope_id = '1'"))).all()
            text_plan = " ".join(row[0] for row in plan)
            assert "Index" in text_plan and "Seq Scan" not in text_plan, plan


@pytest.mark.integration  # runs the guide as a script in a process of its own
def test_the_scopes_guide_runs_as_one_script(tmp_path: Any) -> None:
    """docs/scopes.md: its examples (an app with an org scope, memberships granted and
    revoked, 404/403/200 over HTTP) run in order as one script."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "scopes.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 3
    script = tmp_path / "scopes_guide.py"
    script.write_text("\n\n".join(blocks))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]


# -- declarations: checked when the app is built ---------------------------------------


def _app(*ops: Any, scopes: Any = None) -> App:
    from hyperdeliver import Feature, Settings

    from hyperdeliver.demo.teamboard.app import WORKSPACE

    f = Feature("decl", owner="ada@example.com")
    for route, kw, handler in ops:
        (f.query if route.startswith("GET") else f.mutation)(route, **kw)(handler)
    return App("decl", features=[f], roles=["viewer", "member", "admin"], scopes=[WORKSPACE] if scopes is None else scopes,
               settings=Settings(env="test", database_url="sqlite://"))


def test_a_scope_the_app_does_not_declare_is_refused() -> None:
    from hyperdeliver import ConfigurationError

    async def h(ctx: Any, org_id: int) -> None: ...

    with pytest.raises(ConfigurationError, match=r"hd.E004 decl.h names scope 'org'; the app declares \['workspace'\]"):
        _app(("GET /orgs/{org_id}", {"roles": {"viewer"}, "scope": "org"}, h))
    with pytest.raises(ConfigurationError, match="a PUBLIC operation cannot be scoped"):
        _app(("GET /w/{workspace_id}", {"roles": "public", "scope": "workspace"}, _ws))


async def _ws(ctx: Any, workspace_id: int) -> None: ...


class ThingIn(BaseModel):
    workspace_id: int
    name: str


def test_the_argument_naming_the_scope_must_be_found_and_unique() -> None:
    from hyperdeliver import ConfigurationError

    async def nowhere(ctx: Any, thing_id: int) -> None: ...

    async def both(ctx: Any, project_id: int, task_id: int) -> None: ...

    with pytest.raises(ConfigurationError, match=r"hd.E005 decl.nowhere is scoped to 'workspace' but its arguments name it nowhere"):
        _app(("GET /things/{thing_id}", {"roles": {"viewer"}, "scope": "workspace"}, nowhere))
    with pytest.raises(ConfigurationError, match=r"ambiguously \(found \['project_id', 'task_id'\].*scope_at="):
        _app(("GET /p/{project_id}/t/{task_id}", {"roles": {"viewer"}, "scope": "workspace"}, both))
    app = _app(("GET /p/{project_id}/t/{task_id}", {"roles": {"viewer"}, "scope": "workspace", "scope_at": "task_id"}, both))
    assert app.operation("decl.both").scope_check.lookup.param == "task_id"

    async def from_body(ctx: Any, data: ThingIn) -> None: ...

    app = _app(("POST /things", {"roles": {"member"}, "scope": "workspace"}, from_body))
    check = app.operation("decl.from_body").scope_check
    assert (check.param, check.body, check.lookup) == ("workspace_id", "data", None)
    assert check.value({"data": ThingIn(workspace_id=7, name="x")}) == 7


def test_a_scoped_role_the_scope_does_not_declare_is_refused() -> None:
    from hyperdeliver import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"hd.E002 decl._ws names unknown roles \['owner'\] in scope 'workspace'"):
        _app(("GET /w/{workspace_id}", {"roles": {"owner"}, "scope": "workspace"}, _ws))


def test_a_lookup_needs_columns_or_a_function() -> None:
    from hyperdeliver import ConfigurationError, Lookup

    with pytest.raises(ConfigurationError, match="needs columns"):
        Lookup("task_id")
    with pytest.raises(ConfigurationError, match="is not a table column"):
        Lookup("task_id", "tasks.project_id", "x")


# -- memberships: the Python API ------------------------------------------------------


async def test_memberships_grant_revoke_list_and_refuse_unknowns(teamboard: App) -> None:
    from hyperdeliver import BadRequest

    m = teamboard.memberships
    await m.grant("viewer@teamboard.dev", "workspace", 5, "admin")
    await m.grant("viewer@teamboard.dev", "workspace", 5, "admin")  # idempotent
    assert await m.roles("viewer@teamboard.dev", "workspace", 5) == {"admin"}
    listed = await m.list("workspace", 5)
    assert [(r["email"], r["role"], r["scope_id"]) for r in listed] == [("viewer@teamboard.dev", "admin", "5")]
    assert {r["scope_id"] for r in await m.list("workspace", user="viewer@teamboard.dev")} == {"1", "5"}
    assert await m.revoke("viewer@teamboard.dev", "workspace", 5, "member") == 0
    assert await m.revoke("viewer@teamboard.dev", "workspace", 5) == 1
    assert await m.roles("viewer@teamboard.dev", "workspace", 5) == frozenset()
    with pytest.raises(BadRequest, match=r"unknown role 'owner' in scope 'workspace'"):
        await m.grant("viewer@teamboard.dev", "workspace", 5, "owner")
    with pytest.raises(BadRequest, match=r"unknown scope 'org'"):
        await m.grant("viewer@teamboard.dev", "org", 5, "admin")
    with pytest.raises(NotFound, match="no user with email nobody@x.dev"):
        await m.grant("nobody@x.dev", "workspace", 5, "admin")


async def test_a_lookup_may_be_an_async_function(teamboard: App) -> None:
    """``Lookup(param, fn)``: the escape hatch; the roles are then a second, indexed query."""
    from hyperdeliver import Feature, Lookup, Scope, Settings

    calls: list[Any] = []

    async def workspace_of_project(ctx: Context, value: Any) -> Any:
        from hyperdeliver.demo.teamboard.features.projects.models import Project

        calls.append(value)
        row = await ctx.db.get(Project, value)
        return None if row is None else row.workspace_id

    f = Feature("fnlookup", owner="ada@example.com")

    @f.query("GET /fn/{project_id}", roles={"viewer"}, scope="workspace", scope_at=Lookup("project_id", workspace_of_project))
    async def by_fn(ctx: Context, project_id: int) -> dict[str, str]:
        assert ctx.scope is not None
        return {"workspace": ctx.scope.id, "roles": ",".join(sorted(ctx.scope.roles))}

    app = App("fn", features=[f], roles=["viewer", "member", "admin"], scopes=[Scope("workspace")],
              settings=teamboard.settings)
    use_fast_hasher(app)
    users = Users(app)
    async with TestClient(app) as c:
        await users.log_in(c, await users.resolve("member@teamboard.dev"))
        assert (await c.get("/fn/1")).json() == {"workspace": "1", "roles": "member,viewer"}
        assert (await c.get("/fn/999")).status_code == 404
        nobody = await users.create()
        await users.log_in(c, nobody)
        r = await c.get("/fn/1")
        assert r.status_code == 404 and r.json()["detail"] == "no project 1"
    assert calls == [1, 999, 1]
    await app.database.dispose()


async def test_a_body_value_may_name_the_scope(teamboard: App) -> None:
    """``POST /things`` with ``{"workspace_id": ...}`` in its body: checked like a path value."""
    from hyperdeliver import Feature, Scope

    f = Feature("bodyscope", owner="ada@example.com")

    @f.mutation("POST /things", roles={"member"}, scope="workspace", status=200)
    async def make_thing(ctx: Context, data: ThingIn) -> dict[str, str]:
        assert ctx.scope is not None
        return {"workspace": ctx.scope.id, "name": data.name}

    app = App("body", features=[f], roles=["viewer", "member", "admin"], scopes=[Scope("workspace")], settings=teamboard.settings)
    use_fast_hasher(app)
    users = Users(app)
    async with TestClient(app) as c:
        await users.log_in(c, await users.resolve("member@teamboard.dev"))
        assert (await c.post("/things", json={"workspace_id": 1, "name": "x"})).json() == {"workspace": "1", "name": "x"}
        r = await c.post("/things", json={"workspace_id": 2, "name": "x"})
        assert r.status_code == 404 and r.json()["detail"] == "no workspace 2"
        await users.log_in(c, await users.resolve("viewer@teamboard.dev"))
        assert (await c.post("/things", json={"workspace_id": 1, "name": "x"})).status_code == 403
        r = await c.post("/graphql", json={"query": 'mutation { makeThing(data: {workspaceId: 2, name: "x"}) }'})
        assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await app.database.dispose()


async def test_a_task_is_assigned_only_to_a_member_of_its_workspace(world: World) -> None:
    """Assigning someone outside the workspace is the same 422 as an id nobody has: a
    member cannot probe other tenants' user ids."""
    ids = world.ids
    outsider = await world.users.create()
    await world.app.memberships.grant(outsider.id, "workspace", ids["ws_b"], "member")
    member = await world.client_as("member@teamboard.dev")
    try:
        for assignee in (outsider.id, 999999):
            r = await member.patch(f"/tasks/{ids['task_a']}", json={"assignee_id": assignee})
            assert r.status_code == 422 and r.json()["detail"] == f"body.assignee_id: no user {assignee}"
        viewer = await world.users.resolve("viewer@teamboard.dev")  # a viewer of A: a member of the workspace
        assert (await member.patch(f"/tasks/{ids['task_a']}", json={"assignee_id": viewer.id})).status_code == 200
    finally:
        await member.aclose()
