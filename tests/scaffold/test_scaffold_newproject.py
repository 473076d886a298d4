"""A new user's first hour, for real: a wheel of this checkout installed (not editable) in a
fresh virtualenv, ``hyper new acme``, then the two commands of acme's README. The product
serves and its printed admin logs in; its tests pass on SQLite and PostgreSQL; a feature
added with ``hyper add feature`` migrates and is covered by the permission matrix.

Marked ``newproject`` (``pytest -m newproject`` runs these alone). The wheel, the
virtualenv and the generated project are made once per session and shared.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from scaffoldhelpers import ROOT, assert_one_line_error
from waiting import wait_until

pytestmark = pytest.mark.newproject

TEMPLATES = ROOT / "src/hyperdeliver/scaffold/templates"
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "var", "test-output", ".pytest_cache", ".mypy_cache")


def _env(**extra: str) -> dict[str, str]:
    """A user's shell: nothing of this test run's virtualenv or hyperdeliver settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPER_", "PYTEST_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix))
    return {**env, "NO_COLOR": "1", "COLUMNS": "200", **extra}


def _run(args: list[str], cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout)


def _ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, f"{r.args} exited {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r.stdout


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a clean copy of the checkout (no stale build/ to leak in)."""
    source = tmp_path_factory.mktemp("hd-source") / "hyperdeliver"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE), symlinks=True)
    out = tmp_path_factory.mktemp("hd-wheel")
    _ok(_run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)], cwd=out))
    (built,) = out.glob("hyperdeliver-*.whl")
    return built


@pytest.fixture(scope="session")
def user_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed as a user would (``pip install x.whl``)."""
    venv = tmp_path_factory.mktemp("hd-user") / "venv"
    _ok(_run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent))
    _ok(_run([str(venv / "bin/pip"), "install", "-q", str(wheel)], cwd=venv.parent))
    return venv


