"""Security headers on every answer of every kind, a strict CSP on the HTML pages, HSTS in production."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from hyperdeliver import App, Feature, PUBLIC, Settings
from hyperdeliver.testing import TestClient

def check(r: httpx.Response, kind: str = "api") -> None:
    """``kind``: ``data`` (an operation's successful JSON: nosniff, HSTS in production),
    ``api`` (any other non-HTML answer: problems, 404s, /metrics), ``html`` (pages)."""
    where = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
    assert r.headers.get("x-content-type-options") == "nosniff", (where, dict(r.headers))
    if kind == "data":
        return
    assert r.headers.get("x-frame-options") == "DENY", (where, dict(r.headers))
    assert r.headers.get("referrer-policy") in ("no-referrer", "strict-origin-when-cross-origin"), (where, dict(r.headers))
    if kind == "html":
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, (where, csp)
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src and script_src.group(1) == "'self'", (where, csp)
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp, (where, csp)
        # no inline script to need an exception: every <script> has a src or is a JSON data block
        for tag in re.findall(r"<script\b[^>]*>", r.text):
            assert "src=" in tag or 'type="application/json"' in tag, (where, tag)


async def test_every_kind_of_answer_carries_the_headers(client: TestClient) -> None:
    anon = [
        await client.get("/openapi.json"),
        await client.get("/docs/static/docs-init.js"),
        await client.get("/no/such/path"),
        await client.delete("/auth/me"),  # 405
        await client.get("/auth/me"),  # 401
        await client.post("/auth/login", json={"email": "x"}),  # 422
        await client.post("/auth/login", content=b"a=b", headers={"content-type": "text/plain"}),  # 415
        await client.post("/auth/login", json={"email": "nobody@t.dev", "password": "wrong"}),  # 401
        await client.get("/healthz"),
        await client.get("/readyz"),
        await client.get("/metrics"),
        await client.post("/graphql", json={"query": "{ me { email } }"}),
        await client.post("/graphql", json={"query": "{"}),  # 400
        await client.get("/_hyper/"),  # redirect to the login page
        await client.get("/_hyper/static/nope.js"),
        await client.head("/openapi.json"),
    ]
    for r in anon:
        check(r)
    for r in (await client.get("/docs"), await client.get("/_hyper/login")):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        check(r, "html")
    await client.login("admin@teamboard.dev", "admin-password")
    for r in (await client.get("/_hyper/"), await client.get("/_hyper/features"), await client.get("/_hyper/jobs")):
        assert r.status_code == 200, r.text
        check(r, "html")
    for r in (await client.get("/auth/me"), await client.post("/auth/tokens", json={"name": "t"}), await client.post("/auth/logout")):
        assert r.status_code in (200, 201, 204)
        check(r, "data")
    assert "strict-transport-security" not in anon[0].headers  # not in test


async def test_a_500_and_production_hsts(settings_for: Callable[..., Settings], sqlite_url: str) -> None:
    boom = Feature("boom", owner="t@t.dev")

    @boom.query("GET /boom", roles=PUBLIC)
    async def explode(ctx: object) -> dict[str, str]:
        raise RuntimeError("boom")

    app = App("hdrs", features=[boom], settings=settings_for(sqlite_url, env="production", secret_key="x" * 40, hsts_max_age=600))
    async with TestClient(app) as c:
        for r in (await c.get("/boom"), await c.get("/nope"), await c.get("/openapi.json"), await c.get("/auth/me")):
            check(r)
            assert r.headers["strict-transport-security"] == "max-age=600", r.headers
        assert (await c.get("/boom")).status_code == 500


async def test_graphiql_page_in_dev_has_no_inline_script(settings_for: Callable[..., Settings], sqlite_url: str) -> None:
    app = App("gq", settings=settings_for(sqlite_url, env="dev"))
    async with TestClient(app) as c:
        r = await c.get("/graphql", headers={"accept": "text/html"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        check(r, "html")
        assert (await c.get("/graphql/static/graphiql-init.js")).status_code == 200


async def test_the_whole_set_on_data_answers_when_asked(settings_for: Callable[..., Settings], sqlite_url: str) -> None:
    ok = Feature("ok", owner="t@t.dev")

    @ok.query("GET /ok", roles=PUBLIC)
    async def fine(ctx: object) -> dict[str, str]:
        return {"ok": "yes"}

    for on_data, full in ((False, False), (True, True)):
        app = App("hdrs", features=[ok], settings=settings_for(sqlite_url, security_headers_on_data=on_data))
        async with TestClient(app) as c:
            r = await c.get("/ok")
            check(r, "api" if full else "data")
            assert ("referrer-policy" in r.headers) is full


async def test_hsts_only_over_https_the_scheme_or_a_trusted_proxys_forwarded_proto(settings_for: Callable[..., Settings], sqlite_url: str) -> None:
    """RFC 6797 §7.2: no Strict-Transport-Security over plain HTTP (a browser ignores it there);
    behind a trusted TLS-terminating proxy, its ``X-Forwarded-Proto: https`` counts, not an untrusted peer's."""
    settings = settings_for(sqlite_url, env="production", secret_key="x" * 40, trusted_proxies=["10.0.0.0/8"])
    app = App("hsts", settings=settings)
    paths = ("/auth/me", "/nope", "/healthz", "/openapi.json")
    async with TestClient(app, base_url="http://testserver") as plain:
        for path in paths:
            r = await plain.get(path)
            check(r)
            assert "strict-transport-security" not in r.headers, (path, r.headers)
    async with TestClient(app, base_url="http://testserver", client=("10.1.2.3", 5000)) as behind_proxy:
        for path in paths:
            r = await behind_proxy.get(path, headers={"x-forwarded-proto": "https"})
            assert r.headers["strict-transport-security"] == "max-age=31536000", (path, r.headers)
    async with TestClient(app, base_url="http://testserver", client=("203.0.113.9", 5000)) as stranger:
        r = await stranger.get("/auth/me", headers={"x-forwarded-proto": "https"})
        assert "strict-transport-security" not in r.headers
