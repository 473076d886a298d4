"""``hyper members``: grant, list and revoke scoped roles from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hyper_cli import assert_one_line_error as one_line_error
from hyper_cli import hyper


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {"HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}
    assert hyper("db", "upgrade", env=e).returncode == 0
    assert hyper("users", "create", "ada@example.com", stdin="a long password\n", env=e).returncode == 0
    return e


def test_add_list_and_remove_a_membership(env: dict[str, str]) -> None:
    r = hyper("members", "add", "Ada@Example.com", "--scope", "workspace:3", "--role", "admin", env=env)
    assert r.returncode == 0, r.stderr
    assert "ada@example.com is admin in workspace 3" in r.stdout
    assert hyper("members", "add", "ada@example.com", "--scope", "workspace:4", "--role", "viewer", env=env).returncode == 0
    r = hyper("members", "list", "--scope", "workspace:3", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert [(m["email"], m["scope_id"], m["role"]) for m in json.loads(r.stdout)] == [("ada@example.com", "3", "admin")]
    r = hyper("members", "list", "--scope", "workspace", "--user", "ada@example.com", "--json", env=env)
    assert [m["scope_id"] for m in json.loads(r.stdout)] == ["3", "4"]
    table = hyper("members", "list", "--scope", "workspace:3", env=env)
    assert "ada@example.com" in table.stdout and "admin" in table.stdout
    r = hyper("members", "remove", "ada@example.com", "--scope", "workspace:3", env=env)
    assert r.returncode == 0 and "removed 1 role(s)" in r.stdout
    assert json.loads(hyper("members", "list", "--scope", "workspace:3", "--json", env=env).stdout) == []
    one_line_error(hyper("members", "remove", "ada@example.com", "--scope", "workspace:3", env=env), "holds no role in workspace 3")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["add", "ada@example.com", "--scope", "team:3", "--role", "admin"], "unknown scope 'team' (the app declares: workspace)"),
        (["add", "ada@example.com", "--scope", "workspace", "--role", "admin"], "names no id: write workspace:ID"),
        (["add", "ada@example.com", "--scope", "workspace:3", "--role", "owner"], "unknown role 'owner' in scope 'workspace'"),
        (["add", "nobody@example.com", "--scope", "workspace:3", "--role", "admin"], "no user with email nobody@example.com"),
        (["add", "ada@example.com", "--scope", "workspace:" + "9" * 101, "--role", "admin"], "the id is at most 100 characters"),
    ],
)
def test_bad_input_is_one_line(env: dict[str, str], args: list[str], needle: str) -> None:
    one_line_error(hyper("members", *args, env=env), needle)


def test_an_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    e = {"HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}
    one_line_error(hyper("members", "list", "--scope", "workspace:1", env=e), "run 'hyper db upgrade' first")
