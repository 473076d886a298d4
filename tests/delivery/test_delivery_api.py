"""``POST /_hyper/api/releases``: a CD system's token with the deployer role records a
deploy; callers without the role and bad input get problem+json (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hyperdeliver import App
from hyperdeliver.delivery.store import deployments
from hyperdeliver.testing import TestClient

URL = "/_hyper/api/releases"
BODY = {"id": "run-812", "version": "1.5.0", "sha": "3f2c1ab", "environment": "production", "status": "started",
        "commits": [{"sha": "3f2c1ab", "committed_at": "2026-12-01T10:00:00Z", "author": "dan@teamboard.dev", "files": ["README.md"]}],
        "features": ["comments"]}
PROBLEM = "application/problem+json"


async def test_a_deployer_token_records_started_then_succeeded(shipping: App, token_for: Callable[[App, str], Awaitable[str]]) -> None:
    token = await token_for(shipping, "ci@teamboard.dev")
    async with TestClient(shipping, csrf=False) as ci:
        ci.headers["Authorization"] = f"Bearer {token}"
        r = await ci.post(URL, json=BODY)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "started" and r.json()["finished_at"] is None and r.json()["features"] == ["comments"]
        r = await ci.post(URL, json={"id": "run-812", "version": "1.5.0", "status": "succeeded"})
        assert r.status_code == 200 and r.json()["status"] == "succeeded" and r.json()["finished_at"]
        # a finished deploy does not start again: 409, the record unchanged
        r = await ci.post(URL, json={"id": "run-812", "version": "1.5.0", "status": "started"})
        assert r.status_code == 409 and r.headers["content-type"] == PROBLEM and "already finished as succeeded" in r.json()["detail"]
    (stored,) = await deployments(shipping)
    assert (stored.id, stored.status, [c.sha for c in stored.commits]) == ("run-812", "succeeded", ["3f2c1ab"])
    from hyperdeliver.usage.queries import releases

    assert [r["version"] for r in await releases(shipping)] == ["1.5.0"]  # the usage charts' marker


async def test_callers_without_the_role_are_refused(shipping: App, token_for: Callable[[App, str], Awaitable[str]]) -> None:
    async with TestClient(shipping, csrf=False) as anon:
        r = await anon.post(URL, json=BODY)
        # the front controller's 401, as for every operation
        assert r.status_code == 401 and r.headers["content-type"] == PROBLEM and r.headers["www-authenticate"] == 'Bearer realm="api"'
        r = await anon.post(URL, json=BODY, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401 and r.json()["type"].endswith("unauthenticated")
    member = await token_for(shipping, "member@teamboard.dev")
    async with TestClient(shipping, csrf=False) as m:
        r = await m.post(URL, json=BODY, headers={"Authorization": f"Bearer {member}"})
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM and "deployer" in r.json()["detail"]
    async with TestClient(shipping, csrf=False) as admin:  # a session cookie without its CSRF header
        await admin.login("admin@teamboard.dev", "admin-password")
        r = await admin.post(URL, json=BODY)
        assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    admin_token = await token_for(shipping, "admin@teamboard.dev")
    async with TestClient(shipping, csrf=False) as admin:
        r = await admin.post(URL, json=BODY, headers={"Authorization": f"Bearer {admin_token}"})
        assert r.status_code == 201
    assert [d.id for d in await deployments(shipping)] == ["run-812"]


async def test_bad_input_is_problem_json(shipping: App, token_for: Callable[[App, str], Awaitable[str]]) -> None:
    token = await token_for(shipping, "ci@teamboard.dev")
    async with TestClient(shipping, csrf=False) as ci:
        ci.headers["Authorization"] = f"Bearer {token}"
        cases = [
            ({"version": "1.0", "status": "deployed"}, 422, "status"),
            ({"version": "a b"}, 422, "version"),
            ({"status": "started"}, 422, "version"),
            ({"version": "1.0", "sha": "not-hex"}, 422, "sha"),
            ({"version": "1.0", "commits": [{"sha": "abcd", "committed_at": "yesterday"}]}, 422, "commits.0.committed_at"),
            ({"version": "1.0", "features": ["nope"]}, 422, "features"),
            ({"version": "1.0", "surprise": 1}, 422, "surprise"),
        ]
        for body, status, field in cases:
            r = await ci.post(URL, json=body)
            assert r.status_code == status and r.headers["content-type"] == PROBLEM, (body, r.text)
            assert any(e["field"] == field for e in r.json()["errors"]), (body, r.json())
        r = await ci.post(URL, content=b"{nope", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
        r = await ci.post(URL, content=b"version=1", headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 415 and r.headers["content-type"] == PROBLEM
        r = await ci.post(URL, json=[1])
        assert r.status_code == 400
        await ci.post(URL, json={"id": "x1", "version": "1.0", "status": "started"})
        r = await ci.post(URL, json={"id": "x1", "version": "2.0", "status": "succeeded"})
        assert r.status_code == 409 and "use another --id" in r.json()["detail"]
        r = await ci.get(URL)
        assert r.status_code == 405 and r.headers["content-type"] == PROBLEM
    assert [d.id for d in await deployments(shipping)] == ["x1"]
