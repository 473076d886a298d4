"""The hd_jobs_0001 migration and the models agree (no autogenerate diff), on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hyperdeliver.db.migrate import heads
from hyperdeliver.db.model import metadata

OURS = {"hd_jobs", "hd_cron_ticks"}


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else part
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(name, str) and name in OURS:
            return name
    return None


async def test_migration_matches_models(make_app, database_url: str) -> None:
    app = await make_app(database_url)
    assert "hd_jobs_0001" in heads(app)

    def compare(conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))

    async with app.database.engine.connect() as conn:
        diffs = await conn.run_sync(compare)
    ours = [d for d in diffs if _table_of(d) in OURS]
    assert ours == []
    async with app.database.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(__import__("sqlalchemy").inspect(c).get_table_names()))
    assert OURS <= tables
