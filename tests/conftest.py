"""Shared fixtures: databases (SQLite and a real PostgreSQL), apps, clients, servers, a browser.

PostgreSQL: the server on 127.0.0.1:5432 (database ``test``), else a throwaway one
started from the installed binaries, else the PostgreSQL tests skip with the reason,
except under ``CI=true`` where they must run and a missing server fails them. The
``chromium`` fixture follows the same rule for the browser.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from waiting import wait_until

from hyperdeliver import App, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient
from hyperdeliver.types import ASGIApp

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# -- unit and integration -------------------------------------------------------------
#
# Every test is one or the other, marked here at collection (``pytest -m unit``,
# ``pytest -m integration``; docs/testing.md). Integration: a real database, server,
# browser or process, known by the fixtures it uses (through any fixture in between),
# by the markers of those resources, or by its module running ``hyper`` or another
# process. Unit: everything else, held to it while it runs: a unit test that opens a
# database or starts a process fails and says to mark it.

REAL_FIXTURES = frozenset({
    "database_url", "sqlite_url", "postgres_url", "pg_database", "pg_server", "settings_for",  # this suite's databases
    "hyper_databases",  # the testing kit's (its app, client, make_user... fixtures)
    "serve_app", "unused_tcp_port", "unused_tcp_port_factory", "spawn", "chromium",  # servers, processes, a browser
})
REAL_MARKERS = ("integration", "postgres", "browser", "container", "newproject")
REAL_MODULES = frozenset({"subprocess", "hyper_cli", "uvicorn", "playwright", "sqlite3", "aiosqlite", "asyncpg"})
"""A test module that imports one of these runs real processes or servers, or opens a
database through its driver."""


TESTS = Path(__file__).resolve().parent


def _uses(module: Any, depth: int = 2) -> set[str]:
    """The top-level modules whose names ``module`` holds (a module, or what came from
    one), and those of the test suite's own helper modules it holds, in turn."""
    found: set[str] = set()
    for value in vars(module).values():
        name = value.__name__ if isinstance(value, type(os)) else getattr(value, "__module__", None)
        if not isinstance(name, str):
            continue
        found.add(name.partition(".")[0])
        helper = sys.modules.get(name)
        path = getattr(helper, "__file__", None)
        if depth and helper is not module and path and Path(path).resolve().is_relative_to(TESTS):
            found |= _uses(helper, depth - 1)
    return found


def is_integration(item: pytest.Item) -> bool:
    if any(item.get_closest_marker(m) for m in REAL_MARKERS):
        return True
    if REAL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return module is not None and bool(REAL_MODULES & _uses(module))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.integration if is_integration(item) else pytest.mark.unit)


