"""PostgresWriter: the recorder's flushes on an asyncpg connection of its own.

Both rollup upserts go as ``executemany`` (one round trip each) and the raw batch by COPY,
inside one transaction. A connection that breaks is dropped; the next flush opens a new
one, so a database restart costs the batches of the outage (counted as dropped) and no more.
"""

from __future__ import annotations

from typing import Any

from ..batch import Batch, records
from ..fold import Folded
from ..tables import BATCH_COLUMNS
from .base import Writer


class PostgresWriter(Writer):
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            import asyncpg

            self._conn = await asyncpg.connect(self.dsn)
        return self._conn

    async def write(self, folded: Folded, batch: Batch) -> None:
        from ..store import counter_rows

        import asyncpg

        conn = await self._connection()
        try:
            async with conn.transaction():
                for sql, rows in counter_rows(folded, postgresql=True):
                    await conn.executemany(sql, rows)
                await conn.copy_records_to_table("hd_usage_batches", columns=BATCH_COLUMNS, records=records([batch], postgresql=True))
        except asyncpg.PostgresError:
            raise  # refused by the server (rolled back): the connection is still good
        except BaseException:
            self._conn = None  # broken or interrupted mid-transaction: never reuse it
            conn.terminate()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()
