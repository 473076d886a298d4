"""Fixtures for the deploy tests: apps on in-memory settings and a render helper."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from hyperdeliver import App, Settings
from hyperdeliver.deploy.k8s import K8sOptions, render

HERE = Path(__file__).parent
TEAMBOARD_SPEC = "hyperdeliver.demo.teamboard.app:create_app"
IMAGE = "registry.example.com/teamboard:1.4.0"

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # cronapp


def settings(**kw: Any) -> Settings:
    """Settings of a test, whatever HYPER_* the developer's shell has."""
    base: dict[str, Any] = {"env": "test", "database_url": "sqlite://", "access_log": False, "graceful_timeout": 20.0,
                            "worker_drain_timeout": 20.0, "worker_concurrency": 10, "db_pool_size": 10}
    return Settings(**(base | kw))


@pytest.fixture
def teamboard_app() -> App:
    from hyperdeliver.demo.teamboard.app import create_app

    return create_app(settings())


@pytest.fixture
def cron_app() -> App:
    import cronapp

    return cronapp.create_app(settings())


def docs(files: dict[str, str], prefix: str = "base/") -> list[dict[str, Any]]:
    """Every YAML document of the rendered files under ``prefix``."""
    out: list[dict[str, Any]] = []
    for path, text in files.items():
        if path.startswith(prefix):
            out.extend(d for d in yaml.safe_load_all(text) if d)
    return out


def of_kind(files: dict[str, str], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs(files) if d["kind"] == kind]


@pytest.fixture
def render_app() -> Callable[..., dict[str, str]]:
    """``render_app(app, **options)``: the rendered files (image IMAGE unless given)."""

    def go(app: App, **kw: Any) -> dict[str, str]:
        return render(app, K8sOptions(**({"image": IMAGE, "app_spec": TEAMBOARD_SPEC} | kw)))

    return go