@pytest.fixture(scope="session")
def acme(user_venv: Path, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("hd-work")
    # As a user types it: no --hyperdeliver-path. A hyperdeliver installed from a wheel
    # file is depended on at that file, so acme's ./dev installs the same one.
    out = _ok(_run([str(user_venv / "bin/hyper"), "new", "acme", "--owner", "ada@acme.io"], cwd=work))
    assert "./dev run" in out and "./dev test" in out
    assert f"hyperdeliver @ {wheel.as_uri()}" in out
    return work / "acme"


@pytest.fixture(scope="session")
def pg_test_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """``HYPER_TEST_DATABASE_URL`` for acme's tests: a database made for this session on
    the PostgreSQL server, from which the testing kit creates one database per test."""
    import asyncpg

    server: str = request.getfixturevalue("pg_server")
    name = f"hd_newproject_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield server.rsplit("/", 1)[0] + "/" + name
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def acme_with_invoices(acme: Path) -> Path:
    """acme after ``hyper add feature invoices`` and ``hyper db revision`` / ``upgrade``."""
    out = _ok(_run(["./dev", "hyper", "add", "feature", "invoices", "--owner", "a@acme.io"], cwd=acme))
    assert "created acme/migrations/0002_invoices.py" in out
    revision = _ok(_run(["./dev", "hyper", "db", "revision", "-m", "invoices"], cwd=acme))
    assert "no changes" in revision  # the feature came with its migration
    assert "acme_0002" in _ok(_run(["./dev", "hyper", "db", "upgrade"], cwd=acme))
    return acme


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dev_run_until_served(acme: Path, log: Path) -> tuple[str, str]:
    """Start ``./dev run``, wait for /healthz, log in as the printed admin, stop it."""
    port = _free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["./dev", "run", "--port", str(port)], cwd=acme, env=_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        def serves() -> bool:
            assert proc.poll() is None, f"./dev run exited {proc.returncode}:\n{log.read_text()[-4000:]}"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(serves, "./dev run to serve /healthz", timeout=420, every=0.5)  # the first run creates .venv and installs
        found = re.search(r"admin login: (\S+) / (\S+)", log.read_text())
        assert found is not None, log.read_text()
        email, password = found.groups()
        r = httpx.post(f"http://127.0.0.1:{port}/auth/login", json={"email": email, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["user"]["roles"] == ["admin"]
        return email, password
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_wheel_ships_every_template_file_and_no_teamboard(wheel: Path, user_venv: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        shipped = {i.filename: (i.external_attr >> 16) & 0o111 for i in z.infolist()}
    for path in TEMPLATES.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            name = f"hyperdeliver/{path.relative_to(ROOT / 'src/hyperdeliver').as_posix()}"
            assert name in shipped, f"{name} is not in the wheel (package-data in pyproject.toml)"
            assert bool(shipped[name]) == bool(path.stat().st_mode & 0o111), f"{name}: executable bit lost"
    assert not any(name.split("/")[0] == "teamboard" for name in shipped)
    probe = _run([str(user_venv / "bin/python"), "-c", "import importlib.util as u; print(u.find_spec('teamboard'))"], cwd=user_venv)
    assert _ok(probe).strip() == "None"


def test_dev_run_serves_and_the_printed_admin_logs_in_once_created(acme: Path, tmp_path: Path) -> None:
    assert (acme / "dev").stat().st_mode & 0o111 == 0o111
    first = _dev_run_until_served(acme, tmp_path / "first.log")
    again = _dev_run_until_served(acme, tmp_path / "again.log")  # the next run: the same admin, not a second one
    assert first == again and first[0] == "ada@acme.io"
    with closing(sqlite3.connect(acme / "var/hyper.sqlite3")) as db:  # sqlite3's own with commits but leaves it open
        assert db.execute("SELECT count(*) FROM hd_users").fetchone() == (1,)


def test_dev_test_passes_on_sqlite(acme: Path) -> None:
    out = _ok(_run(["./dev", "test", "-q", "-p", "no:cacheprovider"], cwd=acme))
    passed = re.search(r"(\d+) passed", out)
    assert passed is not None and int(passed.group(1)) >= 40 and "failed" not in out, out[-2000:]


@pytest.mark.postgres
def test_dev_test_passes_on_postgres(acme: Path, pg_test_server: str) -> None:
    # The feature tests here; the whole suite, permission matrix included, runs on
    # PostgreSQL once the project has grown a feature (below): one database per test
    # makes a PostgreSQL run of the matrix the slowest step of this file.
    args = ["./dev", "test", "-q", "-p", "no:cacheprovider", "-k", "not test_permission_matrix"]
    out = _ok(_run(args, cwd=acme, HYPER_TEST_DATABASE_URL=pg_test_server))
    assert re.search(r"\d+ passed", out) and "failed" not in out and "skipped" not in out, out[-2000:]


def test_an_added_feature_migrates_and_the_matrix_covers_it(acme_with_invoices: Path) -> None:
    acme = acme_with_invoices
    out = _ok(_run(["./dev", "test", "-v", "-p", "no:cacheprovider"], cwd=acme))
    for operation in ("list_invoices", "get_invoice", "create_invoice", "delete_invoice"):
        assert re.search(rf"test_permission_matrix\[invoices\.{operation}-as-viewer\] PASSED", out), operation
    assert "tests/test_invoices.py::test_create_read_list_and_delete_invoices PASSED" in out
    assert _run(["./dev", "hyper", "owners", "--check"], cwd=acme).returncode == 0


@pytest.mark.postgres
def test_an_added_feature_and_everything_else_pass_on_postgres(acme_with_invoices: Path, pg_test_server: str) -> None:
    out = _ok(_run(["./dev", "test", "-v", "-p", "no:cacheprovider"], cwd=acme_with_invoices, HYPER_TEST_DATABASE_URL=pg_test_server))
    assert "test_permission_matrix[invoices.create_invoice-as-member] PASSED" in out
    assert re.search(r"\d+ passed", out) and "failed" not in out and "skipped" not in out, out[-2000:]


def test_the_installed_hyper_refuses_bad_input_and_writes_nothing(user_venv: Path, tmp_path: Path) -> None:
    hyper = str(user_venv / "bin/hyper")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    assert_one_line_error(_run([hyper, "new", "acme", "--path", str(taken)], cwd=tmp_path), "not empty")
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    assert_one_line_error(_run([hyper, "new", "2fast"], cwd=tmp_path), "must start with a letter")
    assert_one_line_error(_run([hyper, "add", "feature", "invoices", "--owner", "a@acme.io"], cwd=tmp_path), "not inside")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
