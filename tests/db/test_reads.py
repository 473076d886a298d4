"""Queries read without a transaction until a second statement, then in one snapshot;
a query that writes is refused; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import String, func, insert, select, text
from sqlalchemy.orm import Mapped, mapped_column

from hyperdeliver import PUBLIC, App, Context, Feature, Model, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient


class Thing(Model):
    """A table only these tests use (created with metadata.create_all)."""

    __tablename__ = "test_reads_things"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), default="")


class Counts(BaseModel):
    first: int
    second: int


class TxState(BaseModel):
    in_transaction: bool
    read_only: str = ""
    isolation: str = ""


class ThingOut(BaseModel):
    id: int
    name: str


def make_feature(calls: list[str]) -> Feature:
    f = Feature("reads", owner="tests@hyperdeliver.dev", summary="Read path probes")

    async def count(ctx: Context) -> int:
        return int(await ctx.db.scalar(select(func.count()).select_from(Thing)) or 0)

    async def commit_a_thing(ctx: Context) -> None:
        """Another connection commits a row, as a concurrent request would."""
        async with ctx.app.database.session() as s:
            s.add(Thing(name="concurrent"))
            await s.commit()

    @f.query("GET /count-twice", roles=PUBLIC)
    async def count_twice(ctx: Context) -> Counts:
        calls.append("count_twice")
        first = await count(ctx)
        await commit_a_thing(ctx)
        return Counts(first=first, second=await count(ctx))

    @f.query("GET /count-once", roles=PUBLIC)
    async def count_once(ctx: Context) -> Counts:
        calls.append("count_once")
        n = await count(ctx)
        return Counts(first=n, second=n)

    async def in_transaction(ctx: Context) -> bool:
        raw = (await (await ctx.db.connection()).get_raw_connection()).driver_connection
        return bool(raw.is_in_transaction() if ctx.app.database.dialect == "postgresql" else raw.in_transaction)

    @f.query("GET /probe", roles=PUBLIC)
    async def probe(ctx: Context) -> TxState:
        await ctx.db.execute(select(Thing.id).limit(1))
        calls.append(f"in_transaction={await in_transaction(ctx)}")
        return TxState(in_transaction=False)

    @f.query("GET /tx", roles=PUBLIC)
    async def tx(ctx: Context) -> TxState:
        await ctx.db.execute(select(Thing.id).limit(1))
        await ctx.db.execute(select(Thing.id).limit(1))
        state = TxState(in_transaction=await in_transaction(ctx))
        if ctx.app.database.dialect == "postgresql":
            state.read_only = await ctx.db.scalar(text("SHOW transaction_read_only"))
            state.isolation = await ctx.db.scalar(text("SHOW transaction_isolation"))
        return state

    @f.query("GET /things", roles=PUBLIC)
    async def things(ctx: Context) -> list[ThingOut]:
        return await ctx.rows(select(Thing.id, Thing.name).order_by(Thing.id), ThingOut)

    @f.query("GET /rows-twice", roles=PUBLIC)
    async def rows_twice(ctx: Context) -> Counts:
        calls.append("rows_twice")
        first = await ctx.rows(select(Thing.__table__.c.id, Thing.__table__.c.name), ThingOut)
        await commit_a_thing(ctx)
        second = await ctx.rows(select(Thing.__table__.c.id, Thing.__table__.c.name), ThingOut)
        return Counts(first=len(first), second=len(second))

    @f.query("GET /write/orm", roles=PUBLIC)
    async def write_orm(ctx: Context) -> Counts:
        ctx.db.add(Thing(name="from a query"))
        await ctx.db.flush()
        return Counts(first=0, second=0)

    @f.query("GET /write/core", roles=PUBLIC)
    async def write_core(ctx: Context) -> Counts:
        await ctx.db.execute(insert(Thing).values(name="from a query"))
        return Counts(first=0, second=0)

    @f.query("GET /write/after-read", roles=PUBLIC)
    async def write_after_read(ctx: Context) -> Counts:
        n = await count(ctx)
        await ctx.db.execute(text(f"INSERT INTO {Thing.__tablename__} (name) VALUES ('x')"))
        return Counts(first=n, second=n)

    @f.query("GET /write/cte", roles=PUBLIC)
    async def write_cte(ctx: Context) -> Counts:
        sql = f"WITH gone AS (DELETE FROM {Thing.__tablename__} RETURNING id) SELECT count(*) FROM gone"
        return Counts(first=int(await ctx.db.scalar(text(sql)) or 0), second=0)

    @f.query("GET /catches-everything", roles=PUBLIC)
    async def catches_everything(ctx: Context) -> Counts:
        calls.append("catches_everything")
        first = await count(ctx)
        await commit_a_thing(ctx)
        try:
            second = await count(ctx)
        except Exception:  # noqa: BLE001 - a handler that swallows errors: still run in one snapshot
            second = -1
        return Counts(first=first, second=second)

    return f


@pytest.fixture
async def reads(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[TestClient, App, list[str]]]:
    calls: list[str] = []
    settings = Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False)  # type: ignore[arg-type]
    app = App("reads", features=[make_feature(calls)], settings=settings)
    await upgrade_async(app)
    async with app.database.engine.begin() as conn:
        await conn.run_sync(Thing.__table__.drop, checkfirst=True)  # type: ignore[attr-defined]
        await conn.run_sync(Thing.__table__.create)  # type: ignore[attr-defined]
    async with TestClient(app) as c:
        yield c, app, calls
    await app.database.dispose()


async def things_in(app: App) -> int:
    async with app.database.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Thing)) or 0)


async def test_a_query_reading_twice_sees_one_snapshot(reads: tuple[TestClient, App, list[str]]) -> None:
    """A row committed by another connection between the two reads is not seen by the
    second: the handler ran again inside one transaction (twice the first time, as its
    two commits show), and once per call from then on."""
    client, app, calls = reads
    r = await client.get("/count-twice")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["first"] == body["second"] == 1  # the first run's row, seen by the rerun's snapshot
    assert calls == ["count_twice", "count_twice"] and await things_in(app) == 2
    r = await client.get("/count-twice")
    assert r.json() == {"first": 2, "second": 2}
    assert calls == ["count_twice"] * 3 and await things_in(app) == 3


async def test_ctx_rows_twice_sees_one_snapshot(reads: tuple[TestClient, App, list[str]]) -> None:
    client, app, calls = reads
    r = await client.get("/rows-twice")
    assert r.json() == {"first": 1, "second": 1}
    assert calls == ["rows_twice"] * 2
    assert (await client.get("/rows-twice")).json() == {"first": 2, "second": 2}
    assert calls == ["rows_twice"] * 3


async def test_a_handler_swallowing_the_restart_still_gets_one_snapshot(reads: tuple[TestClient, App, list[str]]) -> None:
    client, app, calls = reads
    r = await client.get("/catches-everything")
    assert r.status_code == 200, r.text
    assert r.json() == {"first": 1, "second": 1}
    assert calls == ["catches_everything"] * 2


async def test_a_single_statement_query_runs_once_without_a_transaction(reads: tuple[TestClient, App, list[str]]) -> None:
    client, app, calls = reads
    for _ in range(3):
        assert (await client.get("/count-once")).status_code == 200
    assert calls == ["count_once"] * 3
    calls.clear()
    for _ in range(2):
        assert (await client.get("/probe")).status_code == 200
    assert calls == ["in_transaction=False"] * 2  # PostgreSQL: autocommit; SQLite: no BEGIN for a SELECT


async def test_several_statements_share_one_read_only_repeatable_read_transaction(reads: tuple[TestClient, App, list[str]]) -> None:
    client, app, _ = reads
    r = await client.get("/tx")
    assert r.status_code == 200, r.text
    want = {"in_transaction": True, "read_only": "", "isolation": ""}
    if app.database.dialect == "postgresql":
        want |= {"read_only": "on", "isolation": "repeatable read"}
    assert r.json() == want
    assert (await client.get("/tx")).json() == want


async def test_rows_come_back_as_output_models(reads: tuple[TestClient, App, list[str]]) -> None:
    client, app, _ = reads
    async with app.database.session() as s:
        s.add_all([Thing(name="a"), Thing(name="b")])
        await s.commit()
    r = await client.get("/things")
    assert r.status_code == 200, r.text
    assert [t["name"] for t in r.json()] == ["a", "b"]


@pytest.mark.parametrize("path", ["/write/orm", "/write/core", "/write/after-read"])
async def test_a_query_that_writes_is_refused_and_writes_nothing(reads: tuple[TestClient, App, list[str]], path: str) -> None:
    client, app, _ = reads
    r = await client.get(path)
    assert r.status_code == 500, r.text
    body = r.json()
    assert body["type"].endswith("/read-only-query")
    assert "reads.write_" in body["detail"] and "@feature.mutation" in body["detail"]
    assert await things_in(app) == 0


async def test_a_write_hidden_in_a_cte_is_refused_by_postgresql_or_rolled_back(reads: tuple[TestClient, App, list[str]]) -> None:
    client, app, _ = reads
    async with app.database.session() as s:
        s.add(Thing(name="kept"))
        await s.commit()
    r = await client.get("/write/cte")
    if app.database.dialect == "postgresql":
        assert r.status_code == 500, r.text
        assert r.json()["type"].endswith("/read-only-query")
    assert await things_in(app) == 1


async def _token(app: App, email: str) -> str:
    from hyperdeliver.auth.models import User

    async with app.database.session() as s:
        user_id = (await s.execute(select(User.id).where(User.email == email))).scalar_one()
        _row, raw = await app.auth.create_token(s, user_id, "reads tests")
        await s.commit()
    return raw


async def test_a_scoped_query_checks_and_reads_on_one_connection_and_gives_it_back(teamboard: App) -> None:
    """The scope check's connection is kept for the handler's first statement (one
    checkout), and none stays out: not after the read, not after a 404 from the check,
    not after an ORM read (whose session takes its connection from the other pool, so
    many at once do not wait on the connections their checks hold)."""
    from sqlalchemy import event

    app = teamboard
    db = app.database
    checkouts: list[int] = []
    polls = {"hyperdeliver-auth-epoch", "hd-lifecycle-refresh"}  # the background polls read on this pool too

    def checked_out(*args: object) -> None:
        task = asyncio.current_task()
        if task is None or task.get_name() not in polls:
            checkouts.append(1)

    event.listen(db.rows_engine.sync_engine, "checkout", checked_out)
    headers = {"Authorization": f"Bearer {await _token(app, 'member@teamboard.dev')}"}
    async with TestClient(app) as c:
        r = await c.get("/projects/1/tasks", headers=headers)
        assert r.status_code == 200 and len(r.json()) == 3
        assert len(checkouts) == 1
        assert db.keep_apart
        assert (await c.get("/projects/999/tasks", headers=headers)).status_code == 404  # refused by the check
        tasks = r.json()
        # An ORM read after the check (get_task): the check's connection is not waited on.
        answers = await asyncio.gather(*(c.get(f"/tasks/{t['id']}", headers=headers) for t in tasks * 8))
        assert {a.status_code for a in answers} == {200}
    assert all(pool["checked_out"] == 0 for pool in db.pool_status().values()), db.pool_status()
