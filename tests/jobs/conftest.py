"""Fixtures for the job queue tests: the jobsapp on a database, worker subprocesses."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hyper_cli import HYPER

from hyperdeliver import App, Settings
from hyperdeliver.db.migrate import upgrade_async

AppFactory = Callable[..., Awaitable[App]]


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """``await make_app(url, **settings)``: the jobsapp, migrated, with its test table."""
    from jobsapp import create_app, runs

    apps: list[App] = []

    async def build(url: str, **kw: Any) -> App:
        settings = Settings(env="test", database_url=url, var_dir=tmp_path / "var", access_log=False, **kw)
        app = create_app(settings)
        await upgrade_async(app)
        async with app.database.engine.begin() as conn:
            await conn.run_sync(lambda c: runs.create(c, checkfirst=True))
        apps.append(app)
        return app

    yield build
    for app in apps:
        await app.shutdown()
        await app.database.dispose()


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """``spawn(env, "worker", "--no-scheduler")``: a ``hyper`` subprocess, killed at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str], *args: str, stderr: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
        p = subprocess.Popen([HYPER, *args], env=env, stdout=subprocess.PIPE, stderr=stderr)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
        for stream in (p.stdout, p.stderr):
            if stream is not None:
                stream.close()
