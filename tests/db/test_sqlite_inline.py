"""SQLite calls run on the event loop's thread; a call that meets another connection's
lock waits on a worker thread, so the loop keeps running, and nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hyperdeliver import Settings
from hyperdeliver.app import _database
from hyperdeliver.db.database import Database
from hyperdeliver.db.sqlite_inline import InlineConnection, is_busy


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


@pytest.fixture
async def db(path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)"))
    yield db
    await db.dispose()


class Ticker:
    """Counts 10 ms ticks of the event loop and its longest stall."""

    def __init__(self) -> None:
        self.ticks, self.longest = 0, 0.0

    async def run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.ticks, self.longest, last = self.ticks + 1, max(self.longest, now - last), now


class Holder:
    """Another process's writer, as far as SQLite can tell: a plain sqlite3 connection on
    a thread that holds the write lock for ``seconds`` once ``start`` is called."""

    def __init__(self, path: Path, seconds: float) -> None:
        self.path, self.seconds = path, seconds
        self.go, self.holding = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)
        self.thread.start()

    def _hold(self) -> None:
        self.go.wait(10)
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES ('holder')")
        self.holding.set()
        time.sleep(self.seconds)
        conn.execute("COMMIT")
        conn.close()

    def start(self) -> None:
        self.go.set()
        assert self.holding.wait(5)

    async def done(self) -> None:
        await asyncio.to_thread(self.thread.join)


async def _rows(db: Database) -> list[Any]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all())


async def _busy_timeouts(db: Database) -> set[int]:
    """The busy timeout of every pooled connection (checked out together)."""
    conns = [await db.engine.connect() for _ in range(3)]
    try:
        return {(await c.execute(text("PRAGMA busy_timeout"))).scalar_one() for c in conns}
    finally:
        for c in conns:
            await c.close()


async def _thread_of_a_call(db: Database) -> int:
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.create_function("thread_id", 0, threading.get_ident)
        return int((await conn.execute(text("SELECT thread_id()"))).scalar_one())


@pytest.mark.parametrize("inline", [True, False])
async def test_calls_run_on_the_loops_thread_unless_turned_off(tmp_path: Path, inline: bool) -> None:
    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path / 'app.sqlite3'}", sqlite_inline=inline)
    db = _database(settings)
    try:
        assert db.sqlite_inline is inline
        assert (await _thread_of_a_call(db) == threading.get_ident()) is inline
        async with db.engine.connect() as conn:
            pragmas = [(await conn.execute(text(f"PRAGMA {p}"))).scalar_one() for p in ("journal_mode", "foreign_keys", "busy_timeout", "wal_autocheckpoint")]
        # inline, the busy timeout is on only while a call waits on its thread, and
        # checkpoints run on a thread instead of inside a commit
        assert pragmas == (["wal", 1, 0, 0] if inline else ["wal", 1, 30000, 1000])
    finally:
        await db.dispose()


async def test_a_write_waits_for_a_lock_off_the_loop_and_lands(db: Database, path: Path) -> None:
    holder, ticker = Holder(path, 0.5), Ticker()
    holder.start()
    tick_task = asyncio.create_task(ticker.run())
    async with db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES ('waiter')"))
        raw = (await conn.get_raw_connection()).driver_connection
        assert isinstance(raw, InlineConnection) and raw.waits == 1
    tick_task.cancel()
    await holder.done()
    assert ticker.ticks >= 10 and ticker.longest < 0.25, vars(ticker)  # the loop ran during the ~0.5 s wait
    assert await _rows(db) == ["holder", "waiter"]
    assert await _busy_timeouts(db) == {0}


async def test_a_lock_held_past_the_busy_timeout_is_database_is_locked(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout=0.3)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
        holder, ticker = Holder(path, 1.5), Ticker()
        holder.start()
        tick_task = asyncio.create_task(ticker.run())
        with pytest.raises(OperationalError, match="database is locked") as info:
            async with db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES ('too late')"))
        tick_task.cancel()
        assert is_busy(info.value.orig)  # type: ignore[arg-type]
        assert ticker.ticks >= 10 and ticker.longest < 0.25, vars(ticker)
        await holder.done()
        assert await _rows(db) == ["holder"]
        assert await _busy_timeouts(db) == {0}
    finally:
        await db.dispose()


async def test_a_caller_cancelled_while_its_call_waits_does_not_block_or_break(db: Database, path: Path) -> None:
    """A timeout cancels a write that waits for a lock on the worker thread: the cancel is
    prompt, the loop never stalls, the call finishes on the thread before the connection
    is closed there (before: the loop froze for the whole wait, then the process crashed)."""
    holder, ticker = Holder(path, 1.0), Ticker()
    holder.start()
    tick_task = asyncio.create_task(ticker.run())

    async def write() -> None:
        async with db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('cancelled')"))

    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(write(), 0.2)
    assert time.monotonic() - t0 < 0.6
    await holder.done()
    await asyncio.sleep(0.2)
    tick_task.cancel()
    assert ticker.longest < 0.25, vars(ticker)
    assert await _rows(db) == ["holder"]  # the cancelled transaction was rolled back
    async with db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES ('after')"))
    assert await _rows(db) == ["holder", "after"]
    assert await _busy_timeouts(db) == {0}


async def test_an_autocommit_executemany_that_meets_a_lock_is_not_run_twice(db: Database, path: Path) -> None:
    """Row 1 commits on its own; the other writer takes the lock before row 2 (while
    sqlite3 binds row 2's parameters). Repeating the whole call would insert row 1 twice."""
    holder = Holder(path, 0.3)

    class TakeTheLockFirst:
        def __conform__(self, protocol: Any) -> str:
            holder.start()
            return "row2"

    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", [("row1",), (TakeTheLockFirst(),), ("row3",)])
    await holder.done()
    assert sorted(await _rows(db)) == ["holder", "row1", "row2", "row3"]


async def test_executemany_of_a_generator_that_meets_a_lock_keeps_every_row(db: Database, path: Path) -> None:
    holder = Holder(path, 0.3)
    holder.start()
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.executemany("INSERT INTO t (v) VALUES (?)", ((f"row{i}",) for i in (1, 2, 3)))
        await raw.commit()
        assert raw.waits == 1
    await holder.done()
    assert await _rows(db) == ["holder", "row1", "row2", "row3"]


async def test_a_stale_snapshot_is_not_waited_for(db: Database, path: Path) -> None:
    """SQLITE_BUSY_SNAPSHOT: this transaction read before another connection wrote; no wait can help."""
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        raw = (await conn.get_raw_connection()).driver_connection
        await conn.exec_driver_sql("BEGIN")
        await conn.exec_driver_sql("SELECT count(*) FROM t")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("INSERT INTO t (v) VALUES ('other')")
        other.close()
        with pytest.raises(OperationalError) as info:
            await conn.exec_driver_sql("INSERT INTO t (v) VALUES ('me')")
        assert info.value.orig.sqlite_errorcode == sqlite3.SQLITE_BUSY_SNAPSHOT  # type: ignore[union-attr]
        assert raw.waits == 0
        await conn.exec_driver_sql("ROLLBACK")
    assert await _rows(db) == ["other"]


async def test_a_commit_never_checkpoints_the_checkpointer_thread_does(path: Path) -> None:
    """With the automatic checkpoint off, written pages stay in the WAL (no commit copies
    them into the database file on the loop) until the checkpointer thread runs."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    checkpointer = db.inline.checkpointer  # type: ignore[union-attr]
    assert checkpointer is not None
    checkpointer.period = 3600
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)"))
        size = path.stat().st_size
        blob = b"x" * 20_000
        for _ in range(60):  # 1.2 MB: past SQLite's automatic checkpoint (1,000 pages)
            async with db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": blob})
        assert path.stat().st_size == size and checkpointer.runs == 0
        assert checkpointer.waiting_frames() > 60 * 5  # each 20 kB row is 5+ pages
        await checkpointer.stop()
        checkpointer.period, checkpointer.idle = 0.05, 0.2
        checkpointer.start()
        for _ in range(100):
            if path.stat().st_size > size + 60 * len(blob):
                break
            await asyncio.sleep(0.05)
        assert path.stat().st_size > size + 60 * len(blob) and checkpointer.runs >= 1
        assert checkpointer.waiting_frames() == 0
        assert len(await _rows(db)) == 60
    finally:
        await db.dispose()


async def test_no_checkpointer_without_a_database_file(tmp_path: Path) -> None:
    memory = Database("sqlite+aiosqlite:///:memory:")
    uri = Database(f"sqlite+aiosqlite:///file:{tmp_path / 'u.sqlite3'}?uri=true")
    try:
        for db in (memory, uri):
            assert db.inline is not None and db.inline.checkpointer is None
        async with uri.engine.connect() as conn:  # SQLite's own automatic checkpoint stays on
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 1000
    finally:
        await memory.dispose()
        await uri.dispose()


async def test_dispose_waits_for_a_call_left_on_a_thread(db: Database, path: Path) -> None:
    """A cancelled write still waits for its lock on the thread when the app shuts down:
    dispose waits for it, so the thread closes its connection before the loop is gone."""
    holder = Holder(path, 0.6)
    holder.start()

    async def write() -> None:
        async with db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('cancelled')"))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(write(), 0.1)
    assert db.inline is not None and db.inline.pending
    t0 = time.monotonic()
    await db.dispose()
    assert time.monotonic() - t0 > 0.3 and not db.inline.pending
    await holder.done()
    assert await _rows(db) == ["holder"]


async def test_the_checkpointer_waits_for_enough_frames_or_time(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    checkpointer = db.inline.checkpointer  # type: ignore[union-attr]
    assert checkpointer is not None
    checkpointer.period, checkpointer.frames, checkpointer.idle = 0.02, 100, 3600
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)"))
        for _ in range(3):  # a few frames: not yet worth a checkpoint
            async with db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES ('small')"))
        await asyncio.sleep(0.2)
        assert checkpointer.runs == 0 and 0 < checkpointer.waiting_frames() < 100
        for _ in range(30):  # 150+ frames: past `frames`
            async with db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": b"x" * 20_000})
        for _ in range(100):
            if checkpointer.runs:
                break
            await asyncio.sleep(0.02)
        assert checkpointer.runs >= 1 and checkpointer.waiting_frames() < 100
    finally:
        await db.dispose()


def test_is_busy_reads_the_primary_code_and_tolerates_none() -> None:
    def error(code: int | None) -> sqlite3.OperationalError:
        exc = sqlite3.OperationalError("database is locked")
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    assert is_busy(error(sqlite3.SQLITE_BUSY)) and is_busy(error(sqlite3.SQLITE_BUSY_SNAPSHOT))
    assert not is_busy(error(sqlite3.SQLITE_LOCKED)) and not is_busy(error(None))
    assert not is_busy(sqlite3.OperationalError("no code at all")) and not is_busy(ValueError("busy"))
