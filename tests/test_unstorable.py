"""Strings a database cannot store (NUL, lone surrogates) are a 422 at their field, on every database.

Before: PostgreSQL's driver refused ``"\\u0000x"`` deep in the handler (a 500); SQLite kept it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from hyperdeliver import PUBLIC, App, Context, Feature, Settings
from hyperdeliver.auth.models import User
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient


async def test_nul_in_a_body_field_is_a_422_at_that_field(client: TestClient) -> None:
    await client.login("member@teamboard.dev", "member-password")
    r = await client.post("/workspaces/1/projects", json={"name": "\u0000x", "description": "fine"})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["body.name"]
    ok = await client.post("/workspaces/1/projects", json={"name": "a \\u0000 literal", "description": "\u00e9\u4e2d"})
    assert ok.status_code == 201, ok.text


async def test_nul_through_graphql_is_a_validation_error_at_that_field(client: TestClient) -> None:
    await client.login("member@teamboard.dev", "member-password")
    variables = "mutation ($d: ProjectInput!) { createProject(workspaceId: 1, data: $d) { id } }"
    literal = 'mutation { createProject(workspaceId: 1, data: {name: "\\u0000x"}) { id } }'  # a NUL escape in the document
    for payload in ({"query": variables, "variables": {"d": {"name": "\u0000x"}}}, {"query": literal}):
        r = await client.post("/graphql", content=_json(payload), headers={"content-type": "application/json"})
        body = r.json()
        assert body.get("data") is None or body["data"].get("createProject") is None, body
        err = body["errors"][0]
        assert err["extensions"]["code"] == "BAD_USER_INPUT", err
        assert [e["field"] for e in err["extensions"]["errors"]] == ["data.name"], err


def _json(value: object) -> bytes:
    import json

    return json.dumps(value).encode()  # json escapes a lone surrogate as \ud800 (orjson refuses it)


async def test_nul_in_path_and_query_values_is_a_422(database_url: str, settings_for: Callable[..., Settings]) -> None:
    probe = Feature("probe", owner="t@t.dev")

    @probe.query("GET /users/by-email/{email}", roles=PUBLIC)
    async def by_email(ctx: Context, email: str, name: str = "") -> int:
        return len((await ctx.db.execute(select(User.id).where(User.email == email, User.name != name))).all())

    app = App("nul", features=[probe], settings=settings_for(database_url))
    await upgrade_async(app)
    try:
        async with TestClient(app) as c:
            assert (await c.get("/users/by-email/a@b.c", params={"name": "x"})).json() == 0
            r = await c.get("/users/by-email/a%00b")
            assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["path.email"], r.text
            r = await c.get("/users/by-email/a@b.c", params={"name": "x\u0000"})
            assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["query.name"], r.text
    finally:
        await app.database.dispose()
