"""The database down: every database-backed call answers 503 with Retry-After (not 500),
and every call is still counted in /metrics and usage, those refused in authentication too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from hyperdeliver import App, Settings
from hyperdeliver.auth.models import User
from hyperdeliver.db import Database
from hyperdeliver.db.errors import unavailable
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient


def requests_total(text: str, operation: str, status: str) -> float:
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "hd_requests_total" and s.labels.get("operation") == operation and s.labels.get("status") == status:
                return s.value
    return 0.0


POOLS = ("engine", "sessionmaker", "reads_engine", "rows_engine", "read_engine", "snapshot_engine", "read_sessionmaker", "snapshot_sessionmaker")
"""Every way app.database reaches the database (reads, snapshots, transactions): all made to point at a dead one."""


async def _tokens(app: App, n: int) -> list[str]:
    async with app.database.session() as s:
        admin = (await s.execute(select(User.id).where(User.email == "admin@teamboard.dev"))).scalar_one()
        tokens = [(await app.auth.create_token(s, admin, f"t{i}"))[1] for i in range(n)]
        await s.commit()
    return tokens


async def test_database_down_is_503_with_retry_after_and_every_call_is_counted(
    database_url: str, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    from hyperdeliver.demo.teamboard.app import create_app
    from hyperdeliver.demo.teamboard.seed import seed

    app = create_app(settings_for(database_url))
    await upgrade_async(app)
    await seed(app)
    cached, fresh = await _tokens(app, 2)
    dead_url = (
        "postgresql+asyncpg://postgres@127.0.0.1:1/gone" if app.database.dialect == "postgresql"
        else f"sqlite+aiosqlite:///{tmp_path}/no-such-dir/gone.sqlite3"
    )
    async with TestClient(app) as c:
        assert (await c.get("/workspaces", headers={"Authorization": f"Bearer {cached}"})).status_code == 200
        live = {name: getattr(app.database, name) for name in POOLS}
        dead = Database(dead_url)
        for name in POOLS:
            setattr(app.database, name, getattr(dead, name))
        try:
            answers = [
                await c.get("/workspaces", headers={"Authorization": f"Bearer {cached}"}),  # the handler's query
                await c.get("/workspaces", headers={"Authorization": f"Bearer {fresh}"}),  # authentication's
                await c.post("/auth/login", json={"email": "admin@teamboard.dev", "password": "admin-password"}),  # the throttle's
                await c.post("/graphql", json={"query": "{ workspaces { id } }"}, headers={"Authorization": f"Bearer {fresh}"}),
            ]
        finally:
            for name, value in live.items():
                setattr(app.database, name, value)
            await dead.dispose()
        for r in answers:
            assert r.status_code == 503, (r.request.url, r.text)
            assert int(r.headers["retry-after"]) > 0
            assert "x-content-type-options" in r.headers
        assert answers[0].json()["type"].endswith("/service-unavailable")
        metrics = (await c.get("/metrics")).text
        # the call refused in authentication (no pipeline ran) is counted like the others
        assert requests_total(metrics, "list_workspaces", "503") == 2, metrics
        assert requests_total(metrics, "login", "503") == 1, metrics
    counters = app.usage.counters()
    assert counters["produced"] == counters["persisted"] + counters["dropped"] + counters["pending"]
    assert counters["produced"] >= 4
    await app.database.dispose()


async def test_a_body_refused_before_the_pipeline_is_counted(client: TestClient) -> None:
    """415 is decided by the adapter before the front controller runs: still one call."""
    await client.login("member@teamboard.dev", "member-password")
    r = await client.post("/workspaces/1/projects", content=b"name=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    assert requests_total((await client.get("/metrics")).text, "create_project", "415") == 1


def test_unavailable_tells_a_down_database_from_a_bad_query() -> None:
    import sqlite3

    assert unavailable(ConnectionRefusedError(111, "refused"))
    assert unavailable(OSError("Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.1', 1)"))
    assert unavailable(sqlite3.OperationalError("database is locked"))
    assert not unavailable(sqlite3.OperationalError("no such column: x"))
    assert not unavailable(PermissionError("denied"))
