"""The /graphql endpoint over HTTP: methods, bodies, tokens, 500s, usage, GraphiQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hyperdeliver import App, Settings
from hyperdeliver.testing import TestClient


async def test_get_serves_queries_and_refuses_mutations(probe_client: TestClient, probe_app: App) -> None:
    r = await probe_client.get("/graphql", params={"query": "query($n: Int) { chain(levels: $n) { level } }", "variables": '{"n": 2}'})
    assert r.status_code == 200
    assert r.json() == {"data": {"chain": {"level": 1}}}
    r = await probe_client.get("/graphql", params={"query": "mutation { bump }"})
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    r = await probe_client.put("/graphql", json={"query": "{ ping }"})
    assert r.status_code == 405
    assert probe_app.features["probe"].calls == 1  # type: ignore[attr-defined]


async def test_bad_requests_are_refused_with_a_code(probe_client: TestClient, probe_app: App) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "BAD_REQUEST"),
        ({"content": b"query=x", "headers": {"content-type": "application/x-www-form-urlencoded"}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"json": {"variables": {}}}, 400, "GRAPHQL_PARSE_FAILED"),
        ({"json": {"query": "{ ping "}}, 400, "GRAPHQL_PARSE_FAILED"),
        ({"json": {"query": "{ nothing }"}}, 400, "GRAPHQL_VALIDATION_FAILED"),
        ({"json": {"query": "{ ping }", "variables": [1]}}, 400, "BAD_REQUEST"),
        ({"json": "just a string"}, 400, "BAD_REQUEST"),
    ]
    for kwargs, status, code in cases:
        r = await probe_client.post("/graphql", **kwargs)
        assert r.status_code == status, (kwargs, r.text)
        assert r.json()["errors"][0]["extensions"]["code"] == code, (kwargs, r.text)
    # A variable of the wrong type: the caller's input.
    r = await probe_client.post("/graphql", json={"query": "query($n: Int) { chain(levels: $n) { level } }", "variables": {"n": "x"}})
    assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # application/graphql bodies are accepted as the document.
    r = await probe_client.post("/graphql", content=b"{ ping }", headers={"content-type": "application/graphql"})
    assert r.json() == {"data": {"ping": "pong"}}
    assert probe_app.features["probe"].calls == 1  # type: ignore[attr-defined]


async def test_bearer_token_mutations_need_no_csrf(probe_client: TestClient, probe_app: App, api_token: Any) -> None:
    token = await api_token(probe_app, "member@teamboard.dev")
    r = await probe_client.post("/graphql", json={"query": "mutation { bump }"}, headers={"authorization": f"Bearer {token}"})
    assert r.json() == {"data": {"bump": 1}}
    r = await probe_client.post(
        "/graphql", json={"query": "mutation { bump }"}, headers={"authorization": "Bearer hd_nope_nope"}
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    viewer = await api_token(probe_app, "viewer@teamboard.dev")
    r = await probe_client.post("/graphql", json={"query": "mutation { bump }"}, headers={"authorization": f"Bearer {viewer}"})
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert probe_app.features["probe"].calls == 1  # type: ignore[attr-defined]


async def test_authentication_happens_once_per_request(probe_client: TestClient, probe_app: App, api_token: Any) -> None:
    token = await api_token(probe_app, "member@teamboard.dev")
    seen: list[Any] = []
    auth = probe_app.auth
    original = auth.authenticate_token

    async def counting(raw: str) -> Any:
        seen.append(raw)
        return await original(raw)

    auth.authenticate_token = counting  # type: ignore[method-assign]
    try:
        r = await probe_client.post(
            "/graphql", json={"query": "{ a: ping b: ping me { email } listWorkspaces { name } }"}, headers={"authorization": f"Bearer {token}"}
        )
    finally:
        auth.authenticate_token = original  # type: ignore[method-assign]
    assert r.json()["data"]["me"] == {"email": "member@teamboard.dev"}
    assert len(seen) == 1


async def test_usage_is_observed_per_field_with_interface_graphql(probe_client: TestClient, probe_app: App) -> None:
    observed: list[tuple[str, str, int]] = []
    probe_app.controller.observers.append(lambda op, ctx, status, _s: observed.append((op.qualname, ctx.interface, status)))
    r = await probe_client.post("/graphql", json={"query": "{ ping chain { level } me { email } }"})
    assert r.json()["data"]["ping"] == "pong"
    assert sorted(observed) == [("auth.me", "graphql", 401), ("probe.chain", "graphql", 200), ("probe.ping", "graphql", 200)]


async def test_unexpected_errors_hide_internals_outside_dev(probe_client: TestClient) -> None:
    r = await probe_client.post("/graphql", json={"query": "{ boom ping }"})
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"boom": None, "ping": "pong"}
    (err,) = body["errors"]
    assert err["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "status": 500}
    assert "secret internals" not in r.text and "Traceback" not in r.text


async def test_dev_mode_shows_the_error_and_serves_graphiql(probe_settings: Callable[..., Settings], probe_factory: Any) -> None:
    app = await probe_factory(probe_settings(env="dev"))
    async with TestClient(app) as c:
        r = await c.post("/graphql", json={"query": "{ boom }"})
        err = r.json()["errors"][0]
        assert err["message"] == "RuntimeError: secret internals"
        assert any("Traceback" in line for line in err["extensions"]["traceback"])
        page = await c.get("/graphql", headers={"accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script src="/graphql/static/graphiql.min.js">' in page.text
        assert "https://" not in page.text  # nothing from a CDN
        for name in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"):
            asset = await c.get(f"/graphql/static/{name}")
            assert asset.status_code == 200 and len(asset.content) > 5000, name
        assert (await c.get("/graphql/static/../../etc/passwd")).status_code == 404
    await app.database.dispose()


async def test_graphiql_is_not_served_outside_dev(probe_client: TestClient) -> None:
    page = await probe_client.get("/graphql", headers={"accept": "text/html"})
    assert not page.headers["content-type"].startswith("text/html")
    assert page.status_code == 400
    assert (await probe_client.get("/graphql/static/graphiql.min.js")).status_code == 404


async def test_an_output_the_schema_cannot_carry_is_a_server_error(probe_client: TestClient) -> None:
    r = await probe_client.post("/graphql", json={"query": "{ bigNode { level child { level } } bigList ping }"})
    body = r.json()
    # The nullable child and the list field are nulled; their siblings stay.
    assert body["data"] == {"bigNode": {"level": 1, "child": None}, "bigList": None, "ping": "pong"}
    assert sorted((tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"]) == [
        (("bigList", 1), "INTERNAL_SERVER_ERROR"),
        (("bigNode", "child", "level"), "INTERNAL_SERVER_ERROR"),
    ]
