"""Sessions: rotated at login, ended by logout and by a password change."""

from __future__ import annotations

from hyperdeliver import App
from hyperdeliver.testing import TestClient

PASSWORD = "correct horse battery"  # the conftest users' password


def session_of(c: TestClient) -> str:
    value = c.cookies.get(c.app.settings.session_cookie)
    assert value
    return value


async def test_login_sets_http_only_session_and_readable_csrf_cookies(auth_client: TestClient) -> None:
    r = await auth_client.login("ann@t.dev", PASSWORD)
    assert r.status_code == 200
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("hd_session="))
    csrf = next(c for c in cookies if c.startswith("hd_csrf="))
    assert "HttpOnly" in session and "SameSite=lax" in session
    assert "HttpOnly" not in csrf
    assert r.json()["csrf_token"] == auth_client.cookies.get("hd_csrf")
    me = (await auth_client.get("/auth/me")).json()
    assert me["email"] == "ann@t.dev" and me["roles"] == ["member"]


async def test_session_id_rotates_at_login(auth_client: TestClient, auth_app: App) -> None:
    await auth_client.login("ann@t.dev", PASSWORD)
    first = session_of(auth_client)
    await auth_client.login("ann@t.dev", PASSWORD)
    second = session_of(auth_client)
    assert first != second
    assert await auth_app.auth.authenticate_session(first) is None
    assert await auth_app.auth.authenticate_session(second) is not None


async def test_session_ids_are_stored_hashed(auth_client: TestClient, auth_app: App) -> None:
    from sqlalchemy import text

    await auth_client.login("ann@t.dev", PASSWORD)
    sid = session_of(auth_client)
    async with auth_app.database.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM hd_sessions"))).all()
    assert rows and all(sid not in str(tuple(row)) for row in rows)


async def test_logout_invalidates_the_session(auth_app: App) -> None:
    async with TestClient(auth_app) as c:
        await c.login("ann@t.dev", PASSWORD)
        sid = session_of(c)
        assert (await c.post("/auth/logout")).status_code == 204
        assert c.cookies.get("hd_session") is None
    async with TestClient(auth_app, cookies={"hd_session": sid}) as replay:
        r = await replay.get("/auth/me")
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_password_change_ends_every_other_session(auth_app: App) -> None:
    async with TestClient(auth_app) as laptop, TestClient(auth_app) as phone:
        await laptop.login("ann@t.dev", PASSWORD)
        await phone.login("ann@t.dev", PASSWORD)
        old_laptop = session_of(laptop)
        r = await laptop.post("/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"})
        assert r.status_code == 200, r.text
        assert session_of(laptop) != old_laptop
        assert (await laptop.get("/auth/me")).status_code == 200
        assert (await phone.get("/auth/me")).status_code == 401
        wrong = await laptop.post("/auth/password", json={"current_password": "nope", "new_password": "another secret"})
        assert wrong.status_code == 401
    async with TestClient(auth_app) as again:
        assert (await again.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})).status_code == 401
        await again.login("ann@t.dev", "a brand new secret")


async def test_login_with_stale_cookie_needs_no_csrf_but_write_does(auth_app: App) -> None:
    async with TestClient(auth_app, csrf=False) as c:
        await c.post("/auth/login", json={"email": "ann@t.dev", "password": PASSWORD})
        r = await c.post("/auth/tokens", json={"name": "x"})
        assert r.status_code == 403
        ok = await c.post("/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": c.cookies.get("hd_csrf")})
        assert ok.status_code == 201


async def test_session_and_csrf_cookies_are_secure_unless_dev(auth_app: App) -> None:
    """``Secure`` on both cookies (set and deleted) in test and production; not in dev,
    whose http://localhost would drop them; ``HYPER_SECURE_COOKIES`` overrides."""
    for env, override, secure in (("production", None, True), ("test", None, True), ("dev", None, False), ("production", False, False), ("dev", True, True)):
        auth_app.settings.env = env  # type: ignore[assignment]
        auth_app.settings.secure_cookies = override
        async with TestClient(auth_app) as c:
            r = await c.login("ann@t.dev", PASSWORD)
            out = await c.post("/auth/logout")
        cookies = r.headers.get_list("set-cookie") + out.headers.get_list("set-cookie")
        assert len(cookies) == 4, cookies
        for cookie in cookies:
            assert ("; Secure" in cookie) is secure, (env, override, cookie)
