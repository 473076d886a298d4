"""PostgresWriter: the recorder's flushes on an asyncpg connection of its own.

Both rollup upserts go as ``executemany`` (one round trip each) and the raw batch by COPY,
inside one transaction. The batch row is sent as COPY text that the writer formats itself
(:func:`copy_text`): asyncpg's ``copy_records_to_table`` would first ask the server for the
table's column types, one more round trip on every flush.

A connection that breaks is dropped; the next flush opens a new one, so a database
restart costs the batches of the outage (counted as dropped) and no more.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..batch import Batch
from ..fold import Folded
from ..tables import BATCH_COLUMNS
from .base import Writer


_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def copy_text(batch: Batch) -> bytes:
    r"""One ``hd_usage_batches`` row in COPY's text format (tab-separated, backslash escapes).

    >>> copy_text(Batch(0.5, 1.0, 2, "1.0", '[["a","b","rest"]]', '[[0.5,0,1,200,1.5]]'))
    b'1970-01-01T00:00:00.500000+00:00\t1970-01-01T00:00:01+00:00\t2\t1.0\t[["a","b","rest"]]\t[[0.5,0,1,200,1.5]]\n'
    """
    first = datetime.fromtimestamp(batch.first_ts, timezone.utc).isoformat()
    last = datetime.fromtimestamp(batch.last_ts, timezone.utc).isoformat()
    fields = (first, last, str(batch.events), batch.release.translate(_ESCAPES),
              batch.keys.translate(_ESCAPES), batch.rows.translate(_ESCAPES))
    return ("\t".join(fields) + "\n").encode()


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
                # a memoryview: asyncpg would take bytes for a file name
                data = memoryview(copy_text(batch))
                await conn.copy_to_table("hd_usage_batches", source=data, columns=BATCH_COLUMNS, format="text")
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
