"""Bad input on the ``hyper`` CLI: one line on stderr, a non-zero exit, and nothing done."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hyper_cli import assert_one_line_error, hyper
from test_cli_core import TEAMBOARD, db_env  # noqa: F401 - db_env is a fixture

from hyperdeliver.errors import first_line


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--port", "99999"),
        ("serve", "--port", "65536"),
        ("serve", "--port", "-1"),
        ("serve", "--workers", "0"),
        ("dev", "--port", "65536"),
    ],
)
def test_serve_and_dev_refuse_a_port_out_of_range(args: tuple[str, ...], db_env: dict[str, str]) -> None:
    r = hyper(*args, env=db_env)
    assert_one_line_error(r, args[1])
    assert r.returncode == 2


def test_demo_refuses_a_bad_port_before_touching_its_database(tmp_path: Path) -> None:
    var = tmp_path / "var"
    r = hyper("demo", "--no-serve", "--port", "99999", env={"HYPER_VAR_DIR": str(var)}, cwd=tmp_path)
    assert_one_line_error(r, "--port", "65535")
    assert not var.exists()


def test_users_create_on_an_unmigrated_database_is_one_line(db_env: dict[str, str]) -> None:
    r = hyper("users", "create", "grace@example.com", stdin="a long password\n", env=db_env)
    assert_one_line_error(r, "hyper db upgrade")


@pytest.mark.parametrize("url", ["garbage", "mysql://x/y"])
def test_a_bad_database_url_names_the_variable(url: str, db_env: dict[str, str]) -> None:
    assert_one_line_error(hyper("routes", env={**db_env, "HYPER_DATABASE_URL": url}), "HYPER_DATABASE_URL")


def test_a_bad_setting_names_the_variable_and_its_value(db_env: dict[str, str]) -> None:
    r = hyper("routes", env={**db_env, "HYPER_ENV": "prod"})
    assert_one_line_error(r, "HYPER_ENV='prod'", "production")
    r = hyper("routes", env={**db_env, "HYPER_DB_POOL_SIZE": "lots"})
    assert_one_line_error(r, "HYPER_DB_POOL_SIZE='lots'")


def test_an_unexpected_error_prints_only_itsfirst_line(tmp_path: Path, db_env: dict[str, str]) -> None:
    unreachable = {**db_env, "HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.sqlite3'}"}
    r = hyper("db", "current", env=unreachable)
    assert_one_line_error(r, "OperationalError", "unable to open database file")
    assert "Background on this error" not in r.stderr


def test_first_line_skips_blank_lines() -> None:
    assert first_line("\n  one  \ntwo\n") == "one"
    assert first_line("") == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("jobs", "show", "99999999999999999999"), "job_id"),
        (("jobs", "retry", "99999999999999999999"), "job_id"),
        (("jobs", "list", "--limit", "99999999999999999999"), "--limit"),
        (("jobs", "purge", "--older-than", "99999999999d"), "too long"),
    ],
)
def test_jobs_refuse_numbers_too_large(args: tuple[str, ...], needle: str, db_env: dict[str, str]) -> None:
    r = hyper(*args, env=db_env)
    assert_one_line_error(r, needle)
    assert "OverflowError" not in r.stderr


def test_db_upgrade_reports_the_revisions_it_is_really_at(db_env: dict[str, str]) -> None:
    r = hyper("db", "upgrade", env=db_env)
    assert r.returncode == 0, r.stderr
    assert "database at" in r.stdout and "teamboard_0002" in r.stdout
    r = hyper("db", "upgrade", "base", env=db_env)
    assert r.returncode == 0, r.stderr
    assert "unchanged" in r.stdout and "teamboard_0002" in r.stdout
    assert "database at base" not in r.stdout
    current = hyper("db", "current", env=db_env)
    assert current.returncode == 0 and "up to date" in current.stdout


@pytest.mark.parametrize("message", ["", "   "])
def test_db_revision_refuses_an_empty_message_before_writing(message: str, tmp_path: Path) -> None:
    shutil.copytree(TEAMBOARD, tmp_path / "teamboard", ignore=shutil.ignore_patterns("__pycache__"))
    migrations = tmp_path / "teamboard" / "migrations"
    before = sorted(p.name for p in migrations.iterdir())
    env = {
        "PYTHONPATH": str(tmp_path),
        "HYPER_APP": "teamboard.app:create_app",
        "HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'rev.sqlite3'}",
    }
    r = hyper("db", "revision", "-m", message, env=env, cwd=tmp_path)
    assert_one_line_error(r, "--message")
    assert sorted(p.name for p in migrations.iterdir()) == before


def test_production_on_the_default_secret_key_refuses_to_serve_in_one_line(db_env: dict[str, str]) -> None:
    r = hyper("serve", "--port", "8976", env={**db_env, "HYPER_ENV": "production"})
    assert_one_line_error(r, "hd.E010 HYPER_SECRET_KEY", "HYPER_ENV=production")
