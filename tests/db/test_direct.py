"""``Direct``: the framework's own statements on the DB-API cursor, with the rows, the
transaction, the errors and the listeners ``Connection.execute`` would give."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, event, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

from hyperdeliver.db.database import Database
from hyperdeliver.db.direct import Direct
from hyperdeliver.db.greenlets import run_sync
from hyperdeliver.settings import async_url


class Shouted(TypeDecorator[str]):
    """A column type with processing on both ways, which the cursor alone would skip."""

    impl = String(20)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else value.lower()

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else value.upper()


meta = MetaData()
people = Table("test_direct_people", meta, Column("id", Integer, primary_key=True), Column("name", String(20)), Column("nick", Shouted))
BY_ID = select(people.c.id, people.c.name, literal("team").label("kind")).where(people.c.id == bindparam("id", type_=Integer))
NICK = select(people.c.nick).where(people.c.id == bindparam("id", type_=Integer))
ANY_OF = select(people.c.name).where(people.c.id.in_(bindparam("ids", expanding=True))).order_by(people.c.id)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(async_url(database_url))
    async with database.engine.begin() as conn:
        await conn.run_sync(meta.create_all)
        await conn.execute(people.insert(), [{"id": 1, "name": "ada", "nick": "countess"}, {"id": 2, "name": "alan", "nick": "prof"}])
    try:
        yield database
    finally:
        await database.dispose()


def executes(engine: Any) -> list[Any]:
    """The statements given to ``Connection.execute`` on ``engine`` from now on."""
    seen: list[Any] = []
    event.listen(engine.sync_engine, "before_execute", lambda conn, clause, *args: seen.append(clause))
    return seen


async def on_connection(db: Database, fn: Callable[[sa.Connection], Any]) -> Any:
    def hop() -> Any:
        with db.engine.sync_engine.connect() as conn:
            return fn(conn)

    return await run_sync(hop)


async def test_a_plain_select_runs_on_the_cursor_with_the_rows_execute_gives(db: Database) -> None:
    direct = Direct(BY_ID)
    seen = executes(db.engine)
    rows = await on_connection(db, lambda conn: direct.rows(conn, {"id": 2}))
    assert [tuple(r) for r in rows] == [(2, "alan", "team")]
    assert direct.keys == ["id", "name", "kind"]
    assert seen == []  # not through Connection.execute
    assert await on_connection(db, lambda conn: direct.rows(conn, {"id": 3})) == []
    expected = await on_connection(db, lambda conn: [tuple(r) for r in conn.execute(BY_ID, {"id": 2})])
    assert [tuple(r) for r in rows] == expected


async def test_it_reads_in_the_connections_transaction(db: Database) -> None:
    direct = Direct(BY_ID)

    def inside(conn: sa.Connection) -> tuple[list[Any], list[Any]]:
        with conn.begin() as tx:
            conn.execute(people.insert().values(id=3, name="grace"))
            during = [tuple(r) for r in direct.rows(conn, {"id": 3})]
            tx.rollback()
        return during, list(direct.rows(conn, {"id": 3}))

    during, after = await on_connection(db, inside)
    assert during == [(3, "grace", "team")]
    assert after == []


async def test_type_processing_and_expanding_lists_go_through_execute(db: Database) -> None:
    seen = executes(db.engine)
    nick = await on_connection(db, lambda conn: Direct(NICK).rows(conn, {"id": 1}))
    assert [tuple(r) for r in nick] == [("COUNTESS",)]  # the TypeDecorator's result processing ran
    names = await on_connection(db, lambda conn: Direct(ANY_OF).rows(conn, {"ids": [1, 2]}))
    assert [tuple(r) for r in names] == [("ada",), ("alan",)]
    assert seen == [NICK, ANY_OF]


async def test_listeners_of_the_engines_statements_see_it(db: Database) -> None:
    logged: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda conn, cursor, statement, *args: logged.append(statement))
    rows = await on_connection(db, lambda conn: Direct(BY_ID).rows(conn, {"id": 1}))
    assert [tuple(r) for r in rows] == [(1, "ada", "team")]
    assert len(logged) == 1 and "test_direct_people" in logged[0]


@pytest.mark.parametrize("name", ["before_cursor_execute", "after_cursor_execute", "handle_error"])
async def test_any_such_listener_sends_it_through_execute(db: Database, name: str) -> None:
    seen = executes(db.engine)
    event.listen(db.engine.sync_engine, name, lambda *args: None)
    assert [tuple(r) for r in await on_connection(db, lambda conn: Direct(BY_ID).rows(conn, {"id": 1}))] == [(1, "ada", "team")]
    assert seen == [BY_ID]


async def test_echo_sends_it_through_execute(db: Database) -> None:
    seen = executes(db.engine)
    db.engine.sync_engine.echo = True
    assert [tuple(r) for r in await on_connection(db, lambda conn: Direct(BY_ID).rows(conn, {"id": 1}))] == [(1, "ada", "team")]
    assert seen == [BY_ID]


async def test_a_connection_with_execution_options_goes_through_execute(db: Database) -> None:
    """A ``schema_translate_map`` changes the SQL: the one compiled without it would be wrong."""
    seen = executes(db.engine)

    def mapped(conn: sa.Connection) -> Any:
        return Direct(BY_ID).rows(conn.execution_options(schema_translate_map={None: None}), {"id": 1})

    assert [tuple(r) for r in await on_connection(db, mapped)] == [(1, "ada", "team")]
    assert seen == [BY_ID]


async def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(db: Database) -> None:
    ghosts = Table("test_direct_ghosts", MetaData(), Column("id", Integer, primary_key=True))
    direct = Direct(select(ghosts.c.id).where(ghosts.c.id == bindparam("id", type_=Integer)))
    with pytest.raises(DBAPIError) as caught:
        await on_connection(db, lambda conn: direct.rows(conn, {"id": 1}))
    assert "test_direct_ghosts" in str(caught.value.statement)
    assert caught.value.orig is not None
    # the connection went back to the pool usable: the next statement runs
    assert [tuple(r) for r in await on_connection(db, lambda conn: Direct(BY_ID).rows(conn, {"id": 1}))] == [(1, "ada", "team")]


@pytest.mark.postgres
async def test_a_statement_cancelled_midway_invalidates_its_connection(postgres_url: str) -> None:
    database = Database(async_url(postgres_url))
    slow = Direct(select(sa.func.pg_sleep(bindparam("seconds", type_=Integer))))
    seen: list[bool] = []

    def hop() -> Any:
        with database.engine.sync_engine.connect() as conn:
            try:
                return slow.rows(conn, {"seconds": 30})
            except BaseException:
                seen.append(conn.invalidated)
                raise

    try:
        call = asyncio.ensure_future(run_sync(hop))
        await asyncio.sleep(0.3)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert seen == [True]  # not given back to the pool mid-statement
        def one() -> Any:
            with database.engine.sync_engine.connect() as conn:
                return [tuple(r) for r in conn.execute(select(literal(1)))]

        assert await run_sync(one) == [(1,)]  # the pool serves a fresh connection
    finally:
        await database.dispose()


async def test_many_at_once_each_get_their_own_rows(db: Database) -> None:
    direct = Direct(BY_ID)
    found = await asyncio.gather(*(on_connection(db, lambda conn, i=i: direct.rows(conn, {"id": 1 + i % 2})) for i in range(8)))
    assert [r[0][1] for r in found] == ["ada", "alan"] * 4
