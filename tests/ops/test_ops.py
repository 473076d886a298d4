"""/healthz, /readyz (503 until migrated), /metrics (Prometheus text); SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from prometheus_client.parser import text_string_to_metric_families

from hyperdeliver import App, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.ops import OpsPlugin
from hyperdeliver.testing import TestClient


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
async def make_app_for_ops(database_url: str, settings_for: Callable[..., Settings]) -> AsyncIterator[Callable[..., Any]]:
    """The migrated teamboard app with settings overridden; closed at teardown, whatever
    the test opened on it."""
    apps: list[App] = []

    async def build(**kw: Any) -> App:
        from hyperdeliver.demo.teamboard.app import create_app
        from hyperdeliver.demo.teamboard.seed import seed

        app = create_app(settings_for(database_url, **kw))
        apps.append(app)
        await upgrade_async(app)
        await seed(app)
        return app

    yield build
    for app in apps:
        await app.shutdown()
        recorder = app.usage
        if recorder is not None:
            await recorder.stop()
        await app.database.dispose()


async def test_healthz_readyz_metrics(client: TestClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": True, "migrations_current": True}
    await client.login("admin@teamboard.dev", "admin-password")
    for _ in range(3):
        assert (await client.get("/workspaces")).status_code == 200
    assert (await client.get("/tasks/424242")).status_code == 404
    await client.app.usage.flush()
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    m = samples(r.text)
    assert m[("hd_requests_total", (("feature", "workspaces"), ("operation", "list_workspaces"), ("status", "200")))] == 3
    assert m[("hd_requests_total", (("feature", "tasks"), ("operation", "get_task"), ("status", "404")))] == 1
    assert m[("hd_request_duration_seconds_count", (("feature", "workspaces"), ("operation", "list_workspaces")))] == 3
    produced = m[("hd_usage_events_produced_total", ())]
    assert produced >= 5  # login + 4 calls
    assert produced == m[("hd_usage_events_persisted_total", ())] + m[("hd_usage_events_dropped_total", ())]
    assert m[("hd_usage_flush_seconds_count", ())] >= 1


async def test_readyz_503_when_migrations_are_not_current(database_url: str, settings_for: Callable[..., Settings]) -> None:
    from hyperdeliver.demo.teamboard.app import create_app

    app: App = create_app(settings_for(database_url))
    async with TestClient(app) as c:
        r = await c.get("/readyz")
        assert r.status_code == 503
        assert r.json() == {"status": "unavailable", "database": True, "migrations_current": False}
        assert (await c.get("/healthz")).status_code == 200
    await upgrade_async(app)
    async with TestClient(app) as c:
        assert (await c.get("/readyz")).status_code == 200
    await app.database.dispose()


async def test_readyz_503_when_database_unreachable(settings_for: Callable[..., Settings], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hyperdeliver.demo.teamboard.app import create_app

    app = create_app(settings_for(f"sqlite:///{tmp_path}/missing-dir/nope.sqlite3"))
    async with TestClient(app) as c:
        r = await c.get("/readyz")
        assert r.status_code == 503 and r.json()["database"] is False
    await app.database.dispose()


async def test_request_metrics_come_from_the_usage_buffer_exactly_once(client: TestClient) -> None:
    """With usage on, the request metrics are read from the recorder: calls still
    buffered count at scrape time, and a flush hands them over without counting twice."""
    app = client.app
    rec = app.usage
    assert all(getattr(o, "__self__", None) is not app.plugin(OpsPlugin).metrics.calls for o in app.controller.observers)
    await client.login("admin@teamboard.dev", "admin-password")
    key = ("hd_requests_total", (("feature", "workspaces"), ("operation", "list_workspaces"), ("status", "200")))
    count = ("hd_request_duration_seconds_count", (("feature", "workspaces"), ("operation", "list_workspaces")))
    for _ in range(2):
        assert (await client.get("/workspaces")).status_code == 200
    assert len(rec.buffer) >= 2
    before = samples((await client.get("/metrics")).text)
    assert before[key] == 2 and before[count] == 2
    await rec.flush()
    assert (await client.get("/workspaces")).status_code == 200
    after = samples((await client.get("/metrics")).text)
    assert after[key] == 3 and after[count] == 3
    assert after[("hd_request_duration_seconds_sum", count[1])] > 0


async def test_request_metrics_count_the_calls_a_full_buffer_drops(make_app_for_ops: Any) -> None:
    app = await make_app_for_ops(usage_buffer_max=2, usage_flush_size=10_000, usage_flush_interval=3600)
    async with TestClient(app) as c:
        await c.login("admin@teamboard.dev", "admin-password")
        for _ in range(4):
            assert (await c.get("/workspaces")).status_code == 200
        m = samples((await c.get("/metrics")).text)
        rec = app.usage
        assert rec.counters()["dropped"] >= 3
        assert m[("hd_requests_total", (("feature", "workspaces"), ("operation", "list_workspaces"), ("status", "200")))] == 4
    await app.database.dispose()


async def test_ops_endpoints_answer_only_get_and_head_at_their_exact_path(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        get = await client.get(path)
        assert get.status_code == 200 and get.content
        head = await client.head(path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            r = await client.request(method, path)
            assert r.status_code == 405, (method, path)
            assert r.headers["content-type"] == "application/problem+json" and r.headers["allow"] == "GET, HEAD"
            assert r.json()["status"] == 405 and r.json()["instance"] == path
        for sub in (path + "/", path + "/extra"):
            r = await client.get(sub)
            assert r.status_code == 404, sub
            assert r.headers["content-type"] == "application/problem+json" and r.json()["status"] == 404
        assert (await client.post(path + "/x")).status_code == 404


async def test_readyz_head_keeps_the_503_without_a_body(database_url: str, settings_for: Callable[..., Settings]) -> None:
    from hyperdeliver.demo.teamboard.app import create_app

    app: App = create_app(settings_for(database_url))
    async with TestClient(app) as c:
        r = await c.head("/readyz")
        assert r.status_code == 503 and r.content == b""
    await app.database.dispose()
