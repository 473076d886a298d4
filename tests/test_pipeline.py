"""The front controller's status paths over REST, on SQLite and PostgreSQL: all problem+json."""

from __future__ import annotations

from hyperdeliver.testing import TestClient

PROBLEM = "application/problem+json"


async def test_public_health_of_pipeline_anonymous_is_401(client: TestClient) -> None:
    r = await client.get("/workspaces")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["status"] == 401


async def test_login_then_list_and_create(client: TestClient) -> None:
    await client.login("member@teamboard.dev", "member-password")
    r = await client.get("/workspaces")
    assert r.status_code == 200, r.text
    assert [w["name"] for w in r.json()] == ["Acme"]
