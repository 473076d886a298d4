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
