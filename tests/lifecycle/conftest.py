"""Fixtures: the lifecycle test app, migrated, with one user per role, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hyperdeliver import App, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient

from lcapp import build

USERS = {"viewer": "viewer@example.com", "member": "member@example.com", "admin": "admin@example.com"}
PASSWORD = "a long password"


@pytest.fixture
async def lc_app(database_url: str, settings_for: Callable[..., Settings]) -> AsyncIterator[App]:
    app = build(settings_for(database_url))
    await upgrade_async(app)
    async with app.database.session() as s:
        for role, email in USERS.items():
            await app.auth.create_user(s, email, PASSWORD, {role})
        await s.commit()
    yield app
    await app.shutdown()
    await app.database.dispose()


@pytest.fixture
async def lc_client(lc_app: App) -> AsyncIterator[TestClient]:
    async with TestClient(lc_app) as c:
        yield c


@pytest.fixture
def login() -> Callable[..., Any]:
    async def go(c: TestClient, role: str) -> None:
        await c.login(USERS[role], PASSWORD)

    return go
