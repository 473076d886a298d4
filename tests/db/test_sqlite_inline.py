"""SQLite calls run on the event loop's thread; a call that meets another connection's
lock waits on a worker thread, so the loop keeps running, and nothing is lost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hyperdeliver.db.database import Database
from hyperdeliver.db.sqlite_inline import InlineConnection, is_busy


async def _thread_of_a_call(db: Database) -> int:
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.create_function("thread_id", 0, threading.get_ident)
        return int((await conn.execute(text("SELECT thread_id()"))).scalar_one())


@pytest.mark.parametrize("inline", [True, False])
async def test_calls_run_on_the_loops_thread_unless_turned_off(tmp_path: Path, inline: bool) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", sqlite_inline=inline)
    try:
        assert (await _thread_of_a_call(db) == threading.get_ident()) is inline
        async with db.engine.connect() as conn:
            pragmas = [(await conn.execute(text(f"PRAGMA {p}"))).scalar_one() for p in ("journal_mode", "foreign_keys", "busy_timeout")]
        # inline, the busy timeout is on only while a call waits on its thread
        assert pragmas == ["wal", 1, 0 if inline else 30000]
    finally:
        await db.dispose()


async def _hold_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    """Another process's writer, as far as SQLite can tell: a plain sqlite3 connection on a thread."""

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES ('holder')")
        started.set()
        threading.Event().wait(seconds)
        conn.execute("COMMIT")
        conn.close()

    await asyncio.to_thread(hold)


async def test_a_write_waits_for_a_lock_off_the_loop_and_lands(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
        started = threading.Event()
        holder = asyncio.create_task(_hold_write_lock(path, 0.5, started))
        await asyncio.to_thread(started.wait, 5)

        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick_task = asyncio.create_task(ticker())
        async with db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('waiter')"))
            raw = (await conn.get_raw_connection()).driver_connection
            assert isinstance(raw, InlineConnection) and raw.waits == 1
        tick_task.cancel()
        await holder
        # The loop ran while the insert waited about 0.5 s for the lock.
        assert ticks >= 10, ticks
        async with db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
            assert rows == ["holder", "waiter"]
            # the wait's busy timeout was turned back off
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 0
    finally:
        await db.dispose()


async def test_a_lock_held_past_the_busy_timeout_is_database_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout=0.2)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
        started = threading.Event()
        holder = asyncio.create_task(_hold_write_lock(path, 1.5, started))
        await asyncio.to_thread(started.wait, 5)
        with pytest.raises(OperationalError, match="database is locked") as info:
            async with db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES ('too late')"))
        assert is_busy(info.value.orig.__cause__ or info.value.orig)  # type: ignore[union-attr]
        await holder
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT v FROM t"))).scalars().all() == ["holder"]
    finally:
        await db.dispose()
