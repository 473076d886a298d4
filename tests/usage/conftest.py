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
async def make_app(database_url: str, settings_for: Callable[..., Settings]) -> AsyncIterator[Callable[..., Any]]:
    """``await make_app(**settings)``: the probe app, migrated, not started. At teardown
    its usage recorder closes its writer (a flush opened it even if the app never
    started) and its pools close."""
    apps: list[App] = []

    async def build(**kw: Any) -> App:
        app = App("probe", features=[probe], settings=settings_for(database_url, **kw))
        await upgrade_async(app)
        apps.append(app)
        return app

    yield build
    for app in apps:
        await close_app(app)


async def close_app(app: App) -> None:
    """Stop what a test may have opened on ``app`` whether or not it started: the app,
    its usage writer, its pools."""
    await app.shutdown()
    recorder = app.usage
    if recorder is not None:
        await recorder.stop()
    await app.database.dispose()


@pytest.fixture
async def usage_app(make_app: Callable[..., Any]) -> AsyncIterator[App]:
    yield await make_app(release="1.0.0", release_sha="abc123")
