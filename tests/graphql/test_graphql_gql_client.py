"""A real third-party GraphQL client (``gql`` over httpx) against the demo app served by uvicorn.

The teamboard demo is migrated and seeded on this test's database (SQLite file, then
PostgreSQL), served by uvicorn on a free port in a thread, and called over real HTTP
with an API token in the ``Authorization: Bearer`` header.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

from hyperdeliver import Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.types import ASGIApp


async def _prepare(settings: Settings) -> str:
    """Migrate and seed the demo; return an API token of the member user."""
    from sqlalchemy import select
    from hyperdeliver.demo.teamboard.app import create_app
    from hyperdeliver.demo.teamboard.seed import seed

    from hyperdeliver.auth.models import User

    app = create_app(settings)
    await upgrade_async(app)
    await seed(app)
    async with app.database.session() as s:
        member = (await s.execute(select(User.id).where(User.email == "member@teamboard.dev"))).scalar_one()
        _row, token = await app.auth.create_token(s, member, "gql test")
        await s.commit()
    await app.database.dispose()
    return token


@pytest.fixture
def served_demo(database_url: str, settings_for: Callable[..., Settings], serve_app: Callable[[ASGIApp], str]) -> tuple[str, str]:
    """(url of /graphql, member API token) of the demo served over HTTP."""
    from hyperdeliver.demo.teamboard.app import create_app

    settings = settings_for(database_url)
    token = asyncio.run(_prepare(settings))
    # The served app is built here and used only on the server thread's event loop.
    return f"{serve_app(create_app(settings))}/graphql", token


async def test_gql_client_runs_queries_and_mutations_over_http(served_demo: tuple[str, str]) -> None:
    url, token = served_demo
    transport = HTTPXAsyncTransport(url=url, headers={"Authorization": f"Bearer {token}"})
    # fetch_schema_from_transport: gql introspects the schema and validates every request locally.
    async with Client(transport=transport, fetch_schema_from_transport=True) as session:
        me = await session.execute(GraphQLRequest("{ me { email roles } }"))
        assert me == {"me": {"email": "member@teamboard.dev", "roles": ["member"]}}

        workspaces = await session.execute(GraphQLRequest("{ listWorkspaces { id name } }"))
        assert workspaces == {"listWorkspaces": [{"id": 1, "name": "Acme"}]}

        create = GraphQLRequest(
            "mutation Create($project: Int!, $data: TaskInput!) { createTask(projectId: $project, data: $data) { id title status priority createdAt } }",
            variable_values={"project": 1, "data": {"title": "From gql", "priority": 1}},
        )
        created = (await session.execute(create))["createTask"]
        assert created["title"] == "From gql" and created["status"] == "todo" and created["priority"] == 1
        assert created["createdAt"].endswith("Z") or "+00:00" in created["createdAt"]

        moved = await session.execute(
            GraphQLRequest(
                "mutation Move($id: Int!) { updateTask(taskId: $id, data: {status: done}) { id status } }",
                variable_values={"id": created["id"]},
            )
        )
        assert moved == {"updateTask": {"id": created["id"], "status": "done"}}

        done = await session.execute(
            GraphQLRequest("query($p: Int!) { listTasks(projectId: $p, status: done) { title } }", variable_values={"p": 1})
        )
        assert {"title": "From gql"} in done["listTasks"]

        # A refused field reaches the client as a GraphQL error with its code.
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(GraphQLRequest('mutation { createWorkspace(data: {name: "Nope"}) { id } }'))
        assert refused.value.errors is not None
        assert refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
        with pytest.raises(TransportQueryError) as invalid:
            await session.execute(
                GraphQLRequest('mutation { createTask(projectId: 1, data: {title: ""}) { id } }')
            )
        assert invalid.value.errors is not None
        assert invalid.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
