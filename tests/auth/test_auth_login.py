"""Logins: one hash per attempt whatever the email, a throttle per account and IP."""

from __future__ import annotations

import httpx

from hyperdeliver import App
from hyperdeliver.testing import TestClient

PASSWORD = "correct horse battery"  # the conftest users' password


def client_from(app: App, ip: str) -> TestClient:
    c = TestClient(app)
    c._transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
    return c


async def test_exactly_one_hash_per_attempt_whether_or_not_the_user_exists(auth_app: App) -> None:
    hasher = auth_app.auth.hasher
    async with TestClient(auth_app) as c:
        for email, password, status in (
            ("ann@t.dev", PASSWORD, 200),
            ("ann@t.dev", "wrong password", 401),
            ("nobody@t.dev", "wrong password", 401),
            ("NOBODY@t.dev", PASSWORD, 401),
        ):
            before = hasher.hashes + hasher.verifies  # type: ignore[attr-defined]
            r = await c.post("/auth/login", json={"email": email, "password": password})
            assert r.status_code == status, r.text
            assert hasher.hashes + hasher.verifies - before == 1, email  # type: ignore[attr-defined]


async def test_wrong_and_unknown_logins_answer_alike(auth_client: TestClient) -> None:
    a = await auth_client.post("/auth/login", json={"email": "ann@t.dev", "password": "wrong password"})
    b = await auth_client.post("/auth/login", json={"email": "nobody@t.dev", "password": "wrong password"})
    assert a.status_code == b.status_code == 401
    assert a.json()["detail"] == b.json()["detail"]


async def test_throttle_after_ten_failures_per_account_and_ip(auth_app: App) -> None:
    async with client_from(auth_app, "10.0.0.1") as attacker:
        for _ in range(10):
            r = await attacker.post("/auth/login", json={"email": "ann@t.dev", "password": "guess"})
            assert r.status_code == 401
        r = await attacker.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["retry-after"]) == auth_app.settings.login_window
        # another account from the same IP is not locked
        assert (await attacker.post("/auth/login", json={"email": "bob@t.dev", "password": PASSWORD})).status_code == 200
    async with client_from(auth_app, "10.0.0.2") as owner:
        # the account owner from another IP still logs in
        assert (await owner.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})).status_code == 200


async def test_throttle_window_expires(auth_app: App) -> None:
    auth_app.settings.login_window = 1
    auth_app.settings.login_max_failures = 2
    import asyncio

    async with TestClient(auth_app) as c:
        for _ in range(2):
            await c.post("/auth/login", json={"email": "ann@t.dev", "password": "guess"})
        assert (await c.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})).status_code == 429
        await asyncio.sleep(1.2)
        assert (await c.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})).status_code == 200
