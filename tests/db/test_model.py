"""UTCDateTime: aware UTC datetimes back from every backend (SQLite stores naive text)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from hyperdeliver import UTCDateTime
from hyperdeliver.db.database import Database

TABLE = sa.Table("stamps", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", UTCDateTime, nullable=True))


@pytest.mark.integration  # a real SQLite file
async def test_sqlite_text_reads_back_as_aware_utc_and_a_stored_zone_is_kept(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'stamps.sqlite3'}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(TABLE.metadata.create_all)
            await conn.execute(sa.insert(TABLE), [{"id": 1, "at": datetime(2026, 12, 7, 2, 57, 42, 911931, tzinfo=timezone.utc)}, {"id": 2, "at": None}])
            # a row another writer left, with a zone of its own
            await conn.execute(sa.text("INSERT INTO stamps VALUES (3, '2026-12-07 04:57:42.911931+02:00')"))
        async with db.engine.connect() as conn:
            rows = dict((await conn.execute(sa.select(TABLE.c.id, TABLE.c.at).order_by(TABLE.c.id))).all())
    finally:
        await db.dispose()
    assert rows[1] == datetime(2026, 12, 7, 2, 57, 42, 911931, tzinfo=timezone.utc) and rows[1].tzinfo is timezone.utc
    assert rows[2] is None
    assert rows[3] == rows[1] and rows[3].utcoffset() == timedelta(hours=2)
