"""REST routing on Starlette: the operations' Routes, the plugins' Mounts, 404/405 through
the exception table, and the index of static paths in front of the router."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Match, Mount, Route

from hyperdeliver import App, Context, Feature, PUBLIC, Settings
from hyperdeliver.rest.asgi import OperationsAt
from hyperdeliver.testing import TestClient

shop = Feature("shop", owner="ada@example.com")


@shop.query("GET /items/{item_id}", roles=PUBLIC)
async def get_item(ctx: Context, item_id: str) -> str:
    return f"item {item_id}"


@shop.query("GET /items/special", roles=PUBLIC)
async def special(ctx: Context) -> str:
    return "special"


@shop.mutation("DELETE /items/{item_id}", roles=PUBLIC, status=204)
async def delete_item(ctx: Context, item_id: str) -> None:
    return None


def _app(tmp_path: Path) -> App:
    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path}/r.db", var_dir=tmp_path, access_log=False, usage_enabled=False)
    return App("r", features=[shop], settings=settings)


async def test_the_index_holds_only_what_starlettes_router_picks(tmp_path: Path) -> None:
    app = _app(tmp_path)
    routes = app.rest.router.routes
    assert app.rest.static_endpoints
    for path, methods in app.rest.static_endpoints.items():
        for method, endpoint in methods.items():
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            first = next(r for r in routes if r.matches(scope)[0] is Match.FULL)
            assert isinstance(first, Route) and isinstance(first.endpoint, OperationsAt)
            assert first.endpoint.endpoint(method) is endpoint, (method, path)
    assert "/graphql" in app.rest.static_apps and "/_hyper" in app.rest.static_apps
    for path, plugin_app in app.rest.static_apps.items():
        for method in ("GET", "POST", "DELETE"):
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            first = next(r for r in routes if r.matches(scope)[0] is Match.FULL)
            assert isinstance(first, Route) and first.endpoint is plugin_app, (method, path)
    # static paths first, then templated ones, then the mounts (the longest prefix first)
    kinds = ["static" if isinstance(r, Route) and isinstance(r.endpoint, OperationsAt) and not r.param_convertors
             else "templated" if isinstance(r, Route) and isinstance(r.endpoint, OperationsAt) else "mount" for r in routes]
    assert kinds == sorted(kinds, key=["static", "templated", "mount"].index)
    mounts = [r.path for r in routes if isinstance(r, Mount)]
    assert mounts == sorted(mounts, key=len, reverse=True) and "/_hyper" in mounts
    await app.database.dispose()


async def test_starlette_routes_what_the_index_does_not_hold(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with TestClient(app) as c:
        assert (await c.get("/items/7")).json() == "item 7"  # a path parameter, from Starlette's match
        assert (await c.get("/items/special")).json() == "special"  # a static path wins over the template
        assert (await c.delete("/items/7")).status_code == 204
        head = await c.head("/items/7")
        assert head.status_code == 200 and head.content == b""
        r = await c.put("/items/7")
        assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"  # the declared methods: HEAD comes with GET
        assert r.json()["detail"] == "PUT is not served at /items/7; use DELETE, GET"
        assert r.headers["content-type"] == "application/problem+json" and r.headers["x-frame-options"] == "DENY"
        r = await c.get("/items/7/")
        assert r.status_code == 404 and r.json()["detail"] == "no operation at /items/7/"  # no redirect
        r = await c.get("/items/special/more")
        assert r.status_code == 404 and r.headers["x-content-type-options"] == "nosniff"
        r = await c.delete("/items/special")  # not served by the static route: Starlette goes on to the template
        assert r.status_code == 204


async def test_a_template_that_matches_a_plugins_prefix_keeps_it_out_of_the_index(tmp_path: Path) -> None:
    catch_all = Feature("catch", owner="ada@example.com")

    @catch_all.query("GET /{slug}", roles=PUBLIC)
    async def page(ctx: Context, slug: str) -> str:
        return slug

    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path}/c.db", var_dir=tmp_path, access_log=False, usage_enabled=False)
    app = App("c", features=[catch_all], settings=settings)
    assert "/graphql" not in app.rest.static_apps  # GET /graphql is the template's: Starlette decides
    async with TestClient(app) as c:
        assert (await c.get("/graphql")).json() == "graphql"
        assert (await c.post("/graphql", json={"query": "{ page(slug: \"x\") }"})).json() == {"data": {"page": "x"}}


async def test_the_docs_and_graphiqls_files_are_starlette_routes(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with TestClient(app) as c:
        r = await c.get("/docs/static/docs-init.js")
        assert r.status_code == 200 and r.headers["content-type"] == "application/javascript"
        assert r.headers["cache-control"] == "public, max-age=86400"
        r = await c.get("/docs/static/SWAGGER-UI-LICENSE")  # in the folder, not served
        assert r.status_code == 404 and r.json()["detail"] == "no page at /docs/static/SWAGGER-UI-LICENSE"
        r = await c.post("/openapi.json")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
        r = await c.get("/graphql/static/graphiql.min.js")  # outside dev mode
        assert r.status_code == 404 and r.json()["detail"] == "no page at /graphql/static/graphiql.min.js"
        assert (await c.get("/graphql/elsewhere")).json()["detail"] == "no page at /graphql/elsewhere"
