"""The generated permission matrix, in a project as its users have one (tests/testing/project/):
one line enables it, new operations are covered untouched, a wrong answer fails the run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent / "project"
# The project's tests run with this interpreter (hyperdeliver installed, plugin registered).
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "notes"
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HYPER_", "NOTES_", "PYTEST_"))}
    return subprocess.run([*PYTEST, *args], cwd=project, env=environ | env, capture_output=True, text=True, timeout=300)


def ids(output: str) -> list[str]:
    return re.findall(r"test_permission_matrix\[([^\]]+)\] PASSED", output)


def test_one_line_covers_every_operation_and_caller_and_new_ones(project: Path) -> None:
    r = run(project, "-v", NOTES_EXTRA="1")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    found = ids(r.stdout)
    for expected in (
        "notes.create_note-as-anonymous",
        "notes.create_note-as-no-role",
        "notes.create_note-as-reader",
        "notes.create_note-as-writer",
        "notes.create_note-as-owner",
        "notes.create_note-as-owner-without-csrf",
        "notes.list_notes-as-reader",
        "notes.note_history-as-writer",  # declared only with NOTES_EXTRA=1: nobody wrote a test for it
        "auth.login-as-owner-without-csrf",
    ):
        assert expected in found, expected
    assert "notes.list_notes-as-owner-without-csrf" not in found  # the CSRF column is for writes
    # 7 operations of auth + 6 of notes, 5 callers each, and the CSRF column for the 8 writes
    assert len(found) == 13 * 5 + 8
    assert "test_a_writer_creates_a_note PASSED" in r.stdout


def test_a_caller_refused_against_the_declared_roles_fails_the_matrix(project: Path) -> None:
    r = run(project, "-k", "list_notes", NOTES_BUG="1")
    assert r.returncode == 1
    assert "FAILED tests/test_permissions.py::test_permission_matrix[notes.list_notes-as-reader]" in r.stdout
    assert (
        "notes.list_notes-as-reader: GET /notes answered 403, expected ok "
        "(declared roles: reader; caller: a user with reader)"
    ) in r.stdout
    assert "1 failed" in r.stdout  # a writer and an owner still read their notes


def test_strict_asyncio_mode_and_the_ini_option_naming_another_app(project: Path) -> None:
    r = run(project, "-v", "tests/test_permissions.py", "-o", "asyncio_mode=strict", "-o", "hyperdeliver_app=notes_app:create_other")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    found = ids(r.stdout)
    assert "other.other_thing-as-staff" in found and not any(i.startswith("notes.") for i in found)


def test_an_app_that_cannot_be_found_is_one_clear_line(project: Path) -> None:
    r = run(project, "tests/test_notes.py", "-o", "hyperdeliver_app=notes_app:nothing")
    assert r.returncode == 1
    assert "hyperdeliver testing kit: 'notes_app' has no attribute 'nothing'" in r.stdout
    assert "Traceback" not in r.stdout


@pytest.mark.postgres
def test_the_project_runs_on_postgresql_each_test_on_an_emptied_database(project: Path, pg_server: str) -> None:
    import asyncio

    import asyncpg

    async def databases() -> set[str]:
        conn = await asyncpg.connect(pg_server)
        try:
            return {r[0] for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'hdt_%'")}
        finally:
            await conn.close()

    before = asyncio.run(databases())
    r = run(project, "-q", HYPER_TEST_DATABASE_URL=pg_server)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert re.search(r"\b69 passed\b", r.stdout), r.stdout[-500:]  # 12 operations x 5 callers, 8 writes without CSRF, 1 test
    assert asyncio.run(databases()) <= before  # the session's database dropped (others' may come and go)


def test_the_kit_imports_after_a_plain_install_and_names_the_extra(project: Path, tmp_path: Path) -> None:
    # Without pytest (a plain install), the kit's modules import.
    code = "import sys; sys.modules['pytest'] = None; sys.modules['pytest_asyncio'] = None; import hyperdeliver.testing as t; print(t.TestClient.__name__)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "TestClient", r.stderr
    # Without pytest-asyncio, an async fixture fails with the line to run.
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "pytest_asyncio.py").write_text("raise ImportError('not installed')\n")
    r = run(project, "tests/test_notes.py", "-p", "no:asyncio", "-o", "asyncio_mode=auto", PYTHONPATH=str(stub))
    assert r.returncode != 0
    assert "the hyperdeliver fixture 'client' is async and needs pytest-asyncio: pip install 'hyperdeliver[testing]'" in r.stdout
