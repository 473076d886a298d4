"""Fresh, migrated databases for tests: one per test, copied from a template migrated once.

SQLite (the default): each test gets its own file under its ``tmp_path``, a copy (SQLite's
backup API) of a file the migrations ran on once per session. PostgreSQL, when
``HYPER_TEST_DATABASE_URL`` names a server (``postgresql://postgres@127.0.0.1:5432/postgres``,
a role allowed to create databases): each test gets a database of its own,
``CREATE DATABASE … TEMPLATE`` of one migrated once per session, dropped after the test.

A template belongs to an app's migration history (its name, migrations folder and the
heads of its revisions), so two apps in one session, or an app with a new revision,
never share one.

Example (what the ``app`` fixture does)::

    dbs = TestDatabases(tmp_root)
    target = dbs.new_target(server_url=None, folder=tmp_path)
    app = create_app(settings.model_copy(update={"database_url": target.url}))
    await dbs.materialize(app, target)        # migrated, empty
    ...
    await dbs.release(target)
"""

from __future__ import annotations

import itertools
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import App

TEST_DATABASE_ENV = "HYPER_TEST_DATABASE_URL"
"""The environment variable naming the PostgreSQL server tests run on (unset: SQLite)."""


@dataclass(frozen=True)
class Target:
    """Where one test's database lives: its URL, and for PostgreSQL the server and name."""

    url: str
    server_url: str | None = None
    name: str = ""
    path: Path | None = None


def _pg_url(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _admin_url(server_url: str) -> str:
    """The server URL as asyncpg takes it (no ``+asyncpg`` driver suffix)."""
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(server_url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_url(server_url))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of an SQLite file (WAL included) through SQLite's backup API."""
    source, copy = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()


class TestDatabases:
    """Makes and drops the tests' databases; one per pytest session (see the module doc)."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: Path) -> None:
        self.root = root
        self.templates: dict[tuple[Any, ...], Target] = {}
        self._heads: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._names = itertools.count(1)
        self._prefix = f"hdt_{os.getpid()}_{secrets.token_hex(2)}"

    def new_target(self, server_url: str | None, folder: Path) -> Target:
        """Where the next test's database goes: an SQLite file in ``folder``, or a new
        database name on the PostgreSQL server ``server_url``."""
        if not server_url:
            path = folder / f"hyper-test-{next(self._names)}.sqlite3"
            return Target(f"sqlite:///{path}", path=path)
        if not server_url.startswith(("postgresql", "postgres:")):
            raise ValueError(
                f"{TEST_DATABASE_ENV}={server_url!r}: name a PostgreSQL server (postgresql://user@host:5432/postgres); "
                "leave it unset for SQLite"
            )
        name = f"{self._prefix}_{next(self._names)}"
        return Target(_pg_url(server_url, name), server_url=server_url, name=name)

    def key(self, app: App, target: Target) -> tuple[Any, ...]:
        """What a template is shared by: the server, the app and its migration heads."""
        from ..db.migrate import heads

        folder = app.migrations_dir
        # Reading the revisions costs ~20 ms; they change only with the folder's files.
        files = tuple(sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(folder))) if folder and folder.is_dir() else ()
        where = (app.name, str(folder), files)
        found = self._heads.get(where)
        if found is None:
            found = self._heads[where] = tuple(sorted(heads(app)))
        return (target.server_url, *where[:2], found)

    async def materialize(self, app: App, target: Target) -> None:
        """Make ``target`` a migrated, empty database for ``app`` (built on its URL, not yet
        connected): a copy of the template, or migrated here and kept as the template."""
        key = self.key(app, target)
        template = self.templates.get(key)
        if template is not None:
            if target.path is not None:
                assert template.path is not None
                _copy_sqlite(template.path, target.path)
            else:
                assert target.server_url is not None
                await _pg_admin(target.server_url, f'CREATE DATABASE "{target.name}" TEMPLATE "{template.name}"')
            return
        from ..db.migrate import upgrade_async

        if target.server_url is not None:
            await _pg_admin(target.server_url, f'CREATE DATABASE "{target.name}"')
        await upgrade_async(app)
        await app.database.dispose()  # a template must have no connections left
        if target.path is not None:
            kept = self.root / f"template-{len(self.templates) + 1}.sqlite3"
            _copy_sqlite(target.path, kept)
            self.templates[key] = Target(f"sqlite:///{kept}", path=kept)
        else:
            assert target.server_url is not None
            name = f"{self._prefix}_template_{len(self.templates) + 1}"
            await _pg_admin(target.server_url, f'CREATE DATABASE "{name}" TEMPLATE "{target.name}"')
            self.templates[key] = Target(_pg_url(target.server_url, name), server_url=target.server_url, name=name)

    async def release(self, target: Target) -> None:
        """Drop a test's PostgreSQL database (an SQLite file goes with the test's tmp_path)."""
        if target.server_url is not None:
            await _pg_admin(target.server_url, f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')

    async def close(self) -> None:
        """Drop the PostgreSQL templates (at the end of the session)."""
        for template in self.templates.values():
            if template.server_url is not None:
                await _pg_admin(template.server_url, f'DROP DATABASE IF EXISTS "{template.name}" WITH (FORCE)')
        self.templates.clear()
