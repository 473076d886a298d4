"""The ``hyper`` CLI as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hyper_cli import assert_one_line_error, hyper

TEAMBOARD = Path(__file__).resolve().parents[2] / "src/hyperdeliver/demo/teamboard"
"""The demo's source, copied by tests as a top-level ``teamboard`` package they may change."""


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    return {"HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}


def test_help_lists_the_commands() -> None:
    r = hyper("--help")
    assert r.returncode == 0
    for command in ("serve", "dev", "routes", "db", "users", "demo"):
        assert command in r.stdout


def test_routes_json_and_table(db_env: dict[str, str]) -> None:
    r = hyper("routes", "--json", env=db_env)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    create = next(row for row in rows if row["path"] == "/projects/{project_id}/tasks" and row["method"] == "POST")
    assert create["feature"] == "tasks" and create["owner"] == "carol@teamboard.dev" and create["roles"] == ["member"]
    table = hyper("routes", env=db_env)
    assert table.returncode == 0
    assert "carol@teamboard.dev" in table.stdout and "/projects/{project_id}/tasks" in table.stdout


def test_routes_matrix_prints_what_the_permission_tests_check(db_env: dict[str, str]) -> None:
    from hyperdeliver import Settings
    from hyperdeliver.demo.teamboard.app import create_app
    from hyperdeliver.testing import callers, expected

    r = hyper("routes", "--matrix", "--json", env=db_env)
    assert r.returncode == 0, r.stderr
    rows = {row["operation"]: row for row in json.loads(r.stdout)}
    # create_task: roles={"member"}, scope="workspace": a global role other than admin is no
    # role in a workspace (404), the global admin passes, the workspace's roles decide.
    assert rows["tasks.create_task"]["callers"] == {
        "anonymous": "401", "no-role": "404", "viewer": "404", "member": "404", "admin": "ok", "admin-without-csrf": "403",
        "workspace-viewer": "403", "workspace-member": "ok", "workspace-admin": "ok", "admin-of-another-workspace": "404",
    }
    assert rows["tasks.create_task"]["scope"] == "workspace" and rows["auth.me"]["callers"]["workspace-admin"] is None
    assert rows["tasks.get_task"]["callers"]["admin-without-csrf"] is None  # a read: no CSRF token involved
    assert rows["auth.login"]["callers"]["anonymous"] == "ok"
    # Every cell is what the generated permission tests expect (one function decides both).
    app = create_app(Settings(env="test", database_url="sqlite://"))
    for caller in callers(app):
        for op in app.operations:
            cell = rows[op.qualname]["callers"][caller.name]
            assert cell == (expected(app, op, caller).value if caller.applies_to(op) else None), (op.qualname, caller.name)
    table = hyper("routes", "--matrix", env=db_env)
    assert table.returncode == 0, table.stderr
    line = next(line for line in table.stdout.splitlines() if "tasks.delete_task" in line)
    assert [cell.strip() for cell in line.split("│")[3:13]] == ["401", "404", "404", "404", "ok", "403", "403", "403", "ok", "404"]


def test_db_upgrade_then_users_create(db_env: dict[str, str]) -> None:
    r = hyper("db", "upgrade", env=db_env)
    assert r.returncode == 0, r.stderr
    r = hyper("users", "create", "grace@example.com", "--role", "admin", stdin="a long password\n", env=db_env)
    assert r.returncode == 0, r.stderr
    assert "grace@example.com" in r.stdout and "admin" in r.stdout
    again = hyper("users", "create", "grace@example.com", "--role", "admin", stdin="a long password\n", env=db_env)
    assert_one_line_error(again, "already exists")
    bad_role = hyper("users", "create", "h@example.com", "--role", "wizard", stdin="a long password\n", env=db_env)
    assert_one_line_error(bad_role, "unknown roles")
    current = hyper("db", "current", env=db_env)
    assert current.returncode == 0 and "up to date" in current.stdout, current.stdout


def test_db_current_on_an_empty_database_lists_pending(db_env: dict[str, str]) -> None:
    r = hyper("db", "current", env=db_env)
    assert r.returncode == 1
    assert "pending" in r.stdout and "teamboard_0002" in r.stdout


def test_bad_app_spec_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(hyper("routes", "--app", "nowhere.at.all:app", cwd=tmp_path), "cannot import")
    assert_one_line_error(hyper("routes", "--app", "hyperdeliver.demo.teamboard.app", cwd=tmp_path), "must look like")


def test_unknown_command_exits_non_zero() -> None:
    r = hyper("frobnicate")
    assert r.returncode != 0 and "Traceback" not in r.stderr


def test_demo_no_serve_migrates_and_seeds(tmp_path: Path) -> None:
    r = hyper("demo", "--no-serve", env={"HYPER_VAR_DIR": str(tmp_path / "var")}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "admin@teamboard.dev" in r.stdout and "admin-password" in r.stdout
    assert (tmp_path / "var" / "demo.sqlite3").exists()


def _teamboard_copy(tmp_path: Path) -> dict[str, str]:
    shutil.copytree(TEAMBOARD, tmp_path / "teamboard", ignore=shutil.ignore_patterns("__pycache__"))
    return {
        "PYTHONPATH": str(tmp_path),
        "HYPER_APP": "teamboard.app:create_app",
        "HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'rev.sqlite3'}",
    }


def _add_due_date(tmp_path: Path) -> None:
    models = tmp_path / "teamboard/features/tasks/models.py"
    models.write_text(models.read_text() + "    due_on: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)\n")


def test_db_revision_creates_a_file_in_the_apps_migrations(tmp_path: Path) -> None:
    env = _teamboard_copy(tmp_path)
    assert hyper("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    _add_due_date(tmp_path)
    r = hyper("db", "revision", "-m", "add a due date", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    created = [p for p in (tmp_path / "teamboard" / "migrations").glob("*.py") if "due_date" in p.name]
    assert len(created) == 1
    assert "add_column(sa.Column('due_on'" in created[0].read_text()
    assert not list((TEAMBOARD / "migrations").glob("*due_date*"))
    assert hyper("db", "upgrade", env=env, cwd=tmp_path).returncode == 0


def test_db_revision_compares_with_the_migrations_not_with_a_database_left_behind(tmp_path: Path) -> None:
    # Nothing migrated yet: on SQLite the models are compared with a scratch database
    # the migrations built, so the revision holds the change and only the change.
    env = _teamboard_copy(tmp_path)
    _add_due_date(tmp_path)
    r = hyper("db", "revision", "-m", "add a due date", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (created,) = (tmp_path / "teamboard" / "migrations").glob("*due_date*.py")
    text = created.read_text()
    assert "add_column(sa.Column('due_on'" in text and "create_table" not in text
    assert not (tmp_path / "rev.sqlite3").exists()  # the app's own database was never touched


def test_db_revision_writes_nothing_when_the_models_match_the_migrations(tmp_path: Path) -> None:
    env = _teamboard_copy(tmp_path)
    before = sorted(p.name for p in (tmp_path / "teamboard" / "migrations").iterdir())
    r = hyper("db", "revision", "-m", "nothing new", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no changes" in r.stdout
    assert sorted(p.name for p in (tmp_path / "teamboard" / "migrations").iterdir()) == before
    r = hyper("db", "revision", "-m", "by hand", "--empty", env=env, cwd=tmp_path)
    assert r.returncode == 0 and "created" in r.stdout
