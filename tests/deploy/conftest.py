"""Fixtures for the deploy tests: apps on in-memory settings and a render helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from deployhelpers import IMAGE, TEAMBOARD_SPEC, settings
from hyperdeliver import App
from hyperdeliver.deploy.k8s import K8sOptions, render


@pytest.fixture
def teamboard_app() -> App:
    from hyperdeliver.demo.teamboard.app import create_app

    return create_app(settings())


@pytest.fixture
def cron_app() -> App:
    import cronapp

    return cronapp.create_app(settings())


@pytest.fixture
def render_app() -> Callable[..., dict[str, str]]:
    """``render_app(app, **options)``: the rendered files (image IMAGE unless given)."""

    def go(app: App, **kw: Any) -> dict[str, str]:
        return render(app, K8sOptions(**({"image": IMAGE, "app_spec": TEAMBOARD_SPEC} | kw)))

    return go
