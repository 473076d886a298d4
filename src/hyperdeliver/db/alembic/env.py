"""Alembic environment shared by framework and app revisions (run through hyperdeliver.db.migrate)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

config = context.config
app = config.attributes["app"]
target_metadata = app_metadata = config.attributes["metadata"]


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Autogenerate for the app never drops tables it does not know (framework tables of
    # subsystems the app does not use, or tables of other tools).
    if type_ == "table" and reflected and compare_to is None:
        return False
    return True


MIGRATION_LOCK = 0x6864_6D69_6772_6174  # "hdmigrat": one key for every hyperdeliver app
"""The PostgreSQL advisory lock an upgrade holds for its whole transaction."""


def do_run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Two upgrades at once (two migration Jobs, a Job and `hyper dev`) would both see
        # the same pending revisions and the second would fail on a table the first made.
        # The first to get this lock migrates; the other waits for its commit, then finds
        # the database at head. Taken before configure(), the transaction is the caller's
        # (which commits it), so the lock lasts until every revision has been applied.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = app.database.engine
    async with engine.connect() as conn:
        await conn.run_sync(do_run)
        await conn.commit()
    # The engine's pooled connections belong to this short-lived loop: drop them.
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    do_run(connection)
else:
    asyncio.run(run_async())
