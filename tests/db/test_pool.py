"""The PostgreSQL pool: concurrency above its size queues (no connection opened beyond
it), a wait longer than ``db_pool_timeout`` is a 503, and ``/metrics`` shows its state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import event, text

from hyperdeliver import PUBLIC, App, Context, Feature, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient

pytestmark = pytest.mark.postgres


class Slept(BaseModel):
    seconds: float


def make_feature() -> Feature:
    f = Feature("pool", owner="tests@hyperdeliver.dev", summary="Pool probes")

    @f.query("GET /sleep/{seconds}", roles=PUBLIC)
    async def sleep(ctx: Context, seconds: float) -> Slept:
        await ctx.db.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        return Slept(seconds=seconds)

    return f


@pytest.fixture
def pool_app(postgres_url: str, tmp_path: Path) -> Callable[..., App]:
    def build(**kw: object) -> App:
        settings = Settings(env="test", database_url=postgres_url, var_dir=tmp_path / "var", access_log=False, **kw)  # type: ignore[arg-type]
        return App("pool", features=[make_feature()], settings=settings)

    return build


@pytest.fixture
async def client_of(pool_app: Callable[..., App]) -> AsyncIterator[Callable[..., TestClient]]:
    apps: list[App] = []

    def make(**kw: object) -> TestClient:
        app = pool_app(**kw)
        apps.append(app)
        return TestClient(app)

    yield make
    for app in apps:
        await app.database.dispose()


async def test_requests_above_the_pool_size_queue_on_its_connections(client_of: Callable[..., TestClient]) -> None:
    client = client_of(db_pool_size=2)
    app = client.app
    await upgrade_async(app)
    opened = []
    pool = app.database.engine.sync_engine  # a query's ORM session reads in the transactions pool
    event.listen(pool, "connect", lambda *a: opened.append(1))
    peak = {"checked_out": 0, "overflow": 0}

    def note(*_: object) -> None:  # at every checkout: the pool as it stands then
        s = app.database.pool_status()["transactions"]
        peak["checked_out"] = max(peak["checked_out"], s["checked_out"])
        peak["overflow"] = max(peak["overflow"], s["overflow"])

    event.listen(pool, "checkout", note)
    async with client:
        answers = await asyncio.gather(*(client.get("/sleep/0.2") for _ in range(8)))
        assert [r.status_code for r in answers] == [200] * 8
        assert peak == {"checked_out": 2, "overflow": 0}
        assert len(opened) <= 2  # the ninth, tenth... waited for one of the two
        metrics = (await client.get("/metrics")).text
    for pool in ("reads", "transactions"):
        assert f'hd_db_pool_size{{pool="{pool}"}} 2.0' in metrics
        assert f'hd_db_pool_checked_out{{pool="{pool}"}} 0.0' in metrics
        assert f'hd_db_pool_overflow{{pool="{pool}"}} 0.0' in metrics
    assert 'hd_db_pool_idle{pool="transactions"} 2.0' in metrics


async def test_a_wait_longer_than_the_pool_timeout_is_a_503(client_of: Callable[..., TestClient]) -> None:
    client = client_of(db_pool_size=1, db_pool_timeout=0.3)
    await upgrade_async(client.app)
    async with client:
        slow, waiting = await asyncio.gather(client.get("/sleep/1.5"), client.get("/sleep/0"))
    assert slow.status_code == 200
    assert waiting.status_code == 503, waiting.text
    assert waiting.json()["type"].endswith("/service-unavailable")
    assert waiting.headers["retry-after"] == "5"
