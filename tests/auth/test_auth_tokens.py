"""API tokens: shown once, stored hashed, compared in constant time, revocable."""

from __future__ import annotations

from sqlalchemy import text
from waiting import eventually

from hyperdeliver import App
from hyperdeliver.testing import TestClient

PASSWORD = "correct horse battery"  # the conftest users' password


async def make_token(app: App) -> tuple[int, str]:
    async with TestClient(app) as c:
        await c.login("ann@t.dev", PASSWORD)
        r = await c.post("/auth/tokens", json={"name": "ci"})
        assert r.status_code == 201, r.text
        body = r.json()
        listed = (await c.get("/auth/tokens")).json()
        assert [t["name"] for t in listed] == ["ci"] and listed[0]["token"] is None
        return body["id"], body["token"]


async def test_token_authenticates_as_bearer_without_csrf(auth_app: App) -> None:
    _, token = await make_token(auth_app)
    assert token.startswith("hd_")
    async with TestClient(auth_app, csrf=False, headers={"Authorization": f"Bearer {token}"}) as c:
        me = await c.get("/auth/me")
        assert me.status_code == 200 and me.json()["email"] == "ann@t.dev"
        assert (await c.post("/auth/tokens", json={"name": "second"})).status_code == 201


async def test_token_secret_is_stored_hashed(auth_app: App) -> None:
    _, token = await make_token(auth_app)
    secret = token.split("_", 2)[2]
    async with auth_app.database.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM hd_api_tokens"))).mappings().all()
    assert len(rows) == 1
    dump = repr(dict(rows[0]))
    assert secret not in dump and token not in dump
    assert len(rows[0]["secret_hash"]) == 64


async def test_wrong_secret_with_right_selector_is_refused(auth_app: App) -> None:
    _, token = await make_token(auth_app)
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    for _ in range(2):  # the second time the selector is in the process cache
        async with TestClient(auth_app, headers={"Authorization": f"Bearer {forged}"}) as c:
            assert (await c.get("/auth/me")).status_code == 401
        async with TestClient(auth_app, headers={"Authorization": f"Bearer {token}"}) as c:
            assert (await c.get("/auth/me")).status_code == 200


async def test_revoked_token_is_refused(auth_app: App) -> None:
    token_id, token = await make_token(auth_app)
    async with TestClient(auth_app, headers={"Authorization": f"Bearer {token}"}) as c:
        assert (await c.get("/auth/me")).status_code == 200
        assert (await c.delete(f"/auth/tokens/{token_id}")).status_code == 204
        r = await c.get("/auth/me")
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
        assert (await c.delete(f"/auth/tokens/{token_id}")).status_code == 401


async def test_cannot_revoke_someone_elses_token(auth_app: App) -> None:
    token_id, _ = await make_token(auth_app)
    async with TestClient(auth_app) as bob:
        await bob.login("bob@t.dev", PASSWORD)
        assert (await bob.delete(f"/auth/tokens/{token_id}")).status_code == 404


async def _other_process(auth_app: App) -> App:
    """A second app on the same database: what another server process is."""
    return App("authtest", roles=["viewer", "member", "admin"], settings=auth_app.settings.model_copy())


async def refused_within_the_cache_time(serving: TestClient) -> None:
    """The other process refuses the token once its epoch watch (every 0.1 s here) sees
    the revocation: well before the 30 s its token cache would otherwise keep it."""

    async def refused() -> bool:
        return (await serving.get("/auth/me")).status_code == 401

    await eventually(refused, "the other process to refuse the revoked token", timeout=10, every=0.05)


async def test_revocation_reaches_another_process_within_the_epoch_interval(auth_app: App) -> None:
    auth_app.settings.auth_epoch_interval = 0.1
    token_id, token = await make_token(auth_app)
    other = await _other_process(auth_app)
    bearer = {"Authorization": f"Bearer {token}"}
    try:
        async with TestClient(other, headers=bearer) as serving:
            assert (await serving.get("/auth/me")).status_code == 200  # now cached in that process for 30 s
            async with TestClient(auth_app, headers=bearer) as revoking:
                assert (await revoking.delete(f"/auth/tokens/{token_id}")).status_code == 204
            await refused_within_the_cache_time(serving)
    finally:
        await other.database.dispose()


async def test_a_password_change_can_revoke_every_token_everywhere(auth_app: App) -> None:
    auth_app.settings.auth_epoch_interval = 0.1
    _, token = await make_token(auth_app)
    other = await _other_process(auth_app)
    try:
        async with TestClient(other, headers={"Authorization": f"Bearer {token}"}) as serving:
            assert (await serving.get("/auth/me")).status_code == 200
            async with TestClient(auth_app) as c:
                await c.login("ann@t.dev", PASSWORD)
                r = await c.post("/auth/password", json={"current_password": PASSWORD, "new_password": "another horse 123", "revoke_tokens": True})
                assert r.status_code == 200, r.text
            await refused_within_the_cache_time(serving)
    finally:
        await other.database.dispose()
