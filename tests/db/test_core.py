"""A mutation's ctx.rows / ctx.scalar: Core statements in the call's one transaction, the
ORM session joining it when opened after; committed once, or rolled back whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import String, bindparam, event, insert, select
from sqlalchemy.orm import Mapped, mapped_column
from waiting import eventually

from hyperdeliver import PUBLIC, App, Context, Feature, Model, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient


class Item(Model):
    __tablename__ = "test_core_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


ITEMS = Item.__table__
INSERT = insert(ITEMS).returning(ITEMS.c.id, ITEMS.c.name)
BY_NAME = select(ITEMS.c.id).where(ITEMS.c.name == bindparam("name"))


class ItemOut(BaseModel):
    id: int
    name: str


class Names(BaseModel):
    names: list[str]


def make_feature(committed: list[str]) -> Feature:
    f = Feature("core", owner="tests@hyperdeliver.dev", summary="Core path probes")

    @f.mutation("POST /items/{name}", roles=PUBLIC)
    async def add(ctx: Context, name: str) -> ItemOut:
        [row] = await ctx.rows(INSERT, ItemOut, name=name)
        ctx.on_commit(lambda: committed.append(name))
        return row

    @f.mutation("POST /items/{name}/fail", roles=PUBLIC)
    async def add_then_fail(ctx: Context, name: str) -> ItemOut:
        await ctx.rows(INSERT, ItemOut, name=name)
        ctx.on_commit(lambda: committed.append(name))
        raise RuntimeError("boom after the insert")

    @f.mutation("POST /items/{name}/and-orm", roles=PUBLIC)
    async def core_then_orm(ctx: Context, name: str, fail: bool = False) -> Names:
        await ctx.rows(INSERT, ItemOut, name=name)
        ctx.db.add(Item(name=name + "-orm"))
        await ctx.db.flush()
        seen = await ctx.rows(select(ITEMS.c.id, ITEMS.c.name).order_by(ITEMS.c.id), ItemOut)
        if fail:
            raise RuntimeError("boom after both")
        return Names(names=[r.name for r in seen])

    @f.mutation("POST /lookup/{name}", roles=PUBLIC, status=200)
    async def lookup(ctx: Context, name: str) -> ItemOut:
        found = await ctx.scalar(BY_NAME, name=name)
        return ItemOut(id=found or 0, name=name)

    return f


@pytest.fixture
async def core(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[TestClient, App, list[str]]]:
    committed: list[str] = []
    settings = Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False)  # type: ignore[arg-type]
    app = App("core", features=[make_feature(committed)], settings=settings)
    await upgrade_async(app)
    async with app.database.engine.begin() as conn:
        await conn.run_sync(ITEMS.drop, checkfirst=True)
        await conn.run_sync(ITEMS.create)
    async with TestClient(app) as c:
        yield c, app, committed
    await app.database.dispose()


async def names(app: App) -> list[str]:
    async with app.database.session() as s:
        return list((await s.execute(select(ITEMS.c.name).order_by(ITEMS.c.id))).scalars())


async def test_core_statements_commit_once(core: tuple[TestClient, App, list[str]]) -> None:
    client, app, committed = core
    r = await client.post("/items/a")
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "a"
    assert await names(app) == ["a"] and committed == ["a"]
    assert (await client.post("/lookup/a")).json()["id"] == r.json()["id"]
    assert (await client.post("/lookup/zzz")).json()["id"] == 0
    assert await checked_out_settles_to_zero(app)


async def checked_out_settles_to_zero(app: App, within: float = 5.0) -> bool:
    """The request path gave its connections back. A background poller (the revocation-epoch
    watch, the usage writer) may hold one for a moment, so a leak is one that stays."""
    async def settled() -> bool:
        return not app.database.pool_status()["transactions"]["checked_out"]

    try:
        await eventually(settled, "the pool to settle", timeout=within, every=0.01)
    except AssertionError:
        return False
    return True


async def test_an_error_rolls_the_core_statements_back(core: tuple[TestClient, App, list[str]]) -> None:
    client, app, committed = core
    r = await client.post("/items/b/fail")
    assert r.status_code == 500
    assert await names(app) == [] and committed == []


async def test_the_session_joins_the_core_transaction(core: tuple[TestClient, App, list[str]]) -> None:
    client, app, _ = core
    r = await client.post("/items/c/and-orm", params={"fail": "true"})
    assert r.status_code == 500
    assert await names(app) == []
    r = await client.post("/items/c/and-orm")
    assert r.status_code == 201, r.text
    assert r.json() == {"names": ["c", "c-orm"]}
    assert await names(app) == ["c", "c-orm"]


@pytest.mark.integration
async def test_sqlite_writers_of_one_process_queue_for_the_writer_lock_not_in_sqlite(tmp_path: Path) -> None:
    """On a SQLite file a mutation's Core transaction holds ``database.writer`` from its first
    write to its COMMIT: a second writer waits for it in the event loop, however long, instead
    of in SQLite's busy handler (cut here to 0.1 s, which it would outlast and fail)."""
    gate = asyncio.Event()
    inserted: list[str] = []
    f = Feature("slow", owner="tests@hyperdeliver.dev", summary="A writer that holds its transaction open")

    @f.mutation("POST /slow/{name}", roles=PUBLIC)
    async def add(ctx: Context, name: str) -> ItemOut:
        [row] = await ctx.rows(INSERT, ItemOut, name=name)
        inserted.append(name)
        if name == "first":
            await gate.wait()
        return row

    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path / 'app.sqlite3'}", var_dir=tmp_path / "var", access_log=False)  # type: ignore[arg-type]
    app = App("writers", features=[f], settings=settings)
    await upgrade_async(app)
    async with app.database.engine.begin() as conn:
        await conn.run_sync(ITEMS.create)
    event.listen(app.database.engine.sync_engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=100"))
    async with TestClient(app) as client:
        first = asyncio.create_task(client.post("/slow/first"))
        async def first_inserted() -> bool:
            return inserted == ["first"]

        await eventually(first_inserted, "the first writer's INSERT")
        second = asyncio.create_task(client.post("/slow/second"))
        await asyncio.sleep(0.3)  # three busy timeouts: the second is still waiting, and not failed
        assert inserted == ["first"] and not second.done()
        gate.set()
        assert [(await first).status_code, (await second).status_code] == [201, 201]
    assert await names(app) == ["first", "second"]
    await app.database.dispose()
