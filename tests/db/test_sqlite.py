"""The Database on SQLite (aiosqlite): its pragmas, and a write that meets another
connection's lock waits for it on the connection's thread while the event loop serves."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hyperdeliver import Settings
from hyperdeliver.app import _database
from hyperdeliver.db.database import Database


class Holder:
    """Another process's writer, as far as SQLite can tell: a plain sqlite3 connection on
    a thread that holds the write lock from :meth:`start` until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holding, self.released = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES ('holder')")
            self.holding.set()
            self.released.wait(30)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def start(self) -> None:
        self.thread.start()
        assert self.holding.wait(5)

    async def release(self) -> None:
        self.released.set()
        await asyncio.to_thread(self.thread.join)


async def _table(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))


async def _rows(db: Database) -> list[Any]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all())


async def test_an_app_database_on_sqlite_has_wal_foreign_keys_and_the_busy_timeout(tmp_path: Path) -> None:
    db = _database(Settings(env="test", database_url=f"sqlite:///{tmp_path / 'app.sqlite3'}"))
    try:
        async with db.engine.connect() as conn:
            pragmas = [(await conn.execute(text(f"PRAGMA {p}"))).scalar_one() for p in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")]
        assert pragmas == ["wal", 1, 30_000, 1]  # synchronous 1: NORMAL
    finally:
        await db.dispose()


async def test_a_write_that_meets_a_lock_waits_for_it_while_the_loop_serves(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        await _table(db)
        holder = Holder(tmp_path / "db.sqlite3")
        holder.start()

        async def write() -> None:
            async with db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES ('waiter')"))

        waiting = asyncio.create_task(write())
        # The loop runs other work while the write waits on its connection's thread;
        # had the write blocked the loop, the holder would never be released.
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not waiting.done()
        await holder.release()
        await waiting
        assert await _rows(db) == ["holder", "waiter"]
    finally:
        await db.dispose()


async def test_a_lock_held_past_the_busy_timeout_is_database_is_locked(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", busy_timeout=0.2)
    try:
        await _table(db)
        holder = Holder(tmp_path / "db.sqlite3")
        holder.start()
        try:
            with pytest.raises(OperationalError, match="database is locked"):
                async with db.engine.begin() as conn:
                    await conn.execute(text("INSERT INTO t (v) VALUES ('too late')"))
        finally:
            await holder.release()
        assert await _rows(db) == ["holder"]
    finally:
        await db.dispose()
