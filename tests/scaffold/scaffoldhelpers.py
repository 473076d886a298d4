"""Helpers for the scaffold tests (importable: pytest puts this folder on sys.path)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

HYPER = str(Path(sys.executable).parent / "hyper")
ROOT = Path(__file__).resolve().parents[2]
"""The hyperdeliver checkout."""


def hyper(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run this checkout's ``hyper`` as a user would: a subprocess in ``cwd``."""
    full = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    full.pop("HYPER_APP", None)  # found from the project's pyproject.toml, as for a user
    return subprocess.run([HYPER, *args], capture_output=True, text=True, cwd=cwd, env=full, timeout=timeout)


def assert_one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    """A refusal: non-zero exit, no traceback, one line on stderr naming ``needles``."""
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr + r.stdout
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


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
