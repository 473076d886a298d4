"""Logins: one hash per attempt whatever the email, a throttle per account and IP."""

from __future__ import annotations

from hyperdeliver import App
from hyperdeliver.testing import TestClient, TestClock

PASSWORD = "correct horse battery"  # the conftest users' password


def client_from(app: App, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000))


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


async def test_throttle_window_expires(auth_app: App, clock: TestClock) -> None:
    auth_app.settings.login_window = 60
    auth_app.settings.login_max_failures = 2
    clock.freeze()
    async with TestClient(auth_app) as c:
        for _ in range(2):
            await c.post("/auth/login", json={"email": "ann@t.dev", "password": "guess"})
        assert (await c.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})).status_code == 429
        clock.travel(seconds=59)
        assert (await c.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})).status_code == 429
        clock.travel(seconds=2)
        assert (await c.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})).status_code == 200


async def test_concurrent_wrong_logins_hash_at_most_the_limit(auth_app: App) -> None:
    """40 guesses at once for one account from one IP: each is counted before its hash,
    so at most ``login_max_failures`` (10) passwords are evaluated; the rest are 429."""
    import asyncio

    hasher = auth_app.auth.hasher
    auth_app.auth.prepare()
    before = hasher.verifies  # type: ignore[attr-defined]
    async with client_from(auth_app, "10.0.0.9") as attacker:
        answers = await asyncio.gather(
            *(attacker.post("/auth/login", json={"email": "ann@t.dev", "password": f"guess {i}"}) for i in range(40))
        )
    statuses = sorted(r.status_code for r in answers)
    assert hasher.verifies - before <= 10, statuses  # type: ignore[attr-defined]
    assert statuses.count(401) <= 10 and statuses.count(429) >= 30, statuses


async def test_account_limit_spans_ips_and_ip_limit_spans_accounts(auth_app: App) -> None:
    auth_app.settings.login_max_failures_per_account = 3
    auth_app.settings.login_max_failures_per_ip = 4
    for i in range(3):
        async with client_from(auth_app, f"10.1.0.{i}") as c:
            assert (await c.post("/auth/login", json={"email": "ann@t.dev", "password": "guess"})).status_code == 401
    async with client_from(auth_app, "10.1.0.99") as c:
        assert (await c.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})).status_code == 429
    async with client_from(auth_app, "10.2.0.1") as c:
        for email in ("bob@t.dev", "x1@t.dev", "x2@t.dev", "x3@t.dev"):
            assert (await c.post("/auth/login", json={"email": email, "password": "guess"})).status_code == 401
        assert (await c.post("/auth/login", json={"email": "bob@t.dev", "password": PASSWORD})).status_code == 429
