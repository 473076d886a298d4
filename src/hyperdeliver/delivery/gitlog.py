"""The commits a deployment ships, read from ``git log`` between two revisions, and the
features whose folders they touched.

Example:
    >>> folders = {"invoices": "acme/features/invoices/", "notes": "acme/features/notes/"}
    >>> features_of(["acme/features/notes/__init__.py", "README.md"], folders)
    ('notes',)
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .records import Commit, parse_time

if TYPE_CHECKING:
    from ..app import App

RECORD, UNIT = "\x1e", "\x1f"
FORMAT = f"--format={RECORD}%H{UNIT}%cI{UNIT}%ae"


class GitError(ValueError):
    """git could not list the commits (not a repository, an unknown revision)."""


def features_of(files: Iterable[str], folders: Mapping[str, str]) -> tuple[str, ...]:
    """The features (sorted) whose folder (POSIX, relative to the repository) holds any of ``files``."""
    hit = set()
    for f in files:
        for name, folder in folders.items():
            prefix = folder.rstrip("/") + "/"
            if f == folder.rstrip("/") or f.startswith(prefix):
                hit.add(name)
    return tuple(sorted(hit))


def _git(args: list[str], cwd: Path) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed: give the commits with --commit SHA@TIME instead") from None
    if out.returncode != 0:
        msg = (out.stderr.strip().splitlines() or ["git failed"])[-1]
        raise GitError(f"git {' '.join(args[:2])}: {msg}")
    return out.stdout


def feature_folders(app: App, root: Path) -> dict[str, str]:
    """Each of the app's features whose folder lies inside ``root``: name -> folder relative to it."""
    out = {}
    root = root.resolve()
    for name, feature in app.features.items():
        folder = feature.folder
        if folder is None:
            continue
        try:
            out[name] = folder.resolve().relative_to(root).as_posix() + ("/" if folder.is_dir() else "")
        except ValueError:
            continue  # hyperdeliver's own features (auth) live outside the project
    return out


def commits_from_git(revisions: str, cwd: Path, folders: Mapping[str, str] | None = None) -> list[Commit]:
    """The non-merge commits in ``revisions`` (``A..B``, as ``git log`` takes it), oldest first.

    ``folders`` (feature -> folder relative to the repository's top) maps each commit's
    files to the features it touched.
    """
    if not revisions.strip() or revisions.strip().startswith("-"):
        raise GitError(f"bad --commits-from-git {revisions!r}: give a range such as 3f2c1ab..HEAD")
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    text = _git(["log", "--no-merges", "--name-only", FORMAT, revisions.strip(), "--"], top)
    out = []
    for chunk in text.split(RECORD)[1:]:
        head, _, rest = chunk.partition("\n")
        sha, at, author = head.split(UNIT)
        files = tuple(line for line in rest.splitlines() if line.strip())
        out.append(Commit(sha=sha, committed_at=parse_time(at), author=author, files=files,
                          features=features_of(files, folders or {})))
    out.reverse()
    return out
