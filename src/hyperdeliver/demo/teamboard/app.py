"""The teamboard app. ``hyper`` finds it through ``[tool.hyperdeliver] app`` in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from hyperdeliver import App, Settings

ROLES = ["viewer", "member", "admin"]
"""Lowest first: a member can do what a viewer can, an admin what a member can."""


def create_app(settings: Settings | None = None) -> App:
    return App(
        "teamboard",
        features=f"{__package__}.features",
        roles=ROLES,
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
    )
