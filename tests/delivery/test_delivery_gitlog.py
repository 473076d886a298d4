"""Commits between two revisions from a real git repository, mapped to feature folders."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hyperdeliver.delivery.gitlog import GitError, commits_from_git


def git(repo: Path, *args: str, when: str = "2026-12-01T10:00:00+00:00") -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_NAME": "Ada",
           "GIT_AUTHOR_EMAIL": "ada@acme.io", "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@acme.io"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, path: str, when: str) -> str:
    f = repo / path
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(when)
    git(repo, "add", path)
    git(repo, "commit", "-qm", f"change {path}", when=when)
    return git(repo, "rev-parse", "HEAD")


def test_commits_between_two_shas_with_their_features(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    base = commit(tmp_path, "README.md", "2026-11-30T09:00:00+00:00")
    a = commit(tmp_path, "acme/features/invoices/__init__.py", "2026-12-01T08:00:00+00:00")
    b = commit(tmp_path, "acme/features/notes/models.py", "2026-12-01T09:30:00+00:00")
    folders = {"invoices": "acme/features/invoices/", "notes": "acme/features/notes/"}
    found = commits_from_git(f"{base}..HEAD", tmp_path / "acme", folders)
    assert [(c.sha, c.committed_at.isoformat(), c.author, c.features) for c in found] == [
        (a, "2026-12-01T08:00:00+00:00", "ada@acme.io", ("invoices",)),
        (b, "2026-12-01T09:30:00+00:00", "ada@acme.io", ("notes",)),
    ]
    assert found[1].files == ("acme/features/notes/models.py",)
    with pytest.raises(GitError, match="bad revision"):
        commits_from_git("nope..HEAD", tmp_path)
    with pytest.raises(GitError, match="give a range"):
        commits_from_git("--all", tmp_path)
