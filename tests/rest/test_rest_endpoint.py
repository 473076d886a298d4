"""The REST endpoint built once per operation still reads, per request, what may change
while the app runs: the operation's handler and the settings."""
from __future__ import annotations

import logging

from hyperdeliver import App, Feature, PUBLIC, Settings, operation_of
from hyperdeliver.testing import TestClient

f = Feature("late", owner="a@b.c")


@f.query("GET /greet", roles=PUBLIC)
async def greet(ctx) -> str:  # type: ignore[no-untyped-def]
    return "original"


@f.query("GET /boom", roles=PUBLIC)
async def boom(ctx) -> str:  # type: ignore[no-untyped-def]
    raise RuntimeError("secret detail")


def _app(tmp_path, name="late", **kw) -> App:  # type: ignore[no-untyped-def]
    base = dict(env="test", database_url=f"sqlite:///{tmp_path}/{name}.db", var_dir=tmp_path, access_log=False, usage_enabled=False)
    return App(name, features=[f], settings=Settings(**(base | kw)))


async def test_a_handler_replaced_after_build_is_called(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = _app(tmp_path)
    op = operation_of(greet)

    async def patched(ctx) -> str:  # type: ignore[no-untyped-def]
        return "patched"

    op.handler = patched
    try:
        async with TestClient(app) as c:
            assert (await c.get("/greet")).json() == "patched"
            assert (await c.post("/graphql", json={"query": "{ greet }"})).json()["data"]["greet"] == "patched"
    finally:
        op.handler = greet


async def test_settings_changed_after_build_apply(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    app = _app(tmp_path, env="dev")
    app.settings.env = "production"  # no tracebacks in answers from now on
    app.settings.access_log = True
    logging.getLogger("hyperdeliver.error").disabled = True
    try:
        with caplog.at_level(logging.INFO, logger="hyperdeliver.access"):
            async with TestClient(app) as c:
                r = await c.get("/boom")
        assert r.status_code == 500 and "secret detail" not in r.text
        assert any('"path":"/boom"' in rec.getMessage() for rec in caplog.records if rec.name == "hyperdeliver.access")
    finally:
        logging.getLogger("hyperdeliver.error").disabled = False
