"""/healthz, /readyz (503 until migrated), /metrics (Prometheus text); SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from hyperdeliver import App, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_healthz_readyz_metrics(client: TestClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": True, "migrations_current": True}
    await client.login("admin@teamboard.dev", "admin-password")
    for _ in range(3):
        assert (await client.get("/workspaces")).status_code == 200
    assert (await client.get("/tasks/424242")).status_code == 404
    await client.app.state["usage"].flush()
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
    from teamboard.app import create_app

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
    from teamboard.app import create_app

    app = create_app(settings_for(f"sqlite:///{tmp_path}/missing-dir/nope.sqlite3"))
    async with TestClient(app) as c:
        r = await c.get("/readyz")
        assert r.status_code == 503 and r.json()["database"] is False
    await app.database.dispose()
