"""``hyper features`` as a user runs it: a subprocess against the teamboard app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hyper_cli import assert_one_line_error as one_line_error
from hyper_cli import hyper


def migrated(url: str) -> dict[str, str]:
    e = {"HYPER_DATABASE_URL": url, "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}
    r = hyper("db", "upgrade", env=e)
    assert r.returncode == 0, r.stderr
    return e


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    """Runs on SQLite and on PostgreSQL."""
    return migrated(database_url)


@pytest.fixture
def sqlite_env(sqlite_url: str) -> dict[str, str]:
    return migrated(sqlite_url)


def test_set_flag_and_list(env: dict[str, str]) -> None:
    r = hyper("features", "set", "comments", "--lifecycle", "deprecated", "--sunset", "2027-03-01", "--link", "https://x.dev/c", env=env)
    assert r.returncode == 0, r.stderr
    assert "comments: deprecated" in r.stdout and "2027-03-01" in r.stdout
    r = hyper("features", "flag", "tasks", "--percent", "20", "--roles", "admin,member", env=env)
    assert r.returncode == 0, r.stderr
    assert "20% of admin, member" in r.stdout
    rows = {row["feature"]: row for row in json.loads(hyper("features", "list", "--json", env=env).stdout)}
    assert rows["comments"]["lifecycle"] == "deprecated" and rows["comments"]["sunset"] == "2027-03-01"
    assert rows["comments"]["link"] == "https://x.dev/c" and rows["comments"]["owner"] == "dan@teamboard.dev"
    assert rows["tasks"]["flag"] == "20% of admin, member"
    assert rows["projects"] == {**rows["projects"], "lifecycle": "active", "flag": None}
    hyper("features", "flag", "tasks", "--off", env=env)
    table = hyper("features", "list", env=env)
    assert table.returncode == 0 and "off" in table.stdout and "deprecated" in table.stdout
    assert "flag: on" in hyper("features", "flag", "tasks", "--on", env=env).stdout
    hyper("features", "flag", "tasks", "--clear", env=env)
    rows = {row["feature"]: row for row in json.loads(hyper("features", "list", "--json", env=env).stdout)}
    assert rows["tasks"]["flag"] is None


def test_bad_input_is_one_line_and_non_zero(sqlite_env: dict[str, str]) -> None:
    env = sqlite_env
    one_line_error(hyper("features", "set", "nope", "--lifecycle", "removed", env=env), "unknown feature 'nope'")
    one_line_error(hyper("features", "set", "tasks", "--sunset", "2027-13-01", env=env), "bad date")
    one_line_error(hyper("features", "set", "tasks", "--lifecycle", "zombie", env=env), "unknown lifecycle")
    one_line_error(hyper("features", "flag", "tasks", "--percent", "120", env=env), "percentage")
    one_line_error(hyper("features", "flag", "tasks", "--roles", "wizard", env=env), "unknown roles")
    one_line_error(hyper("features", "flag", "auth", "--off", env=env), "cannot be gated")
    one_line_error(hyper("features", "flag", "tasks", "--on", "--off", env=env), "only one of")
    one_line_error(hyper("features", "set", "tasks", "--lifecycle", "deprecated", "--link", "https://x.example/a\r\nX-Evil: 1", env=env), "bad link")
    one_line_error(hyper("features", "set", "tasks", "--lifecycle", "deprecated", "--link", "https://例.example/neu", env=env), "percent-encode")


def test_missing_tables_is_one_line(tmp_path: Path) -> None:
    e = {"HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}
    one_line_error(hyper("features", "list", env=e), "hyper db upgrade")
