"""Plugins: the hooks the app calls and in what order, their mounts, finding one by type,
and the typed services the default plugins provide."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hyperdeliver import PUBLIC, App, ConfigurationError, Context, Feature, Operation, Plugin, Settings
from hyperdeliver.graphql import GraphQLPlugin
from hyperdeliver.jobs import JobQueue
from hyperdeliver.lifecycle import LifecycleStore
from hyperdeliver.plugins import Mount
from hyperdeliver.testing import TestClient
from hyperdeliver.types import Receive, Scope, Send
from hyperdeliver.usage import UsageRecorder

SETTINGS = Settings(env="test", database_url="sqlite://")

shop = Feature("shop", owner="ada@example.com")


@shop.query("GET /items", roles=PUBLIC)
async def list_items(ctx: Context) -> list[str]:
    return ["tea"]


class Recorder(Plugin):
    """Writes every hook the app calls, in order, to a shared list."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    def setup(self, app: App) -> None:
        self.calls.append(f"{self.name}.setup")

    def receive_operation(self, op: Operation) -> None:
        self.calls.append(f"{self.name}.receive {op.qualname}")

    def mounts(self) -> Sequence[Mount]:
        self.calls.append(f"{self.name}.mounts")
        return [(f"/{self.name}", self.hello)]

    async def startup(self, app: App) -> None:
        self.calls.append(f"{self.name}.startup")

    async def shutdown(self, app: App) -> None:
        self.calls.append(f"{self.name}.shutdown")

    async def hello(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = f"{self.name} at {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})



async def test_hooks_run_in_order_and_shutdown_in_reverse() -> None:
    calls: list[str] = []
    app = App("a", features=[shop], settings=SETTINGS, plugins=[Recorder("one", calls), Recorder("two", calls)])
    built = [c for c in calls if "auth." not in c]  # the auth feature's operations are received too
    assert built == [
        "one.setup", "two.setup",
        "one.receive shop.list_items", "two.receive shop.list_items",
        "one.mounts", "two.mounts",
    ]
    calls.clear()
    await app.startup()
    await app.shutdown()
    assert calls == ["one.startup", "two.startup", "two.shutdown", "one.shutdown"]
    await app.database.dispose()


async def test_a_plugins_mount_answers_under_its_prefix() -> None:
    app = App("a", features=[shop], settings=SETTINGS, plugins=[Recorder("probe", [])])
    async with TestClient(app) as c:
        r = await c.get("/probe/deeper")
        assert r.status_code == 200 and r.text == "probe at /probe/deeper"
        assert (await c.get("/items")).json() == ["tea"]  # the operations still come first
        assert (await c.get("/elsewhere")).status_code == 404


def test_a_plugin_added_later_gets_every_hook() -> None:
    calls: list[str] = []
    app = App("a", features=[shop], settings=SETTINGS, plugins=[])
    app.add_plugin(Recorder("late", calls))
    assert calls[0] == "late.setup" and "late.receive shop.list_items" in calls and calls[-1] == "late.mounts"
    assert app.plugin(Recorder).name == "late"


def test_two_plugins_with_one_name_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="two plugins are named 'twin'"):
        App("a", settings=SETTINGS, plugins=[Recorder("twin", []), Recorder("twin", [])])


def test_an_object_lacking_hooks_is_refused_with_what_it_lacks() -> None:
    class Partial:
        name = "partial"

        def setup(self, app: App) -> None: ...

    with pytest.raises(TypeError, match="it lacks receive_operation, mounts, startup, shutdown .*subclass hyperdeliver.Plugin"):
        App("a", settings=SETTINGS, plugins=[Partial()])  # type: ignore[list-item]


def test_a_plugin_is_found_by_type() -> None:
    app = App("a", features=[shop], settings=SETTINGS)
    assert "listItems: [String!]" in app.plugin(GraphQLPlugin).sdl()
    bare = App("b", features=[shop], settings=SETTINGS, plugins=[])
    with pytest.raises(LookupError, match="the app 'b' has no GraphQLPlugin"):
        bare.plugin(GraphQLPlugin)


def test_the_default_plugins_provide_typed_services() -> None:
    app = App("a", features=[shop], settings=SETTINGS)
    assert isinstance(app.jobs, JobQueue) and isinstance(app.usage, UsageRecorder) and isinstance(app.lifecycle, LifecycleStore)
    assert [p.name for p in app.plugins] == ["rest", "openapi", "graphql", "jobs", "lifecycle", "dashboard", "usage", "ops"]
    bare = App("b", features=[shop], settings=SETTINGS, plugins=[])
    assert (bare.jobs, bare.usage, bare.lifecycle) == (None, None, None)
    quiet = App("c", features=[shop], settings=Settings(env="test", database_url="sqlite://", usage_enabled=False))
    assert quiet.usage is None and quiet.jobs is not None
