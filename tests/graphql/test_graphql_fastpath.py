"""The compiled executor (graphql/fastpath.py) answers exactly as graphql-core's executor.

Each document of the corpus runs twice against the same app, once with the fast path
and once through graphql-core, and the two answers must be equal: data, errors
(messages, locations, paths, extensions) and HTTP status. The corpus covers
variables and their coercion errors, aliases, ``__typename``, enums, DateTime, nested
and list outputs, resolver errors, refused fields, and outputs that break the schema
(an Int too large: a field error and null propagation).
"""

from __future__ import annotations

from typing import Any

import pytest

from hyperdeliver import App
from hyperdeliver.graphql import GraphQLPlugin
from hyperdeliver.testing import TestClient

TASK = "id projectId title notes status priority assigneeId createdAt updatedAt __typename"

CORPUS: list[tuple[str, dict[str, Any] | None, str | None]] = [
    ("{ ping }", None, None),
    ("{ a: ping b: ping __typename }", None, None),
    ("{ chain(levels: 4) { level __typename child { level child { level child { level child { level } } } } } }", None, None),
    ("query($n: Int!) { chain(levels: $n) { level child { level } } }", {"n": 3}, None),
    ("query($n: Int!) { chain(levels: $n) { level } }", {"n": "x"}, None),
    ("query($n: Int!) { chain(levels: $n) { level } }", {}, None),
    ("query($n: Int!) { chain(levels: $n) { level } }", {"n": None}, None),
    ("query($n: Int = 2) { chain(levels: $n) { level child { level } } }", None, None),
    ("{ boom ping }", None, None),
    ("{ ping boom }", None, None),
    ("{ bigList }", None, None),
    ("{ bigNode { level child { level } } ping }", None, None),
    ("query A { ping } query B { chain { level } }", None, "B"),
    ("query A { ping } query B { chain { level } }", None, "A"),
    ("{ me { email roles } listWorkspaces { id name createdAt } }", None, None),
    (f"{{ listTasks(projectId: 1, status: doing) {{ {TASK} }} }}", None, None),
    (f"query($s: Status) {{ listTasks(projectId: 1, status: $s, limit: 2) {{ {TASK} }} }}", {"s": "todo"}, None),
    ("query($s: Status) { listTasks(projectId: 1, status: $s) { id } }", {"s": "nope"}, None),
    (f"{{ getTask(taskId: 1) {{ {TASK} }} other: getTask(taskId: 999) {{ id }} }}", None, None),
    ("{ taskStats(projectId: 1) { projectId todo doing done } }", None, None),
    ("mutation($d: TaskInput!) { createTask(projectId: 999, data: $d) { id } }", {"d": {"title": "x"}}, None),
    ("mutation($d: TaskInput!) { createTask(projectId: 1, data: $d) { id } }", {"d": {"title": 5}}, None),
    ("mutation($d: TaskInput!) { createTask(projectId: 1, data: $d) { id } }", {"d": {"title": "", "priority": 9}}, None),
    ('mutation { createWorkspace(data: {name: "no"}) { id } archiveProject(projectId: 1) { id } }', None, None),
]


async def answer(client: TestClient, app: App, fast: bool, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    app.plugin(GraphQLPlugin).fast_path = fast
    r = await client.post("/graphql", json=body, headers=headers)
    return r.status_code, r.json()


@pytest.mark.parametrize("caller", ["anonymous", "member"])
async def test_fast_path_answers_like_graphql_core(probe_client: TestClient, probe_app: App, api_token: Any, caller: str) -> None:
    headers = {}
    if caller == "member":
        headers["authorization"] = f"Bearer {await api_token(probe_app, 'member@teamboard.dev')}"
    endpoint = probe_app.plugin(GraphQLPlugin).endpoint
    planned = 0
    for query, variables, operation_name in CORPUS:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        fast = await answer(probe_client, probe_app, True, body, headers)
        slow = await answer(probe_client, probe_app, False, body, headers)
        assert fast == slow, query
        document = endpoint.document(query)
        planned += endpoint.plan(query, document, operation_name) is not None
    # Every document of the corpus is plain: the fast path really ran each of them.
    assert planned == len(CORPUS)


async def test_fast_path_leaves_the_rest_to_graphql_core(probe_client: TestClient, probe_app: App) -> None:
    endpoint = probe_app.plugin(GraphQLPlugin).endpoint
    for query in [
        "{ ...F } fragment F on Query { ping }",
        "{ ... on Query { ping } }",
        "{ ping @include(if: true) }",
        "{ ping ping }",
        "{ __schema { queryType { name } } }",
        "query A { ping } query B { ping }",
    ]:
        document = endpoint.document(query)
        assert not isinstance(document, list), query
        assert endpoint.plan(query, document, None) is None, query
    r = await probe_client.post("/graphql", json={"query": "{ ...F } fragment F on Query { ping a: ping }"})
    assert r.json() == {"data": {"ping": "pong", "a": "pong"}}