@pytest.fixture(autouse=True)
def _leaks_show_at_the_test_that_leaked() -> Iterator[None]:
    """Collect garbage after each test: an unclosed connection, file or socket warns
    (in the warnings summary) at the test that left it, not at a later one."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _unit_tests_stay_in_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse a database connection or a process to a test marked unit."""
    if request.node.get_closest_marker("unit") is None:
        return
    import sqlite3

    import asyncpg

    def refuse(what: str) -> Callable[..., Any]:
        def refused(*args: Any, **kw: Any) -> Any:
            raise AssertionError(
                f"{request.node.nodeid} is a unit test but {what}: use a fixture that says so "
                "(sqlite_url, database_url, ...) or mark it @pytest.mark.integration"
            )

        return refused

    # croniter's first import asks platform.architecture(), which runs `file` in a
    # process: import it before the refusal, as any earlier test would have.
    import croniter  # noqa: F401

    monkeypatch.setattr(sqlite3, "connect", refuse("opened a SQLite database"))
    monkeypatch.setattr(asyncpg, "connect", refuse("connected to PostgreSQL"))
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("started a process"))
PG_ADMIN_URL = os.environ.get("HYPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _throwaway_postgres() -> tuple[str, Callable[[], None]] | None:
    """Start a private PostgreSQL from the installed binaries; return (url, stop)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        return None
    bindir = bins[-1].parent
    root = Path(tempfile.mkdtemp(prefix="hd-pg-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "-w", "start"],
        check=True,
        capture_output=True,
    )
    subprocess.run([*prefix, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "test"], check=True)

    def stop() -> None:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}/test", stop


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The admin URL of a reachable PostgreSQL server."""
    stop = None
    url = PG_ADMIN_URL
    if not _port_open("127.0.0.1", 5432) and "HYPER_TEST_PG" not in os.environ:
        started = None
        try:
            started = _throwaway_postgres()
        except Exception as exc:  # noqa: BLE001
            reason = f"could not start a throwaway PostgreSQL: {exc}"
        else:
            reason = "no PostgreSQL on 127.0.0.1:5432 and no binaries under /usr/lib/postgresql"
        if started is None:
            if CI:
                pytest.fail(f"PostgreSQL tests must run under CI=true: {reason}")
            pytest.skip(f"PostgreSQL tests skipped: {reason}")
        url, stop = started
    yield url
    if stop:
        stop()


def _run_pg(admin_url: str, sql: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh database for this test session on the PostgreSQL server."""
    name = f"hd_test_{os.getpid()}_{secrets.token_hex(3)}"
    _run_pg(pg_server, f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + "/" + name
    _run_pg(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _reset_pg(url: str) -> None:
    """Empty the database: a fresh public schema, so every test migrates its own app."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on a fresh SQLite file and on PostgreSQL (emptied)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_reset_pg(url))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def postgres_url(pg_database: str) -> str:
    asyncio.run(_reset_pg(pg_database))
    return pg_database


def make_settings(database_url: str, tmp_path: Path, **kw: Any) -> Settings:
    """A test's settings: env ``test``, no access log, ``var`` under ``tmp_path``; ``kw`` overrides any."""
    base: dict[str, Any] = {"env": "test", "database_url": database_url, "var_dir": tmp_path / "var", "access_log": False}
    return Settings(**(base | kw))


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """``settings_for(database_url, **overrides)``: :func:`make_settings` under this test's tmp_path."""

    def build(database_url: str, **kw: Any) -> Settings:
        return make_settings(database_url, tmp_path, **kw)

    return build


@pytest.fixture
async def teamboard(database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    """The demo product, migrated, with its seed users; on SQLite and on PostgreSQL."""
    from hyperdeliver.demo.teamboard.app import create_app
    from hyperdeliver.demo.teamboard.seed import seed

    app = create_app(make_settings(database_url, tmp_path))
    await upgrade_async(app)
    await seed(app)
    yield app
    await app.shutdown()
    await app.database.dispose()


@pytest.fixture
async def client(teamboard: App) -> AsyncIterator[TestClient]:
    async with TestClient(teamboard) as c:
        yield c


# -- real servers and a real browser ------------------------------------------------


@pytest.fixture
def serve_app(unused_tcp_port_factory: Callable[[], int]) -> Iterator[Callable[..., str]]:
    """``serve_app(app, **uvicorn_options)``: serve an ASGI app with uvicorn in a thread on
    a free port; its URL.

    The app runs only on the server thread's event loop, so build it for that (not
    started, no open connections). Every server started stops at teardown.
    """
    import uvicorn

    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(app: ASGIApp, **options: Any) -> str:
        port = unused_tcp_port_factory()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none", http="h11", loop="asyncio", **options
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        wait_until(lambda: server.started or not thread.is_alive(), "uvicorn to start")
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        return f"http://127.0.0.1:{port}"

    yield serve
    for server, _thread in running:
        server.should_exit = True
    for _server, thread in running:
        thread.join(timeout=20)


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """The installed (Debian) Chromium, headless, launched through Playwright.

    Without one the test skips, except under ``CI=true`` where it fails.
    """
    if not Path(CHROMIUM).exists():
        if CI:
            pytest.fail("Chromium is required under CI=true")
        pytest.skip("no Chromium installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
