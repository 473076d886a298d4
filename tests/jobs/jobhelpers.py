"""Helpers for the job tests (importable: pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hyperdeliver import App

HERE = Path(__file__).resolve().parent


def worker_env(url: str, **settings: Any) -> dict[str, str]:
    """Environment for a ``hyper`` subprocess serving the jobsapp on ``url``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    env["HYPER_APP"] = "jobsapp:create_app"
    env["HYPER_DATABASE_URL"] = url
    env["HYPER_ENV"] = "test"
    env["HYPER_ACCESS_LOG"] = "false"
    for key, value in settings.items():
        env[f"HYPER_{key.upper()}"] = str(value)
    return env


async def count(app: App, sql: str, **params: Any) -> Any:
    async with app.database.engine.connect() as conn:
        return (await conn.execute(sa.text(sql), params)).scalar()


async def rows(app: App, sql: str, **params: Any) -> list[Any]:
    async with app.database.engine.connect() as conn:
        return list((await conn.execute(sa.text(sql), params)).all())
