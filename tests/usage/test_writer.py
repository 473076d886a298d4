"""The recorder's writers: the right one per database, refused flushes counted, reconnects."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hyperdeliver import App, Feature, Settings
from hyperdeliver.auth.principal import Principal
from hyperdeliver.context import Context
from hyperdeliver.usage import tables as t
from hyperdeliver.usage.writer import EngineWriter, writer_for
from hyperdeliver.usage.writer.postgresql import PostgresWriter
from hyperdeliver.usage.writer.sqlite import SqliteWriter, is_busy


def observe(app: App, n: int, user_id: int = 7) -> None:
    rec = app.usage
    op = app.operation("probe.probe_ok")
    ctx = Context(app, "r", Principal(user_id=user_id), "rest", op)
    for _ in range(n):
        rec.observe(op, ctx, 200, 0.002)


async def raw_count(app: App) -> int:
    async with app.database.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(t.events))).scalar() or 0)


def test_writer_for_each_database(tmp_path: Path, settings_for: Callable[..., Settings]) -> None:
    def kind(url: str) -> type:
        return type(writer_for(App("w", features=[], settings=settings_for(url))))

    assert kind(f"sqlite:///{tmp_path}/w.sqlite3") is SqliteWriter
    assert kind("sqlite://") is EngineWriter  # in memory: only the engine's connection sees it
    assert kind("postgresql://u@127.0.0.1:1/db") is PostgresWriter


async def test_flushes_go_through_the_writer_and_close_with_the_app(make_app: Any) -> None:
    app = await make_app(usage_flush_interval=3600)
    await app.startup()
    observe(app, 25)
    rec = app.usage
    assert await rec.flush() == 25
    assert isinstance(rec.writer, SqliteWriter if app.database.dialect == "sqlite" else PostgresWriter)
    assert await raw_count(app) == 25
    await app.shutdown()
    assert rec.writer is None
    assert rec.counters() == {"produced": 25, "persisted": 25, "dropped": 0, "pending": 0}


async def test_a_refused_flush_is_counted_as_dropped(
    database_url: str, settings_for: Callable[..., Settings], probe_feature: Feature
) -> None:
    """An unmigrated database refuses the batch: the calls count as dropped, and the
    recorder keeps serving (the next flush tries again)."""
    app = App("unmigrated", features=[probe_feature], settings=settings_for(database_url, usage_flush_interval=3600))
    observe(app, 10)
    rec = app.usage
    assert await rec.flush() == 10  # the batch was taken, not persisted
    c = rec.counters()
    assert c == {"produced": 10, "persisted": 0, "dropped": 10, "pending": 0}
    observe(app, 3)
    await rec.flush()
    assert rec.counters()["dropped"] == 13
    await rec.stop()
    await app.database.dispose()


async def writer_pids(app: App) -> set[int]:
    """The server pids of usage writers' connections to this database (pg_stat_activity)."""
    from hyperdeliver.usage.writer.postgresql import APPLICATION_NAME

    async with app.database.engine.connect() as conn:
        sql = "SELECT pid FROM pg_stat_activity WHERE application_name = :name AND datname = current_database()"
        return set((await conn.execute(sa.text(sql), {"name": APPLICATION_NAME})).scalars().all())


@pytest.mark.postgres
async def test_postgres_writer_reconnects_after_its_connection_is_killed(
    postgres_url: str, settings_for: Callable[..., Settings], probe_feature: Feature
) -> None:
    from hyperdeliver.db.migrate import upgrade_async

    app = App("pgw", features=[probe_feature], settings=settings_for(postgres_url, usage_flush_interval=3600))
    await upgrade_async(app)
    rec = app.usage
    others = await writer_pids(app)  # none, unless another test's app left its writer open
    observe(app, 5)
    await rec.flush()
    [pid] = await writer_pids(app) - others
    async with app.database.engine.begin() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    observe(app, 5)
    await rec.flush()  # the writer finds its connection gone: this batch is dropped
    observe(app, 5)
    await rec.flush()  # and the next one goes through a new connection
    assert len(await writer_pids(app) - others - {pid}) == 1  # a new connection; the killed one is gone
    c = rec.counters()
    assert c["produced"] == c["persisted"] + c["dropped"] == 15 and c["persisted"] >= 10
    assert await raw_count(app) == c["persisted"]
    await rec.stop()
    await app.database.dispose()


@pytest.mark.postgres
async def test_postgres_writer_keeps_awkward_text_exactly(
    postgres_url: str, settings_for: Callable[..., Settings], probe_feature: Feature
) -> None:
    """Backslashes, tabs and newlines (in a release name, in JSON string escapes) come
    back as they were sent."""
    from hyperdeliver.db.migrate import upgrade_async
    from hyperdeliver.usage.batch import Batch
    from hyperdeliver.usage.fold import Folded

    app = App("pgt", features=[probe_feature], settings=settings_for(postgres_url))
    await upgrade_async(app)
    writer = writer_for(app)
    release = "1.0\\rc\t2\nx\r"
    keys = '[["probe","probe_ok","rest\\\\n\\"q\\""]]'
    batch = Batch(1_733_000_000.25, 1_733_000_001.5, 1, release, keys, "[[1733000000.25,0,null,200,1.5]]")
    await writer.write(Folded(), batch)
    await writer.close()
    async with app.database.engine.connect() as conn:
        b = t.batches
        cols = [b.c[name] for name in ("first_ts", "last_ts", "events", "release", "keys", "rows")]
        first, last, events, rel, ks, rows = (await conn.execute(sa.select(*cols))).one()
    assert (first.timestamp(), last.timestamp(), events) == (1_733_000_000.25, 1_733_000_001.5, 1)
    assert (rel, ks, rows) == (release, keys, batch.rows)
    await app.database.dispose()


