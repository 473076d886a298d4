"""One operation, two adapters: REST and GraphQL answer the same data and the same error codes.

Runs on SQLite and PostgreSQL (the ``client`` fixture is the seeded teamboard app).
"""

from __future__ import annotations

from typing import Any

from hyperdeliver.graphql.names import camel
from hyperdeliver.testing import TestClient

TASK_FIELDS = "id projectId title notes status priority assigneeId createdAt updatedAt"
CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 422: "BAD_USER_INPUT"}


def camelized(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(k): camelized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camelized(v) for v in value]
    return value


async def graphql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    r = await client.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def only_error(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert body["data"] == {field: None}, body
    (err,) = body["errors"]
    assert err["path"] == [field]
    return err  # type: ignore[no-any-return]


async def test_same_data_through_rest_and_graphql(client: TestClient) -> None:
    await client.login("member@teamboard.dev", "member-password")
    rest = await client.post("/projects/1/tasks", json={"title": "Same", "notes": "n", "priority": 1})
    assert rest.status_code == 201, rest.text
    body = await graphql(
        client,
        f"mutation($d: TaskInput!) {{ createTask(projectId: 1, data: $d) {{ {TASK_FIELDS} }} }}",
        d={"title": "Same", "notes": "n", "priority": 1},
    )
    created = body["data"]["createTask"]
    expected = camelized(rest.json())
    for key in ("id", "createdAt", "updatedAt"):
        expected.pop(key), created.pop(key)
    assert created == expected
    # Reading the same row back: byte-for-byte the same values, timestamps included.
    task_id = rest.json()["id"]
    rest_get = await client.get(f"/tasks/{task_id}")
    body = await graphql(client, f"query($id: Int!) {{ getTask(taskId: $id) {{ {TASK_FIELDS} }} }}", id=task_id)
    assert body == {"data": {"getTask": camelized(rest_get.json())}}
    # A list with an enum filter.
    rest_list = await client.get("/projects/1/tasks", params={"status": "doing"})
    body = await graphql(client, f"{{ listTasks(projectId: 1, status: doing) {{ {TASK_FIELDS} }} }}")
    assert body["data"]["listTasks"] == camelized(rest_list.json())
    assert [t["status"] for t in body["data"]["listTasks"]] == ["doing"]


async def test_same_error_codes_through_rest_and_graphql(client: TestClient) -> None:
    # 401: nobody logged in.
    rest = await client.get("/tasks/1")
    err = only_error(await graphql(client, "{ getTask(taskId: 1) { id } }"), "getTask")
    assert (rest.status_code, err["extensions"]["code"]) == (401, CODES[401])
    assert err["extensions"]["status"] == rest.json()["status"]

    # 403: a viewer creating a task.
    await client.login("viewer@teamboard.dev", "viewer-password")
    rest = await client.post("/projects/1/tasks", json={"title": "x"})
    err = only_error(await graphql(client, 'mutation { createTask(projectId: 1, data: {title: "x"}) { id } }'), "createTask")
    assert (rest.status_code, err["extensions"]["code"]) == (403, CODES[403])
    assert err["message"] == rest.json()["detail"]

    # 404: no such task / project.
    await client.login("member@teamboard.dev", "member-password")
    rest = await client.get("/tasks/999")
    err = only_error(await graphql(client, "{ getTask(taskId: 999) { id } }"), "getTask")
    assert (rest.status_code, err["extensions"]["code"]) == (404, CODES[404])
    assert err["message"] == rest.json()["detail"] == "no task 999"
    rest = await client.post("/projects/999/tasks", json={"title": "x"})
    err = only_error(await graphql(client, 'mutation { createTask(projectId: 999, data: {title: "x"}) { id } }'), "createTask")
    assert (rest.status_code, err["extensions"]["code"]) == (404, CODES[404])

    # 422: the same Pydantic field errors, at the GraphQL argument's path.
    bad = {"title": "", "priority": 9, "assignee_id": "nobody"}
    rest = await client.post("/projects/1/tasks", json=bad)
    err = only_error(
        await graphql(client, "mutation($d: TaskInput!) { createTask(projectId: 1, data: $d) { id } }", d={"title": "", "priority": 9}),
        "createTask",
    )
    assert rest.status_code == 422 and err["extensions"]["code"] == CODES[422]
    rest_errors = {(e["field"], e["type"]) for e in rest.json()["errors"]}
    assert {("body.title", "string_too_short"), ("body.priority", "less_than_equal")} <= rest_errors
    assert [(e["field"], e["type"], e["loc"]) for e in err["extensions"]["errors"]] == [
        ("data.title", "string_too_short", ["data", "title"]),
        ("data.priority", "less_than_equal", ["data", "priority"]),
    ]
    # Nothing was written by the refused calls.
    listed = await client.get("/projects/1/tasks")
    assert [t["title"] for t in listed.json() if t["title"] in ("x", "")] == []


async def test_forbidden_field_is_null_while_siblings_resolve(client: TestClient) -> None:
    await client.login("viewer@teamboard.dev", "viewer-password")
    body = await graphql(
        client,
        'mutation { token: createApiToken(data: {name: "ci"}) { name token } '
        'task: createTask(projectId: 1, data: {title: "not allowed"}) { id } '
        'again: createApiToken(data: {name: "ci2"}) { name } }',
    )
    assert body["data"]["task"] is None
    assert body["data"]["token"]["name"] == "ci" and body["data"]["token"]["token"].startswith("hd_")
    assert body["data"]["again"] == {"name": "ci2"}
    (err,) = body["errors"]
    assert err["path"] == ["task"] and err["extensions"]["code"] == "FORBIDDEN"
    tokens = await client.get("/auth/tokens")
    assert [t["name"] for t in tokens.json()] == ["ci", "ci2"]

    # Queries too: anonymous callers get the public field, not the protected one.
    await client.logout()
    body = await graphql(client, "{ me { email } listWorkspaces { name } }")
    assert body["data"] == {"me": None, "listWorkspaces": None}
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHENTICATED"}


async def test_csrf_is_required_for_cookie_mutations(client: TestClient) -> None:
    await client.login("member@teamboard.dev", "member-password")
    mutation = {"query": 'mutation { createTask(projectId: 1, data: {title: "csrf"}) { id } }'}
    r = await client.post("/graphql", json=mutation, headers={"x-csrf-token": "wrong"})
    err = only_error(r.json(), "createTask")
    assert err["extensions"]["code"] == "FORBIDDEN" and "CSRF" in err["message"]
    # A query sent by POST needs no CSRF token (it changes nothing).
    r = await client.post("/graphql", json={"query": "{ me { email } }"}, headers={"x-csrf-token": "wrong"})
    assert r.json() == {"data": {"me": {"email": "member@teamboard.dev"}}}
    # With the token (TestClient sends the hd_csrf cookie back as the header) it runs.
    r = await client.post("/graphql", json=mutation)
    assert r.json()["data"]["createTask"]["id"] > 0
    titles = [t["title"] for t in (await client.get("/projects/1/tasks")).json()]
    assert titles.count("csrf") == 1


async def test_login_through_graphql_sets_the_session_cookie(client: TestClient) -> None:
    r = await client.post(
        "/graphql",
        json={"query": 'mutation { login(data: {email: "admin@teamboard.dev", password: "admin-password"}) { user { email roles } csrfToken } }'},
    )
    assert r.json()["data"]["login"]["user"] == {"email": "admin@teamboard.dev", "roles": ["admin"]}
    assert any(c.startswith("hd_session=") for c in r.headers.get_list("set-cookie"))
    me = await client.get("/auth/me")
    assert me.json()["email"] == "admin@teamboard.dev"


async def test_each_mutation_field_is_its_own_transaction(client: TestClient) -> None:
    await client.login("member@teamboard.dev", "member-password")
    body = await graphql(
        client,
        'mutation { kept: createTask(projectId: 1, data: {title: "kept"}) { title } '
        'failed: createTask(projectId: 999, data: {title: "rolled back"}) { title } '
        'later: createTask(projectId: 1, data: {title: "later"}) { title } }',
    )
    assert body["data"] == {"kept": {"title": "kept"}, "failed": None, "later": {"title": "later"}}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
    titles = [t["title"] for t in (await client.get("/projects/1/tasks")).json()]
    assert "kept" in titles and "later" in titles and "rolled back" not in titles


async def test_login_throttle_answers_too_many_requests(client: TestClient) -> None:
    login = 'mutation { login(data: {email: "member@teamboard.dev", password: "wrong"}) { csrfToken } }'
    codes = []
    for _ in range(11):
        err = only_error(await graphql(client, login), "login")
        codes.append(err["extensions"]["code"])
    assert codes == ["UNAUTHENTICATED"] * 10 + ["TOO_MANY_REQUESTS"]
    rest = await client.post("/auth/login", json={"email": "member@teamboard.dev", "password": "wrong"})
    assert rest.status_code == 429


async def test_handler_field_errors_at_each_adapters_path(client: TestClient) -> None:
    """A field error a handler raises (``ValidationFailed.on``) is a 422 at the same field,
    named as each adapter names it; explicit nulls for non-nullable fields are 422, not 409."""
    await client.login("member@teamboard.dev", "member-password")
    rest = await client.patch("/tasks/1", json={"assignee_id": 999999})
    assert rest.status_code == 422, rest.text
    assert rest.headers["content-type"] == "application/problem+json"
    assert rest.json()["errors"] == [{"loc": ["body", "assignee_id"], "field": "body.assignee_id", "msg": "no user 999999", "type": "value_error"}]
    assert rest.json()["detail"] == "body.assignee_id: no user 999999"
    err = only_error(await graphql(client, "mutation { updateTask(taskId: 1, data: {assigneeId: 999999}) { id } }"), "updateTask")
    assert err["extensions"]["code"] == CODES[422]
    assert [(e["field"], e["msg"]) for e in err["extensions"]["errors"]] == [("data.assigneeId", "no user 999999")]
    created = await client.post("/projects/1/tasks", json={"title": "x", "assignee_id": 999999})
    assert (created.status_code, created.json()["errors"][0]["field"]) == (422, "body.assignee_id")

    for field in ("title", "status", "priority"):
        rest = await client.patch("/tasks/1", json={field: None})
        assert rest.status_code == 422, rest.text
        assert [e["field"] for e in rest.json()["errors"]] == [f"body.{field}"]
    # Unassigning is still a null, and a partial update still leaves the rest alone.
    before = (await client.get("/tasks/1")).json()
    rest = await client.patch("/tasks/1", json={"assignee_id": None, "priority": 1})
    assert rest.status_code == 200, rest.text
    assert {k: rest.json()[k] for k in ("title", "status", "assignee_id", "priority")} == {
        "title": before["title"], "status": before["status"], "assignee_id": None, "priority": 1,
    }
    body = await graphql(client, "mutation { updateTask(taskId: 1, data: {priority: 2}) { title priority } }")
    assert body == {"data": {"updateTask": {"title": before["title"], "priority": 2}}}
