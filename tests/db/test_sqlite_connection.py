"""SQLite through :mod:`hyperdeliver.db.sqlite_connection`: a statement is one call to
aiosqlite (one trip to the connection's thread), and what SQLAlchemy reads of a cursor
(rows, description, rowcount, the new row's id, errors, streamed rows) is as before."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hyperdeliver.db.database import Database

metadata = sa.MetaData()
things = sa.Table(
    "things", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False, unique=True),
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'one_trip.sqlite3'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """aiosqlite's connection methods called, by name (each call is one trip to its thread)."""
    seen: Counter[str] = Counter()
    for name in ("cursor", "execute", "execute_fetchall", "executemany", "commit", "rollback"):
        method = getattr(aiosqlite.Connection, name)

        def counted(self: aiosqlite.Connection, *args: object, _name: str = name, _method: object = method, **kw: object) -> object:
            seen[_name] += 1
            return _method(self, *args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(aiosqlite.Connection, name, counted)
    return seen


async def test_a_statement_is_one_call_to_the_connections_thread(db: Database, calls: Counter[str]) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))  # the connection's first use (pragmas) is not counted
        calls.clear()
        inserted = await conn.execute(things.insert().values(name="a").returning(things.c.id, things.c.name))
        assert inserted.all() == [(1, "a")]
        assert dict(calls) == {"execute_fetchall": 1}
        calls.clear()
        await conn.commit()
        listed = await conn.execute(sa.select(things.c.name).where(things.c.id == 1))
        assert listed.keys() == ["name"] and listed.all() == [("a",)]
        assert dict(calls) == {"commit": 1, "execute_fetchall": 1}


async def test_rowcount_new_ids_and_many_rows_come_back_as_sqlalchemy_reads_them(db: Database) -> None:
    async with db.engine.begin() as conn:
        first = await conn.execute(things.insert().values(name="a"))
        assert first.inserted_primary_key == (1,)
        many = await conn.execute(things.insert(), [{"name": f"n{i}"} for i in range(5)])  # executemany
        assert many.rowcount == 5
        renamed = await conn.execute(things.update().where(things.c.name.like("n%")).values(name=things.c.name + "!"))
        assert renamed.rowcount == 5
        nothing = await conn.execute(sa.select(things.c.id).where(things.c.id < 0))
        assert nothing.keys() == ["id"] and nothing.all() == []
    async with db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(things))).scalar_one() == 6


async def test_a_refused_statement_is_sqlalchemys_error_and_the_transaction_rolls_back(db: Database) -> None:
    with pytest.raises(IntegrityError, match="UNIQUE"):
        async with db.engine.begin() as conn:
            await conn.execute(things.insert().values(name="twice"))
            await conn.execute(things.insert().values(name="twice"))
    async with db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(things))).scalar_one() == 0


async def test_a_streamed_result_gives_every_row_in_its_partitions(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(things.insert(), [{"name": f"n{i:02}"} for i in range(25)])
    async with db.engine.connect() as conn:
        result = await conn.stream(sa.select(things.c.name).order_by(things.c.id))
        parts = [[row.name for row in part] async for part in result.partitions(10)]
    assert [len(p) for p in parts] == [10, 10, 5]
    assert sum(parts, []) == [f"n{i:02}" for i in range(25)]


def test_an_engine_left_open_does_not_hold_the_process_at_exit(tmp_path: Path) -> None:
    """The connection's thread is a daemon: a script that never disposes its engine ends."""
    script = f"""
import asyncio
from sqlalchemy import text
from hyperdeliver.db.database import Database

async def main():
    db = Database("sqlite+aiosqlite:///{tmp_path / 'left_open.sqlite3'}")
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    print("done", flush=True)

asyncio.run(main())
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "done", run.stderr
