"""PostgresWriter: the recorder's flushes on an asyncpg connection of its own.

A flush is one statement (:data:`FLUSH_SQL`), so one round trip and its own transaction:
the batch row goes in as parameters, and both rollup upserts read their rows from one
JSON parameter each (``jsonb_populate_recordset`` over the table's own row type). A
flush's client CPU was nearly all round trips: BEGIN, an ``executemany`` per rollup, the
COPY of the batch row and COMMIT took about 0.45 ms of CPU per flush, whatever its size.

A connection that breaks is dropped; the next flush opens a new one, so a database
restart costs the batches of the outage (counted as dropped) and no more.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..batch import Batch
from ..fold import Folded, day_of, hour_of, utc
from ..tables import BATCH_COLUMNS, ROLLUP_ADDED, added_sql
from .base import Writer


def _upsert(table: str, key: str, param: int) -> str:
    return (f"INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, ${param}::jsonb) "
            f"ON CONFLICT ({key}, feature, operation, interface) DO UPDATE SET {added_sql(table)}")


FLUSH_SQL = (
    f"WITH batch AS (INSERT INTO hd_usage_batches ({', '.join(BATCH_COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6)), "
    f"hourly AS ({_upsert('hd_usage_hourly', 'hour', 7)}) "
    f"{_upsert('hd_usage_daily', 'day', 8)}"
)
"""One flush: the raw batch row, then the hourly and the daily increments."""


def rollup_json(key: str, increments: dict[tuple[Any, str, str, str], list[Any]], to_key: Any) -> str:
    """Rollup increments as the JSON array of rows that :data:`FLUSH_SQL` reads.

    >>> rollup_json("day", {(1, "tasks", "list", "rest"): [2, 1, 4.5] + [0] * 32}, day_of)[:98]
    '[{"day":"1970-01-02","feature":"tasks","operation":"list","interface":"rest","calls":2,"errors":1,'
    """
    names = [key, "feature", "operation", "interface", *ROLLUP_ADDED]
    return orjson.dumps([dict(zip(names, (to_key(k0), f, o, i, *vals))) for (k0, f, o, i), vals in increments.items()]).decode()


APPLICATION_NAME = "hyperdeliver usage writer"
"""How the writer's connection shows in ``pg_stat_activity``."""


class PostgresWriter(Writer):
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            import asyncpg

            self._conn = await asyncpg.connect(self.dsn, server_settings={"application_name": APPLICATION_NAME})
        return self._conn

    async def write(self, folded: Folded, batch: Batch) -> None:
        import asyncpg

        conn = await self._connection()
        try:
            await conn.execute(
                FLUSH_SQL,
                utc(batch.first_ts), utc(batch.last_ts), batch.events,
                batch.release, batch.keys, batch.rows,
                rollup_json("hour", folded.hours, hour_of), rollup_json("day", folded.days(), day_of),
            )
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
