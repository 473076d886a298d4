"""Fresh, migrated databases for tests: one per test, migrated once per session.

SQLite (the default): each test gets its own file under its ``tmp_path``, a copy (SQLite's
backup API) of a file the migrations ran on once per session.

PostgreSQL, when ``HYPER_TEST_DATABASE_URL`` names a server
(``postgresql://postgres@127.0.0.1:5432/postgres``, a role allowed to create databases):
the session creates one database on it, migrates it once, and empties it before each
test (every table's rows deleted, every sequence restarted, so ids start at 1 again as
on a fresh database); it is dropped at the end of the session. A database per test
(``CREATE DATABASE … TEMPLATE``) costs 1.4 s each on a small machine (it writes the
whole copy to the WAL), emptying one 15 ms.

A migrated database belongs to an app's migration history (its name, migrations folder
and the heads of its revisions): an SQLite template is kept per history, and the
PostgreSQL database is migrated again from scratch when a test brings another one.

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
import warnings
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
        self._migrated: dict[str, tuple[Any, ...]] = {}
        """PostgreSQL session database URL -> the migration history it is at."""
        self._tables: dict[str, list[str]] = {}
        self._names = itertools.count(1)
        self._prefix = f"hdt_{os.getpid()}_{secrets.token_hex(2)}"

    def new_target(self, server_url: str | None, folder: Path) -> Target:
        """Where the next test's database goes: an SQLite file in ``folder``, or the
        session's database on the PostgreSQL server ``server_url``."""
        if not server_url:
            path = folder / f"hyper-test-{next(self._names)}.sqlite3"
            return Target(f"sqlite:///{path}", path=path)
        if not server_url.startswith(("postgresql", "postgres:")):
            raise ValueError(
                f"{TEST_DATABASE_ENV}={server_url!r}: name a PostgreSQL server (postgresql://user@host:5432/postgres); "
                "leave it unset for SQLite"
            )
        name = f"{self._prefix}_{_digest(server_url)}"
        return Target(_pg_url(server_url, name), server_url=server_url, name=name)

    def key(self, app: App) -> tuple[Any, ...]:
        """The app's migration history: its name, migrations folder and revision heads."""
        from ..db.migrate import heads

        folder = app.migrations_dir
        # Reading the revisions costs ~20 ms; they change only with the folder's files.
        files = tuple(sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(folder))) if folder and folder.is_dir() else ()
        where = (app.name, str(folder), files)
        found = self._heads.get(where)
        if found is None:
            found = self._heads[where] = tuple(sorted(heads(app)))
        return (*where[:2], found)

    async def materialize(self, app: App, target: Target) -> None:
        """Make ``target`` a migrated, empty database for ``app`` (built on its URL, not yet
        connected)."""
        key = self.key(app)
        if target.path is not None:
            template = self.templates.get(key)
            if template is not None:
                assert template.path is not None
                _copy_sqlite(template.path, target.path)
                return
            await self._migrate(app)
            kept = self.root / f"template-{len(self.templates) + 1}.sqlite3"
            _copy_sqlite(target.path, kept)
            self.templates[key] = Target(f"sqlite:///{kept}", path=kept)
            return
        assert target.server_url is not None
        session = self.templates.get(("postgresql", target.url))
        if session is None:
            await _pg_admin(target.server_url, f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)', f'CREATE DATABASE "{target.name}"')
        elif self._migrated.get(target.url) == key:
            await _pg_empty(target.url, self._tables[target.url])
            return
        else:  # another app's history: start again from an empty schema
            await _pg_admin(target.url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
        self.templates[("postgresql", target.url)] = target
        await self._migrate(app)
        self._migrated[target.url] = key
        self._tables[target.url] = await _pg_tables(target.url)

    @staticmethod
    async def _migrate(app: App) -> None:
        from ..db.migrate import upgrade_async

        await upgrade_async(app)
        await app.database.dispose()  # what is copied or emptied next must have no connections left

    async def release(self, target: Target) -> None:
        """After a test: nothing to do (an SQLite file goes with the test's tmp_path, the
        PostgreSQL database is emptied by the next test and dropped by :meth:`close`)."""

    async def close(self) -> None:
        """Drop the session's PostgreSQL databases (at the end of the session)."""
        for template in self.templates.values():
            if template.server_url is not None:
                await _pg_admin(template.server_url, f'DROP DATABASE IF EXISTS "{template.name}" WITH (FORCE)')
        self.templates.clear()


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:6]


async def _pg_tables(url: str) -> list[str]:
    """The database's tables, those referenced by foreign keys last (the order to empty
    them in), without Alembic's version table."""
    import sqlalchemy as sa

    from ..db.database import Database
    from ..settings import async_url

    db = Database(async_url(url))
    meta = sa.MetaData()
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(lambda c: meta.reflect(c))
    finally:
        await db.dispose()
    with warnings.catch_warnings():  # tables in a foreign-key cycle: _pg_empty falls back to TRUNCATE
        warnings.simplefilter("ignore")
        ordered = list(reversed(meta.sorted_tables))
    return [t.name for t in ordered if t.name != "alembic_version"]


RESTART_SEQUENCES = (
    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname = 'public'"
)


async def _pg_empty(url: str, tables: list[str]) -> None:
    """Delete every row (dependents first) and restart every sequence, in one round trip;
    TRUNCATE (slow: it syncs every table's files) when rows reference each other in a cycle."""
    import asyncpg

    try:
        await _pg_admin(url, "".join(f'DELETE FROM "{t}"; ' for t in tables) + RESTART_SEQUENCES)
    except asyncpg.ForeignKeyViolationError:
        await _pg_admin(url, f"TRUNCATE {', '.join(chr(34) + t + chr(34) for t in tables)} RESTART IDENTITY CASCADE")
