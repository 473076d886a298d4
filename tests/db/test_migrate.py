"""Migrations: framework and app branches applied together, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from hyperdeliver import Settings
from hyperdeliver.db.migrate import current_async, heads, is_current, upgrade_async


async def test_upgrade_applies_every_branch_and_is_idempotent(database_url: str, tmp_path: Path) -> None:
    from teamboard.app import create_app

    app = create_app(Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False))  # type: ignore[arg-type]
    assert not await is_current(app)
    await upgrade_async(app)
    assert await is_current(app)
    assert await current_async(app) <= heads(app)
    assert "teamboard_0001" in heads(app) and any(h.startswith("hd_") for h in heads(app))
    await upgrade_async(app)  # a second run changes nothing
    async with app.database.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert {"hd_users", "hd_sessions", "hd_api_tokens", "workspaces", "projects", "tasks", "comments"} <= tables
    await app.database.dispose()


def test_default_database_is_a_sqlite_file_under_var(tmp_path: Path) -> None:
    url = Settings(database_url=None, var_dir=tmp_path / "var").resolved_database_url()
    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'var' / 'hyper.sqlite3').resolve()}"
    assert Settings(database_url="postgresql://u@h/db").resolved_database_url() == "postgresql+asyncpg://u@h/db"


async def test_usage_0002_backfills_user_days_and_matches_the_models(database_url: str, tmp_path: Path) -> None:
    """Upgrading a database that already holds raw events fills hd_usage_user_days, and
    the migrated usage tables have the columns and indexes ``usage.tables`` declares."""
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from hyperdeliver import App
    from hyperdeliver.usage import tables as t

    app = App("mig", settings=Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False))  # type: ignore[arg-type]
    await upgrade_async(app, "hd_usage_0001")
    at = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    async with app.database.engine.begin() as conn:
        await conn.execute(t.events.insert(), [
            {"ts": at, "feature": "tasks", "operation": "list", "interface": "rest", "user_id": uid, "status": 200, "duration_ms": 1.0, "release": ""}
            for uid in (1, 1, 2, None)
        ])
    await upgrade_async(app)
    async with app.database.engine.connect() as conn:
        ud = t.user_days
        rows = (await conn.execute(sa.select(ud.c.feature, ud.c.user_id, ud.c.day, ud.c.calls, ud.c.last_used).order_by(ud.c.user_id))).all()
        insp = await conn.run_sync(lambda c: {
            name: ({col["name"] for col in inspect(c).get_columns(name)}, {tuple(i["column_names"]) for i in inspect(c).get_indexes(name)})
            for name in ("hd_usage_events", "hd_usage_user_days", "hd_track_events")
        })
    assert [tuple(r) for r in rows] == [("tasks", 1, at.date(), 2, at), ("tasks", 2, at.date(), 1, at)]
    for table in (t.events, t.user_days, t.track):
        cols, indexes = insp[table.name]
        assert cols == {c.name for c in table.columns}
        assert indexes == {tuple(c.name for c in ix.columns) for ix in table.indexes}
    assert ("feature", "ts") not in insp["hd_usage_events"][1]
    if app.database.dialect == "postgresql":
        async with app.database.engine.connect() as conn:
            method = (await conn.execute(sa.text(
                "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = 'ix_hd_usage_events_ts'"
            ))).scalar()
        assert method == "brin"
    await app.database.dispose()
