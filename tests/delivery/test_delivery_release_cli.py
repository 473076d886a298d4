"""``hyper release record|list|dora`` as a subprocess: a pipeline's started then succeeded
under one id, commits from git, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from hyper_cli import hyper


def test_started_then_succeeded_then_dora(sqlite_url: str, tmp_path: Path) -> None:
    env = {"HYPER_DATABASE_URL": sqlite_url, "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}
    assert hyper("db", "upgrade", env=env).returncode == 0
    # a repository with two commits since the last release
    g = {**os.environ, "GIT_AUTHOR_NAME": "Dan", "GIT_AUTHOR_EMAIL": "dan@teamboard.dev", "GIT_COMMITTER_NAME": "Dan",
         "GIT_COMMITTER_EMAIL": "dan@teamboard.dev"}
    run = lambda *a, when="2026-12-01T08:00:00Z": subprocess.run(  # noqa: E731
        ["git", *a], cwd=tmp_path, check=True, capture_output=True, text=True, env={**g, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
    run("init", "-q")
    run("commit", "-q", "--allow-empty", "-m", "base", when="2026-11-30T08:00:00Z")
    run("commit", "-q", "--allow-empty", "-m", "one", when="2026-12-01T08:00:00Z")
    run("commit", "-q", "--allow-empty", "-m", "two", when="2026-12-01T09:00:00Z")
    common = ["release", "record", "--version", "1.5.0", "--sha", "abcdef12", "--env", "production", "--id", "run-9"]
    r = hyper(*common, "--status", "started", "--commits-from-git", "HEAD~2..HEAD", "--at", "2026-12-01T09:50:00Z", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "recorded release 1.5.0 abcdef12: production started (id run-9, 2 commits" in r.stdout
    r = hyper(*common, "--status", "succeeded", "--at", "2026-12-01T10:00:00Z", env=env, cwd=tmp_path)
    assert r.returncode == 0 and "updated release 1.5.0 abcdef12: production succeeded (id run-9" in r.stdout, r.stderr
    (d,) = json.loads(hyper("release", "list", "--json", env=env).stdout)
    assert (d["id"], d["status"], d["started_at"][:19], d["finished_at"][:19]) == ("run-9", "succeeded", "2026-12-01T09:50:00", "2026-12-01T10:00:00")
    assert [c["author"] for c in d["commits"]] == ["dan@teamboard.dev", "dan@teamboard.dev"]
    r = hyper("release", "dora", "--json", env=env)
    assert r.returncode == 0 and set(json.loads(r.stdout)["windows"]) == {"7", "28", "90"}
    r = hyper("release", "dora", "--by", "owner", "--days", "90", env=env)
    assert r.returncode == 0 and "dan@teamboard.dev" in r.stdout and "2023 Accelerate State of DevOps" in r.stdout


def test_bad_input_is_one_line(sqlite_url: str) -> None:
    env = {"HYPER_DATABASE_URL": sqlite_url, "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}
    assert hyper("db", "upgrade", env=env).returncode == 0
    assert hyper("release", "record", "--version", "2.0", "--id", "x", "--status", "failed", env=env).returncode == 0
    for args, words in [
        (["--version", "2.0", "--status", "deployed"], "bad status"),
        (["--version", "2 0"], "bad --version"),
        (["--version", "2.0", "--commit", "abc"], "bad --commit"),
        (["--version", "2.0", "--commit", "abcd@yesterday"], "ISO 8601"),
        (["--version", "2.0", "--feature", "nope"], "unknown feature"),
        (["--version", "2.0", "--at", "soon"], "bad --at"),
        (["--version", "2.0", "--id", "x", "--status", "succeeded"], "already finished as failed"),
        (["--version", "3.0", "--id", "x"], "use another --id"),
        (["--version", "2.0", "--commits-from-git", "nope..HEAD"], "git"),
    ]:
        r = hyper("release", "record", *args, env=env, cwd=Path("/"))
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    r = hyper("release", "dora", "--days", "5", env=env)
    assert r.returncode == 1 and "bad --days" in r.stderr
