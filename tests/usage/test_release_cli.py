"""``hyper release record|list`` as a subprocess (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from hyper_cli import hyper


def test_release_record_and_list(database_url: str) -> None:
    env = {"HYPER_DATABASE_URL": database_url, "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}
    r = hyper("release", "record", "--version", "1.4.0", "--sha", "3f2c1ab", env=env)
    assert r.returncode != 0 and "hyper db upgrade" in r.stderr and "Traceback" not in r.stderr
    assert hyper("db", "upgrade", env=env).returncode == 0
    r = hyper("release", "record", "--version", "1.4.0", "--sha", "3f2c1ab", env=env)
    assert r.returncode == 0, r.stderr
    assert "recorded release 1.4.0 3f2c1ab" in r.stdout
    r = hyper("release", "list", "--json", env=env)
    assert [(x["version"], x["sha"]) for x in json.loads(r.stdout)] == [("1.4.0", "3f2c1ab")]
    r = hyper("release", "record", "--version", "", env=env)
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "--version" in r.stderr
