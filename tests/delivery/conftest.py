"""Fixtures for the delivery tests: the teamboard features in an app whose roles include
``deployer``, migrated and seeded, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hyperdeliver import App, Settings
from hyperdeliver.db.migrate import upgrade_async

ROLES = {"viewer": [], "member": ["viewer"], "admin": ["member"], "deployer": []}


@pytest.fixture
async def shipping(database_url: str, settings_for: Callable[..., Settings]) -> AsyncIterator[App]:
    """Teamboard with a ``deployer`` role and a user ``ci@teamboard.dev`` holding only it."""
    import hyperdeliver.demo.teamboard.app as tb
    from hyperdeliver.demo.teamboard.seed import seed

    app = App("teamboard", features="hyperdeliver.demo.teamboard.features", roles=ROLES,
              settings=settings_for(database_url), migrations=Path(tb.__file__).parent / "migrations")
    await upgrade_async(app)
    await seed(app)
    async with app.database.session() as s:
        await app.auth.create_user(s, "ci@teamboard.dev", "ci-password-123", {"deployer"})
        await s.commit()
    yield app
    await app.shutdown()
    await app.database.dispose()


@pytest.fixture
def token_for() -> Callable[[App, str], Awaitable[str]]:
    """``await token_for(app, email)``: a new API token of that user."""
    return _token_for


async def _token_for(app: App, email: str) -> str:
    from sqlalchemy import select

    from hyperdeliver.auth.models import User

    async with app.database.session() as s:
        uid = (await s.execute(select(User.id).where(User.email == email))).scalar_one()
        _row, raw = await app.auth.create_token(s, uid, "ci")
        await s.commit()
    return raw
