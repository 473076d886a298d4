"""Run this checkout's ``hyper`` as a user would: a subprocess, its text output, a timeout.

The one helper the CLI tests share (importable as ``from hyper_cli import hyper``:
pytest puts ``tests/`` on sys.path for its conftest). The environment is the test
process's, less every ``HYPER_*`` variable of the shell (a developer's
``HYPER_DATABASE_URL`` must not reach a test), with ``HYPER_ENV=test``, no colour and a
wide terminal; ``env`` adds to it, and a ``None`` value removes a variable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

HYPER = str(Path(sys.executable).parent / "hyper")
"""The ``hyper`` console script of the virtualenv running the tests."""

BASE_ENV = {"HYPER_ENV": "test", "NO_COLOR": "1", "COLUMNS": "200"}


def hyper_env(env: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The environment :func:`hyper` runs with (for a ``Popen`` of a long-running ``hyper``)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("HYPER_")} | BASE_ENV
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return full


def hyper(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | str | None = None,
    stdin: str | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """``hyper *args`` to completion: returncode, stdout and stderr as text."""
    return subprocess.run(
        [HYPER, *args], env=hyper_env(env), cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    """A refusal as the CLI must give it: non-zero exit, no traceback, one line on stderr
    naming every one of ``needles``."""
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
