"""Limits: depth, aliases, tokens, batching, introspection, each refused before any resolver runs.

``app.features["probe"].calls`` counts probe handler calls; a refused document leaves it at 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hyperdeliver import App, Settings
from hyperdeliver.testing import TestClient


def calls(app: App) -> int:
    return int(app.features["probe"].calls)  # type: ignore[attr-defined]  # the probe's own counter (conftest.py)


def chain_query(depth: int) -> str:
    """``{ chain(levels: 20) { level child { level child { ... } } } }``, ``depth`` fields deep."""
    inner = "level"
    for _ in range(depth - 2):
        inner = f"level child {{ {inner} }}"
    return f"{{ chain(levels: 20) {{ {inner} }} }}"


async def test_limits_accept_a_query_within_them(probe_client: TestClient, probe_app: App) -> None:
    r = await probe_client.post("/graphql", json={"query": chain_query(10)})
    assert r.status_code == 200, r.text
    node = r.json()["data"]["chain"]
    levels = []
    while node:
        levels.append(node["level"])
        node = node.get("child")
    assert levels == list(range(1, 10))
    assert calls(probe_app) == 1


async def test_depth_limit_refuses_before_any_resolver(probe_client: TestClient, probe_app: App) -> None:
    r = await probe_client.post("/graphql", json={"query": chain_query(11)})
    assert r.status_code == 400
    (err,) = r.json()["errors"]
    assert err["extensions"]["code"] == "MAX_DEPTH_EXCEEDED" and "11" in err["message"]
    # Hidden in fragments (and next to a cheap field): still counted, still refused.
    fragments = "fragment A on Node { child { ...B } } fragment B on Node { child { child { ...C } } } " + (
        "fragment C on Node { child { child { child { child { child { child { level } } } } } } }"
    )
    r = await probe_client.post("/graphql", json={"query": "{ ping chain(levels: 20) { ...A } } " + fragments})
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "MAX_DEPTH_EXCEEDED"
    assert calls(probe_app) == 0


async def test_alias_limit_refuses_before_any_resolver(probe_client: TestClient, probe_app: App) -> None:
    many = " ".join(f"p{i}: ping" for i in range(16))
    r = await probe_client.post("/graphql", json={"query": f"{{ {many} }}"})
    assert r.status_code == 400
    (err,) = r.json()["errors"]
    assert err["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
    assert calls(probe_app) == 0
    fifteen = " ".join(f"p{i}: ping" for i in range(15))
    r = await probe_client.post("/graphql", json={"query": f"{{ {fifteen} }}"})
    assert r.json()["data"]["p14"] == "pong"
    assert calls(probe_app) == 15


async def test_token_limit_refuses_before_any_resolver(probe_client: TestClient, probe_app: App) -> None:
    huge = "{ ping " + "__typename " * 2100 + "}"
    r = await probe_client.post("/graphql", json={"query": huge})
    assert r.status_code == 400
    (err,) = r.json()["errors"]
    assert err["extensions"]["code"] == "MAX_TOKENS_EXCEEDED"
    assert calls(probe_app) == 0


async def test_limits_follow_the_settings(probe_settings: Callable[..., Settings], probe_factory: Any) -> None:
    app = await probe_factory(probe_settings(graphql_max_depth=3, graphql_max_aliases=0, graphql_max_tokens=30))
    async with TestClient(app) as c:
        r = await c.post("/graphql", json={"query": chain_query(4)})
        assert r.json()["errors"][0]["extensions"]["code"] == "MAX_DEPTH_EXCEEDED"
        r = await c.post("/graphql", json={"query": "{ a: ping }"})
        assert r.json()["errors"][0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
        r = await c.post("/graphql", json={"query": "{ ping " + "__typename " * 30 + "}"})
        assert r.json()["errors"][0]["extensions"]["code"] == "MAX_TOKENS_EXCEEDED"
        assert calls(app) == 0
        r = await c.post("/graphql", json={"query": chain_query(3)})
        assert r.json()["data"]["chain"]["child"] == {"level": 2}
        assert calls(app) == 1
    await app.database.dispose()


async def test_batching_is_refused_by_default(probe_client: TestClient, probe_app: App) -> None:
    r = await probe_client.post("/graphql", json=[{"query": "{ ping }"}, {"query": "{ ping }"}])
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "BATCHING_DISABLED"
    assert calls(probe_app) == 0


async def test_batching_when_enabled(probe_settings: Callable[..., Settings], probe_factory: Any) -> None:
    app = await probe_factory(probe_settings(graphql_batching=True))
    async with TestClient(app) as c:
        r = await c.post("/graphql", json=[{"query": "{ ping }"}, {"query": "{ nope }"}, {"query": "{ a: ping }"}])
        assert r.status_code == 200
        first, second, third = r.json()
        assert first == {"data": {"ping": "pong"}} and third == {"data": {"a": "pong"}}
        assert second["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert calls(app) == 2
    await app.database.dispose()


INTROSPECTION = "{ __schema { queryType { name } } }"
SECRET = "a-production-secret-of-at-least-32-characters"


async def test_introspection_is_refused_in_production(probe_settings: Callable[..., Settings], probe_factory: Any) -> None:
    app = await probe_factory(probe_settings(env="production", secret_key=SECRET))
    async with TestClient(app) as c:
        r = await c.post("/graphql", json={"query": INTROSPECTION})
        assert r.status_code == 400
        assert r.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        r = await c.post("/graphql", json={"query": '{ __type(name: "Node") { name } }'})
        assert r.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        assert calls(app) == 0
        # __typename is not introspection of the schema: clients need it.
        r = await c.post("/graphql", json={"query": "{ __typename ping }"})
        assert r.json() == {"data": {"__typename": "Query", "ping": "pong"}}
    await app.database.dispose()
    # Turned on explicitly, production serves it.
    app = await probe_factory(probe_settings(env="production", secret_key=SECRET, graphql_introspection=True))
    async with TestClient(app) as c:
        r = await c.post("/graphql", json={"query": INTROSPECTION})
        assert r.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    await app.database.dispose()


async def test_introspection_is_served_outside_production(probe_client: TestClient) -> None:
    r = await probe_client.post("/graphql", json={"query": INTROSPECTION})
    assert r.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_no_did_you_mean_suggestions_in_production(probe_settings: Callable[..., Settings], probe_factory: Any) -> None:
    """graphql-core's hints name the schema's fields (what turned-off introspection hides)."""
    mistyped = "{ chain(levels: 1) { levl } }"
    for env, hinted in (("production", False), ("test", True)):
        app = await probe_factory(probe_settings(env=env, secret_key=SECRET))
        async with TestClient(app) as c:
            r = await c.post("/graphql", json={"query": mistyped})
            message = r.json()["errors"][0]["message"]
            assert message.startswith("Cannot query field 'levl'"), message
            assert ("Did you mean" in message) is hinted, message
            r = await c.post("/graphql", json={"query": "query ($d: Int!) { chain(levels: $d) { level } }", "variables": {"d": "x"}})
            assert "Did you mean" not in r.text
        await app.database.dispose()
