"""Helpers for the scaffold tests (importable: pytest puts this folder on sys.path)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import hyper_cli
from hyper_cli import assert_one_line_error  # noqa: F401  (the scaffold tests import it from here)

ROOT = Path(__file__).resolve().parents[2]
"""The hyperdeliver checkout."""


def hyper(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """:func:`hyper_cli.hyper` in a project folder as its user runs it: HYPER_APP from the
    project's pyproject.toml, HYPER_ENV unset."""
    return hyper_cli.hyper(*args, cwd=cwd, env={"HYPER_ENV": None, **(env or {})}, timeout=timeout)


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under ``root`` (``.git`` aside): its hash, mode and mtime, to prove
    that nothing was written (or exactly what was)."""
    out: dict[str, tuple[str, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", "__pycache__")]
        for filename in filenames:
            path = Path(dirpath) / filename
            stat = path.stat()
            out[path.relative_to(root).as_posix()] = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mode, stat.st_mtime_ns)
    return out
