"""Fixtures for the usage tests: a tiny app with a product event, migrated, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hyperdeliver import PUBLIC, App, Feature, Settings
from hyperdeliver.db.migrate import upgrade_async

probe = Feature("probe", owner="qa@example.com", summary="test probe")


@probe.query("GET /probe/ok", roles=PUBLIC)
async def probe_ok(ctx: Any) -> dict[str, bool]:
    ctx.track("probe_seen", plan="pro")
    return {"ok": True}


@probe.query("GET /probe/boom", roles=PUBLIC)
async def probe_boom(ctx: Any) -> dict[str, bool]:
    raise RuntimeError("boom")


@pytest.fixture
def probe_feature() -> Feature:
    return probe


@pytest.fixture
def make_app(database_url: str, settings_for: Callable[..., Settings]) -> Callable[..., Any]:
    apps: list[App] = []

    async def build(**kw: Any) -> App:
        app = App("probe", features=[probe], settings=settings_for(database_url, **kw))
        await upgrade_async(app)
        apps.append(app)
        return app

    return build


@pytest.fixture
async def usage_app(make_app: Callable[..., Any]) -> AsyncIterator[App]:
    app = await make_app(release="1.0.0", release_sha="abc123")
    yield app
    await app.shutdown()
    await app.database.dispose()