async def _sqlite_app(tmp_path: Path, settings_for: Callable[..., Settings], probe_feature: Feature) -> App:
    from hyperdeliver.db.migrate import upgrade_async

    app = App("lite", features=[probe_feature], settings=settings_for(f"sqlite:///{tmp_path}/w.sqlite3", usage_flush_interval=3600))
    await upgrade_async(app)
    return app


async def test_sqlite_writer_writes_on_the_loop_while_the_lock_is_free(
    tmp_path: Path, settings_for: Callable[..., Settings], probe_feature: Feature
) -> None:
    """After the first flush (which connects on the writer's thread), flushes are written
    without a hand-over to the thread."""
    app = await _sqlite_app(tmp_path, settings_for, probe_feature)
    rec = app.usage
    for _ in range(3):
        observe(app, 4)
        await rec.flush()
    writer = rec.writer
    assert isinstance(writer, SqliteWriter)
    assert (writer.flushes, writer.handed_over) == (3, 0)
    assert await raw_count(app) == 12
    await rec.stop()
    await app.database.dispose()


async def test_sqlite_writer_waits_on_its_thread_when_another_connection_writes(
    tmp_path: Path, settings_for: Callable[..., Settings], probe_feature: Feature
) -> None:
    """A flush that finds SQLite's write lock taken waits for it on the writer's thread
    (the event loop goes on), then writes: nothing is dropped."""
    import asyncio
    import sqlite3

    app = await _sqlite_app(tmp_path, settings_for, probe_feature)
    rec = app.usage
    observe(app, 2)
    await rec.flush()  # connects
    other = sqlite3.connect(f"{tmp_path}/w.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    observe(app, 5)
    flush = asyncio.ensure_future(rec.flush())
    for _ in range(20):
        await asyncio.sleep(0)  # the loop runs this test on while the flush waits on its thread
    assert not flush.done()
    other.execute("COMMIT")
    other.close()
    assert await flush == 5
    assert rec.writer.handed_over == 1
    assert rec.counters() == {"produced": 7, "persisted": 7, "dropped": 0, "pending": 0}
    assert await raw_count(app) == 7
    await rec.stop()
    await app.database.dispose()


async def test_sqlite_writer_checkpoints_the_wal_itself(
    tmp_path: Path, settings_for: Callable[..., Settings], probe_feature: Feature, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's connection does not checkpoint on commit; it checkpoints every
    CHECKPOINT_EVERY flushes, so the WAL does not grow without end."""
    import sqlite3

    from hyperdeliver.usage.writer import sqlite as lite

    monkeypatch.setattr(lite, "CHECKPOINT_EVERY", 3)
    app = await _sqlite_app(tmp_path, settings_for, probe_feature)
    rec = app.usage
    await app.database.dispose()  # only the writer's connection is left to checkpoint
    checkpoints = []
    for _ in range(7):
        observe(app, 50)
        await rec.flush()
        checkpoints.append(rec.writer.checkpoints)
    assert checkpoints == [0, 0, 1, 1, 1, 2, 2]
    probe = sqlite3.connect(f"{tmp_path}/w.sqlite3")
    busy, frames, done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    probe.close()
    # the WAL holds the 7th flush only (about 6 pages; all seven would be about 40)
    assert busy == 0 and 0 < frames <= 12
    await rec.stop()
    await app.database.dispose()  # the users' flush of stop() read through the pool again
    assert rec.counters()["persisted"] == 350


async def test_flushes_into_the_same_hour_add_up(make_app: Any) -> None:
    """A second flush into the same hour and day adds to the rollup rows the first one
    wrote (the upserts' conflict path), on either database's writer."""
    from hyperdeliver.usage.buffer import CallBuffer
    from hyperdeliver.usage.histogram import COLUMNS

    app = await make_app(usage_flush_interval=3600)
    op = app.operation("probe.probe_ok")
    writer = writer_for(app)
    hour = 1_764_633_600.0  # 2025-12-02 00:00 UTC: both flushes fall in this hour and day
    for calls in (((200, 2.0), (200, 2.0), (503, 2.0)), ((200, 4.0), (500, 4.0))):
        buf = CallBuffer()
        for i, (status, ms) in enumerate(calls):
            buf.append(hour + 60 * i, op, "rest", 7, status, ms)
        prepared = buf.prepare("1.0")
        await writer.write(prepared.folded, prepared.batch)
    await writer.close()
    async with app.database.engine.connect() as conn:
        for table in (t.hourly, t.daily):
            found = (await conn.execute(sa.select(table))).mappings().all()
            assert len(found) == 1, table.name
            row = found[0]
            assert (row["feature"], row["operation"], row["interface"]) == ("probe", "probe_ok", "rest")
            assert (row["calls"], row["errors"]) == (5, 2)
            assert row["sum_ms"] == pytest.approx(3 * 2.0 + 2 * 4.0)
            assert sum(row[c] for c in COLUMNS) == 5


def test_is_busy_reads_the_primary_code_and_tolerates_none() -> None:
    def error(code: int | None) -> sqlite3.OperationalError:
        exc = sqlite3.OperationalError("database is locked")
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    assert is_busy(error(sqlite3.SQLITE_BUSY)) and is_busy(error(sqlite3.SQLITE_BUSY_SNAPSHOT))
    assert not is_busy(error(sqlite3.SQLITE_LOCKED)) and not is_busy(error(None))
    assert not is_busy(sqlite3.OperationalError("no code at all")) and not is_busy(ValueError("busy"))
