"""App start-up checks: every problem found at once, each with a stable id and a fix."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import text

from hyperdeliver import PUBLIC, App, ConfigurationError, Context, Feature, Settings

SETTINGS = Settings(env="test", database_url="sqlite://")


def feature_with(roles, name: str = "f", op_name: str = "thing"):  # type: ignore[no-untyped-def]
    f = Feature(name, owner="o@t.dev")

    @f.query(f"GET /{name}/{op_name}", roles=roles, name=op_name)
    async def handler(ctx: Context) -> int:
        return 1

    return f


def test_operation_without_roles_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ConfigurationError) as err:
        App("a", features=[feature_with(None)], roles=["member"], settings=SETTINGS)
    message = str(err.value)
    assert "hd.E001" in message and "f.thing" in message and "roles=PUBLIC" in message


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"hd\.E002 f\.thing names unknown roles \['wizard'\]"):
        App("a", features=[feature_with({"wizard"})], roles=["member"], settings=SETTINGS)


def test_duplicate_operation_names_are_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"hd\.E003"):
        App("a", features=[feature_with(PUBLIC, "f"), feature_with(PUBLIC, "g")], roles=["member"], settings=SETTINGS)


def test_two_operations_one_graphql_field_are_refused() -> None:
    f = Feature("f", owner="o@t.dev")

    @f.query("GET /a", roles=PUBLIC, name="list_items")
    async def one(ctx: Context) -> int:
        return 1

    @f.query("GET /b", roles=PUBLIC, name="listItems")
    async def two(ctx: Context) -> int:
        return 2

    with pytest.raises(ConfigurationError, match=r"hd\.E003 operations f\.list_items and f\.listItems are both the GraphQL field 'listItems'"):
        App("a", features=[f], roles=["member"], settings=SETTINGS)
    App("a", features=[f], roles=["member"], settings=SETTINGS, plugins=[])  # no GraphQL: no clash


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as err:
        App("a", features=[feature_with(None, "f", "one"), feature_with({"x"}, "g", "two")], roles=["member"], settings=SETTINGS)
    assert "hd.E001" in str(err.value) and "hd.E002" in str(err.value)


def test_feature_needs_an_owner_and_a_valid_name() -> None:
    with pytest.raises(ConfigurationError, match="owner"):
        Feature("x", owner="")
    with pytest.raises(ConfigurationError, match="letters"):
        Feature("bad name!", owner="o@t.dev")


def test_features_are_discovered_from_a_package() -> None:
    from hyperdeliver.demo.teamboard.app import create_app

    app = create_app(SETTINGS)
    assert {"auth", "workspaces", "projects", "tasks", "comments"} <= set(app.features)
    owners = {f.owner for name, f in app.features.items() if name != "auth"}
    assert len(owners) >= 3


def test_roles_hierarchy_expands() -> None:
    from hyperdeliver.demo.teamboard.app import create_app

    app = create_app(SETTINGS)
    assert app.role_hierarchy.allows(app.role_hierarchy.expand({"admin"}), frozenset({"member"}))
    assert not app.role_hierarchy.allows(app.role_hierarchy.expand({"viewer"}), frozenset({"member"}))


def test_declaring_after_start_is_refused() -> None:
    f = feature_with(PUBLIC)
    App("a", features=[f], roles=["member"], settings=SETTINGS)
    with pytest.raises(ConfigurationError, match="import time"):

        @f.query("GET /late", roles=PUBLIC)
        async def late(ctx: Context) -> int:
            return 1


SECRET = "a-production-secret-of-at-least-32-characters"


def test_production_refuses_the_default_or_a_short_secret_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = {"env": "production", "database_url": f"sqlite:///{tmp_path}/s.sqlite3", "var_dir": tmp_path}
    for key in (None, "short"):
        settings = Settings(**base, **({"secret_key": key} if key else {}))  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="hd.E010 HYPER_SECRET_KEY") as info:
            App("sk", settings=settings)
        assert "\n" not in str(info.value)
    App("sk", settings=Settings(**base, secret_key=SECRET))  # type: ignore[arg-type]
    App("sk", settings=Settings(env="dev", database_url=f"sqlite:///{tmp_path}/s.sqlite3", var_dir=tmp_path))


@pytest.mark.parametrize(("env", "setting", "frozen"), [("production", None, True), ("test", None, False), ("test", True, True), ("production", False, False)])
async def test_a_server_start_freezes_the_objects_alive_then_out_of_the_gc(tmp_path, env, setting, frozen) -> None:  # type: ignore[no-untyped-def]
    app = App("gcf", features=[feature_with(PUBLIC)], settings=Settings(
        env=env, gc_freeze=setting, database_url=f"sqlite:///{tmp_path}/gc.sqlite3", var_dir=tmp_path, access_log=False, secret_key=SECRET))
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    counts: list[int] = []

    async def receive() -> dict[str, str]:
        return inbox.pop(0)

    async def send(message: dict[str, str]) -> None:
        if message["type"] == "lifespan.startup.complete":
            counts.append(gc.get_freeze_count())

    assert gc.get_freeze_count() == 0
    await app({"type": "lifespan"}, receive, send)
    assert (counts[0] > 0) is frozen
    assert gc.get_freeze_count() == 0  # unfrozen again at shutdown


@pytest.mark.integration
async def test_shutdown_closes_the_connections_of_an_app_that_never_started(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A test or a script that migrates an app or reads through it without its lifespan
    leaves pooled connections: shutdown closes them, started or not."""
    app = App("never", features=[feature_with(PUBLIC)], settings=Settings(
        env="test", database_url=f"sqlite:///{tmp_path}/n.sqlite3", var_dir=tmp_path, access_log=False))
    async with app.database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    assert app.database.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    await app.shutdown()
    assert app.database.engine.pool.checkedin() == 0  # type: ignore[attr-defined]
