"""The ``usage`` fixture: calls recorded per operation, feature and user; tracked events."""

from __future__ import annotations

import pytest

from hyperdeliver import App
from hyperdeliver.testing import TestClient


async def test_calls_by_operation_feature_user_and_status(app: App, client: TestClient, login_as, usage) -> None:
    admin = await login_as("admin")
    ws = (await client.post("/workspaces", json={"name": "Acme"})).json()
    await client.get("/workspaces")
    await client.get("/workspaces/999")
    viewer = await login_as("viewer")
    await client.get("/workspaces")

    from hyperdeliver.demo.teamboard.features.workspaces import list_workspaces

    assert await usage.count("workspaces.list_workspaces") == 2
    assert await usage.count(list_workspaces, user=viewer) == 1  # a handler names its operation
    assert await usage.count("create_workspace", user=admin.id, status=201) == 1  # a unique short name
    assert await usage.count(feature="workspaces") == 4
    [missing] = await usage.calls("workspaces.get_workspace")
    assert (missing.status, missing.user_id, missing.interface) == (404, admin.id, "rest")
    assert ws["name"] == "Acme"


async def test_graphql_and_job_calls_are_told_apart(client: TestClient, login_as, usage) -> None:
    await login_as("viewer")
    r = await client.post("/graphql", json={"query": "{ listWorkspaces { id } }"})
    assert r.status_code == 200, r.text
    assert await usage.count("workspaces.list_workspaces", interface="graphql") == 1
    assert await usage.count("workspaces.list_workspaces", interface="rest") == 0


async def test_events_tracked_by_ctx_track(client: TestClient, login_as, usage) -> None:
    member = await login_as("admin")
    ws = (await client.post("/workspaces", json={"name": "Acme"})).json()
    project = (await client.post(f"/workspaces/{ws['id']}/projects", json={"name": "Launch"})).json()
    await client.post(f"/projects/{project['id']}/tasks", json={"title": "a"})
    [event] = await usage.events("task_created", user=member)
    assert (event.feature, event.props) == ("tasks", {"project_id": project["id"]})
    assert await usage.events("task_completed") == []


async def test_an_ambiguous_or_unknown_short_name_is_refused(usage) -> None:
    with pytest.raises(LookupError, match="'nothing' names 0 operations or tasks: write it as feature.nothing"):
        await usage.count("nothing")


async def test_feature_table_reads_the_same_rows_as_the_dashboard(client: TestClient, login_as, usage) -> None:
    await login_as("viewer")
    await client.get("/workspaces")
    rows = await usage.features()
    assert rows["workspaces"]["calls"] == 1 and rows["workspaces"]["users"] == 1 and rows["tasks"]["calls"] == 0
