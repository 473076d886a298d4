"""Migrations during a rolling update: two ``hyper db upgrade`` at once on PostgreSQL (two
migration Jobs of one release, a Job and a developer) both succeed, because an upgrade
holds an advisory lock for its whole transaction; and pods of the previous release stay
ready once the new release's migrations ran."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from hyper_cli import HYPER
from waiting import wait_until

from hyperdeliver import Settings
from hyperdeliver.db.migrate import is_current

LOCK_KEY = 0x6864_6D69_6772_6174  # the key in hyperdeliver/db/alembic/env.py


async def _waiting_for_lock(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
    finally:
        await conn.close()


@pytest.mark.postgres
def test_two_upgrades_at_once_both_succeed(postgres_url: str, tmp_path: Path) -> None:
    """The test holds the upgrades' lock while both start, so both are surely in flight
    (each waiting for it, seen in pg_locks), then lets them race. Without the lock they
    would not wait, and the two transactions creating the same tables would collide
    (the second fails on a duplicate table)."""
    import asyncpg

    env = os.environ | {
        "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app",
        "HYPER_DATABASE_URL": postgres_url,
        "HYPER_ENV": "test",
        "HYPER_VAR_DIR": str(tmp_path / "var"),
    }

    async def hold_lock() -> asyncpg.Connection:
        conn = await asyncpg.connect(postgres_url)
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        return conn

    loop = asyncio.new_event_loop()
    try:
        holder = loop.run_until_complete(hold_lock())
        procs = [
            subprocess.Popen([HYPER, "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        def both_wait() -> bool:
            failed = [p for p in procs if p.poll() is not None]
            assert not failed, f"an upgrade ended before it waited for the lock: {failed[0].communicate()}"
            return loop.run_until_complete(_waiting_for_lock(postgres_url)) >= 2

        wait_until(both_wait, "the two upgrades to wait for the migration lock", timeout=120, every=0.2)
        loop.run_until_complete(holder.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY))
        loop.run_until_complete(holder.close())
    finally:
        loop.close()
    outputs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, f"hyper db upgrade failed: {out}{err}"

    from hyperdeliver.demo.teamboard.app import create_app

    app = create_app(Settings(env="test", database_url=postgres_url, var_dir=tmp_path / "var", access_log=False))  # type: ignore[arg-type]

    async def check() -> bool:
        try:
            return await is_current(app)
        finally:
            await app.database.dispose()

    assert asyncio.run(check())


async def test_a_database_ahead_of_the_code_is_ready(database_url: str, tmp_path: Path) -> None:
    """The next release's migration Job ran (alembic_version names a revision this code
    does not know): /readyz of this release's pods still says ready, while a database
    behind the code does not."""
    import sqlalchemy as sa

    from hyperdeliver.db.migrate import upgrade_async
    from hyperdeliver.demo.teamboard.app import create_app
    from hyperdeliver.testing import TestClient

    app = create_app(Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False))  # type: ignore[arg-type]
    try:
        async with TestClient(app) as client:
            assert (await client.get("/readyz")).status_code == 503  # behind: not migrated
            await upgrade_async(app)
            assert (await client.get("/readyz")).status_code == 200
            async with app.database.engine.begin() as conn:
                await conn.execute(sa.text("UPDATE alembic_version SET version_num = 'teamboard_0999' WHERE version_num = 'teamboard_0002'"))
            r = await client.get("/readyz")
            assert r.status_code == 200 and r.json()["migrations_current"] is True
    finally:
        await app.database.dispose()
