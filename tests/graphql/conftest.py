"""GraphQL fixtures: the teamboard app plus a ``probe`` feature whose handlers count their calls.

The probe's ``chain`` query returns a nested ``Node`` (deep enough for the depth limit);
every probe handler adds one to the probe's ``calls`` (``app.features["probe"].calls``),
so a test can show that a refused document ran no resolver at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from hyperdeliver import PUBLIC, App, Context, Feature, Settings
from hyperdeliver.auth.models import User
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient


class Node(BaseModel):
    """One link of a chain."""

    level: int
    child: Node | None = None


Node.model_rebuild()


class Probe(Feature):
    """A feature that counts its handlers' calls (one probe per app)."""

    calls = 0


def make_probe() -> Feature:
    probe = Probe("probe", owner="tests@hyperdeliver.dev", summary="Counts resolver calls")

    def count(ctx: Context) -> None:
        probe.calls += 1

    @probe.query("GET /probe/chain", roles=PUBLIC)
    async def chain(ctx: Context, levels: int = 3) -> Node:
        """A chain of ``levels`` nested nodes."""
        count(ctx)
        node = None
        for level in range(levels, 0, -1):
            node = Node(level=level, child=node)
        assert node is not None
        return node

    @probe.query("GET /probe/ping", roles=PUBLIC)
    async def ping(ctx: Context) -> str:
        """Answers pong."""
        count(ctx)
        return "pong"

    @probe.query("GET /probe/boom", roles=PUBLIC)
    async def boom(ctx: Context) -> str:
        """Fails with an unexpected error."""
        count(ctx)
        raise RuntimeError("secret internals")

    @probe.query("GET /probe/big-list", roles=PUBLIC)
    async def big_list(ctx: Context) -> list[int]:
        """A value GraphQL's 32-bit Int cannot carry, in the middle of a list."""
        return [1, 2**40, 3]

    @probe.query("GET /probe/big-node", roles=PUBLIC)
    async def big_node(ctx: Context) -> Node:
        """A nested node whose level does not fit a GraphQL Int."""
        return Node(level=1, child=Node(level=2**40))

    @probe.mutation("POST /probe/bump", roles={"member"}, status=200)
    async def bump(ctx: Context) -> int:
        """Counts a call (members only)."""
        count(ctx)
        return probe.calls

    return probe


def build_probe_app(settings: Settings) -> App:
    from hyperdeliver.demo.teamboard.app import ROLES, WORKSPACE

    import hyperdeliver.demo.teamboard as teamboard

    return App(
        "teamboard",
        features=["hyperdeliver.demo.teamboard.features", make_probe()],
        roles=ROLES,
        scopes=[WORKSPACE],
        settings=settings,
        migrations=Path(teamboard.__file__).parent / "migrations",
    )


async def prepared(app: App) -> App:
    from hyperdeliver.demo.teamboard.seed import seed

    await upgrade_async(app)
    await seed(app)
    return app


@pytest.fixture
def probe_settings(database_url: str, settings_for: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings for a probe app on this test's database (SQLite, then PostgreSQL)."""

    def build(**kw: Any) -> Settings:
        return settings_for(database_url, **kw)

    return build


@pytest.fixture
async def probe_app(probe_settings: Callable[..., Settings]) -> AsyncIterator[App]:
    app = await prepared(build_probe_app(probe_settings()))
    yield app
    await app.shutdown()
    await app.database.dispose()


@pytest.fixture
async def probe_client(probe_app: App) -> AsyncIterator[TestClient]:
    async with TestClient(probe_app) as c:
        yield c


async def _api_token(app: App, email: str) -> str:
    async with app.database.session() as s:
        user_id = (await s.execute(select(User.id).where(User.email == email))).scalar_one()
        _row, raw = await app.auth.create_token(s, user_id, "graphql tests")
        await s.commit()
    return raw


@pytest.fixture
def api_token() -> Callable[[App, str], Any]:
    """``await api_token(app, email)``: a fresh API token (``hd_…``) for a seeded user."""
    return _api_token


@pytest.fixture
def probe_builder() -> Callable[[Settings], App]:
    """``probe_builder(settings)``: a new probe app, not migrated (for a server thread)."""
    return build_probe_app


@pytest.fixture
def probe_factory() -> Callable[[Settings], Any]:
    """``await probe_factory(settings)``: a new, migrated and seeded probe app."""

    async def build(settings: Settings) -> App:
        return await prepared(build_probe_app(settings))

    return build
