"""Recording calls end to end: the observer, the batch flusher, the counters, shutdown."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from waiting import eventually

from hyperdeliver import App
from hyperdeliver.testing import TestClient
from hyperdeliver.usage import tables as t


async def rows(app: App, table: sa.Table) -> list[Any]:
    async with app.database.engine.connect() as conn:
        return list((await conn.execute(sa.select(table))).mappings().all())


async def test_rest_calls_are_persisted_with_their_fields(client: TestClient) -> None:
    app = client.app
    app.usage.release = "2.0.0"
    await client.login("admin@teamboard.dev", "admin-password")
    r = await client.get("/workspaces")
    assert r.status_code == 200
    assert (await client.get("/tasks/999999")).status_code == 404
    await app.usage.flush()
    events = [e for e in await rows(app, t.events) if e["feature"] != "auth"]
    assert len(events) == 2
    by_status = {e["status"]: e for e in events}
    ok, missing = by_status[200], by_status[404]
    assert ok["feature"] == "workspaces" and ok["interface"] == "rest" and ok["release"] == "2.0.0"
    assert missing["feature"] == "tasks" and missing["operation"] == "get_task"
    assert ok["user_id"] == missing["user_id"] is not None
    assert ok["duration_ms"] > 0 and ok["ts"].tzinfo is not None
    c = app.usage.counters()
    assert c["produced"] == c["persisted"] + c["dropped"] and c["pending"] == 0


async def test_tiny_buffer_drops_and_counts(make_app: Any) -> None:
    app = await make_app(usage_buffer_max=5, usage_flush_size=10_000, usage_flush_interval=3600)
    rec = app.usage
    async with TestClient(app) as c:
        for _ in range(20):
            assert (await c.get("/probe/ok")).status_code == 200
        assert rec.counters() == {"produced": 20, "persisted": 0, "dropped": 15, "pending": 5}
    assert rec.counters() == {"produced": 20, "persisted": 5, "dropped": 15, "pending": 0}
    assert len(await rows(app, t.events)) == 5
    await app.database.dispose()


async def test_shutdown_flushes_and_errors_are_recorded(make_app: Any) -> None:
    app = await make_app(usage_flush_interval=3600, usage_flush_size=10_000)
    async with TestClient(app) as c:
        for _ in range(3):
            await c.get("/probe/ok")
        assert (await c.get("/probe/boom")).status_code == 500
        assert await rows(app, t.events) == []
    events = await rows(app, t.events)
    assert sorted(e["status"] for e in events) == [200, 200, 200, 500]
    assert {e["release"] for e in events} == {""}
    hourly = await rows(app, t.hourly)
    assert sum(h["calls"] for h in hourly) == 4 and sum(h["errors"] for h in hourly) == 1
    # product events of successful calls only, written after the commit
    tracked = await rows(app, t.track)
    assert [(e["event"], e["props"], e["feature"]) for e in tracked] == [("probe_seen", {"plan": "pro"}, "probe")] * 3
    await app.database.dispose()


async def test_flusher_writes_in_the_background(make_app: Any) -> None:
    app = await make_app(usage_flush_interval=0.05)
    async with TestClient(app) as c:
        await c.get("/probe/ok")

        async def persisted() -> int:
            return int(app.usage.persisted)

        assert await eventually(persisted, "the background flusher to write the call") == 1
    await app.database.dispose()


async def test_release_recorded_at_startup_once(usage_app: App) -> None:
    from hyperdeliver.usage import queries

    async with TestClient(usage_app):
        pass
    await usage_app.startup()
    rels = await queries.releases(usage_app)
    assert [(r["version"], r["sha"]) for r in rels] == [("1.0.0", "abc123")]
