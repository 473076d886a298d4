"""Migrations: framework and app branches applied together, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import inspect

from hyperdeliver import Settings
from hyperdeliver.db.migrate import current_async, heads, is_current, upgrade_async


async def test_upgrade_applies_every_branch_and_is_idempotent(database_url: str, tmp_path: Path) -> None:
    from hyperdeliver.demo.teamboard.app import create_app

    app = create_app(Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False))  # type: ignore[arg-type]
    assert not await is_current(app)
    await upgrade_async(app)
    assert await is_current(app)
    assert await current_async(app) <= heads(app)
    assert "teamboard_0002" in heads(app) and any(h.startswith("hd_") for h in heads(app))
    await upgrade_async(app)  # a second run changes nothing
    async with app.database.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert {"hd_users", "hd_sessions", "hd_api_tokens", "workspaces", "projects", "tasks", "comments"} <= tables
    await app.database.dispose()


def test_default_database_is_a_sqlite_file_under_var(tmp_path: Path) -> None:
    url = Settings(database_url=None, var_dir=tmp_path / "var").resolved_database_url()
    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'var' / 'hyper.sqlite3').resolve()}"
    assert Settings(database_url="postgresql://u@h/db").resolved_database_url() == "postgresql+asyncpg://u@h/db"


async def test_usage_0002_moves_raw_events_into_batches_and_matches_the_models(database_url: str, tmp_path: Path) -> None:
    """Upgrading a database that already holds raw events (hd_usage_0001's table) keeps
    every one of them, in hd_usage_batches and through the hd_usage_events view, fills
    hd_usage_user_days, and leaves the columns and indexes ``usage.tables`` declares;
    the downgrades (0003's view, then 0002's batches) give the same rows back."""
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from hyperdeliver import App
    from hyperdeliver.db.migrate import downgrade_async
    from hyperdeliver.usage import tables as t

    app = App("mig", settings=Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False))  # type: ignore[arg-type]
    await upgrade_async(app, "hd_usage_0001")
    at = datetime(2026, 11, 20, 9, 30, 0, 250_000, tzinfo=timezone.utc)
    old_events = sa.table("hd_usage_events", *[sa.column(c.name, c.type) for c in t.events.columns])
    written = [
        {"ts": at, "feature": "tasks", "operation": op, "interface": "rest", "user_id": uid, "status": status, "duration_ms": 1.5, "release": release}
        for op, uid, status, release in (("list", 1, 200, ""), ("list", 1, 503, ""), ("get", 2, 200, "1.1"), ("list", None, 200, ""))
    ]
    async with app.database.engine.begin() as conn:
        await conn.execute(old_events.insert(), written)

    def key(e: Any) -> tuple[Any, ...]:
        return (e["operation"], e["user_id"] or 0, e["status"], e["release"])

    async def raw_events() -> list[dict[str, Any]]:
        async with app.database.engine.connect() as conn:
            return sorted((dict(r) for r in (await conn.execute(sa.select(old_events))).mappings()), key=key)

    await upgrade_async(app)
    async with app.database.engine.connect() as conn:
        ud = t.user_days
        rows = (await conn.execute(sa.select(ud.c.feature, ud.c.user_id, ud.c.day, ud.c.calls, ud.c.last_used).order_by(ud.c.user_id))).all()
        batches = (await conn.execute(sa.select(t.batches.c.events, t.batches.c.release).order_by(t.batches.c.release))).all()
        insp = await conn.run_sync(lambda c: {
            name: ({col["name"] for col in inspect(c).get_columns(name)}, {tuple(i["column_names"]) for i in inspect(c).get_indexes(name)})
            for name in ("hd_usage_batches", "hd_usage_user_days", "hd_track_events")
        })
        view_columns = await conn.run_sync(lambda c: [col["name"] for col in inspect(c).get_columns("hd_usage_events")])
    assert [tuple(r) for r in rows] == [("tasks", 1, at.date(), 2, at), ("tasks", 2, at.date(), 1, at)]
    assert [tuple(b) for b in batches] == [(3, ""), (1, "1.1")]
    assert view_columns == [c.name for c in t.events.columns]
    events = await raw_events()
    assert events == sorted(written, key=key)
    for table in (t.batches, t.user_days, t.track):
        cols, indexes = insp[table.name]
        assert cols == {c.name for c in table.columns}
        assert indexes == {tuple(c.name for c in ix.columns) for ix in table.indexes}
    await downgrade_async(app, "hd_usage_0002")  # hd_usage_0003's view gave way to 0002's: same rows
    assert await raw_events() == sorted(written, key=key)
    await downgrade_async(app, "hd_usage_0001")
    assert await raw_events() == sorted(written, key=key)
    await app.database.dispose()
