"""Helpers of the deploy tests: settings whatever the shell has, YAML read-back, and
``hyper`` run as a user runs it (``cronapp`` importable)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import hyper_cli
import yaml

from hyperdeliver import Settings

HERE = Path(__file__).parent
TEAMBOARD_SPEC = "hyperdeliver.demo.teamboard.app:create_app"
IMAGE = "registry.example.com/teamboard:1.4.0"

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # cronapp


def settings(**kw: Any) -> Settings:
    """Settings of a test, whatever HYPER_* the developer's shell has."""
    base: dict[str, Any] = {"env": "test", "database_url": "sqlite://", "access_log": True, "graceful_timeout": 20.0,
                            "worker_drain_timeout": 20.0, "worker_concurrency": 10, "db_pool_size": 10}
    return Settings(**(base | kw))


def docs(files: dict[str, str], prefix: str = "base/") -> list[dict[str, Any]]:
    """Every YAML document of the rendered files under ``prefix``."""
    out: list[dict[str, Any]] = []
    for path, text in files.items():
        if path.startswith(prefix):
            out.extend(d for d in yaml.safe_load_all(text) if d)
    return out


def of_kind(files: dict[str, str], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs(files) if d["kind"] == kind]


def hyper(*args: str, cwd: Path, app: str = "cronapp:create_app", **env: str) -> subprocess.CompletedProcess[str]:
    """``hyper *args`` in ``cwd`` with ``HYPER_APP=app``, no HYPER_* from the shell, and ``env``."""
    base = {"HYPER_ENV": None, "HYPER_APP": app, "PYTHONPATH": str(HERE), "HYPER_VAR_DIR": str(cwd / "var")}
    return hyper_cli.hyper(*args, cwd=cwd, env=base | env)
