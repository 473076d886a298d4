"""The pytest plugin's fixtures, as a project's tests use them (here on teamboard)."""

from __future__ import annotations

import sqlalchemy as sa

from hyperdeliver import App
from hyperdeliver.auth.models import User
from hyperdeliver.testing import BearerToken, TestClient
from hyperdeliver.testing.users import Users


async def test_app_is_teamboard_on_a_fresh_migrated_empty_database(app: App, hyper_test_database_url: str | None) -> None:
    assert app.name == "teamboard" and app.settings.env == "test"
    assert app.database.dialect == ("postgresql" if hyper_test_database_url else "sqlite")
    async with app.database.engine.connect() as conn:
        users = (await conn.execute(sa.text("SELECT count(*) FROM hd_users"))).scalar()
        workspaces = (await conn.execute(sa.text("SELECT count(*) FROM workspaces"))).scalar()
    assert users == 0 and workspaces == 0


async def _count(app: App, table: str) -> int:
    async with app.database.engine.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_each_test_starts_on_an_empty_database(
    app: App, client: TestClient, login_as, app_factory, app_settings, hyper_databases, hyper_test_database_url, tmp_path
) -> None:
    await login_as("admin")
    assert (await client.post("/workspaces", json={"name": "Mine"})).json()["id"] == 1
    await client.aclose()
    await app.shutdown()
    # What the next test gets: on SQLite a copy of the template, on PostgreSQL the same
    # database emptied, its sequences restarted.
    target = hyper_databases.new_target(hyper_test_database_url, tmp_path)
    following = app_factory(app_settings.model_copy(update={"database_url": target.url}))
    try:
        await hyper_databases.materialize(following, target)
        assert await _count(following, "workspaces") == 0 and await _count(following, "hd_users") == 0
        async with TestClient(following) as c:
            users = Users(following)
            await users.log_in(c, await users.create("admin"))
            assert (await c.post("/workspaces", json={"name": "Again"})).json()["id"] == 1
    finally:
        await following.shutdown()
        await following.database.dispose()
        await hyper_databases.release(target)


async def test_login_as_a_role_makes_and_logs_in_a_user(client: TestClient, login_as) -> None:
    member = await login_as("member")
    assert isinstance(member, User) and member.role_set == {"member"}
    me = (await client.get("/auth/me")).json()
    assert me["id"] == member.id and me["roles"] == ["member"]
    r = await client.post("/workspaces/1/projects", json={"name": "x"})  # writes carry the CSRF token
    assert r.status_code == 404, r.text  # no workspace 1: past the role and CSRF checks


async def test_login_as_an_existing_user_by_row_email_or_id(client: TestClient, login_as, make_user) -> None:
    ada = await make_user("admin", email="ada@example.test", name="Ada")
    for who in (ada, "ada@example.test", ada.id):
        user = await login_as(who)
        assert user.id == ada.id
        assert (await client.get("/auth/me")).json()["email"] == "ada@example.test"
    nobody = await login_as()  # no role at all: what AUTHENTICATED operations allow
    assert nobody.role_set == frozenset()
    assert (await client.get("/auth/me")).status_code == 200
    assert (await client.get("/workspaces")).json() == []  # AUTHENTICATED: the workspaces they are a member of
    assert (await client.post("/workspaces", json={"name": "x"})).status_code == 403  # roles={"admin"}


async def test_login_as_another_client_and_logout_through_the_app(app: App, client: TestClient, login_as) -> None:
    await login_as("viewer")
    async with TestClient(app) as other:
        admin = await login_as("admin", client=other)
        assert (await other.get("/auth/me")).json()["id"] == admin.id
    assert (await client.get("/auth/me")).json()["roles"] == ["viewer"]
    assert (await client.post("/auth/logout")).status_code == 204  # the app's own Set-Cookie replaces the kit's
    assert (await client.get("/auth/me")).status_code == 401


async def test_a_role_the_app_does_not_declare_is_refused_with_its_roles(login_as) -> None:
    import pytest

    from hyperdeliver import BadRequest

    with pytest.raises(BadRequest, match=r"unknown roles \['owner'\]; the app declares \['admin', 'member', 'viewer'\]"):
        await login_as("owner")


async def test_api_token_authenticates_a_bearer_call(client: TestClient, api_token) -> None:
    token = await api_token("viewer")
    assert isinstance(token, BearerToken) and token.startswith("hd_") and token.user.role_set == {"viewer"}
    assert (await client.get("/workspaces")).status_code == 401
    assert (await client.get("/workspaces", headers=token.headers)).status_code == 200
    r = await client.post("/workspaces", json={"name": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403  # a viewer, not an admin; a token needs no CSRF header


async def test_grant_makes_a_user_a_member_of_a_scope(client: TestClient, login_as, grant) -> None:
    await login_as("admin")
    ws = (await client.post("/workspaces", json={"name": "Acme"})).json()
    ada = await grant("ada@example.test", "workspace", ws["id"], "member")
    await login_as(ada)
    assert (await client.get(f"/workspaces/{ws['id']}")).status_code == 200
    members = {(m["email"], m["role"]) for m in (await client.get(f"/workspaces/{ws['id']}/members")).json()}
    assert ("ada@example.test", "member") in members
    other = await grant("viewer", "workspace", 99, "admin")  # a role name: a new user with it
    await login_as(other)
    assert other.role_set == {"viewer"} and (await client.get(f"/workspaces/{ws['id']}")).status_code == 404
    import pytest

    with pytest.raises(TypeError, match="needs at least one role"):
        await grant(ada, "workspace", 1)
