"""The peers' contract (shared/bench/peers) written as a hyperdeliver feature.

GET /hello is public; POST /items needs the ``editor`` role, authenticated by a real
API token (``Authorization: Bearer hd_…``) through the framework's AuthService, with
the body validated by Pydantic and the output serialised from the return annotation.
Every request runs the whole front controller, unit of work included.

``prepare(url)`` migrates the database there, creates an editor with an API
token, and returns the token; ``create_app()`` reads ``HYPER_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import itertools
import os

from pydantic import BaseModel, Field

from hyperdeliver import PUBLIC, App, Context, Feature, Settings

feature = Feature("items", owner="bench@hyperdeliver.dev", summary="The peers' benchmark contract")
_ids = itertools.count(1)


class Hello(BaseModel):
    message: str


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    price: float = Field(ge=0)
    tags: list[str]


class ItemOut(BaseModel):
    id: int
    name: str
    price: float
    tags: list[str]
    owner: int


HELLO = Hello(message="hello")


@feature.query("GET /hello", roles=PUBLIC)
async def hello(ctx: Context) -> Hello:
    """Says hello."""
    return HELLO


@feature.mutation("POST /items", roles={"editor"})
async def create_item(ctx: Context, data: ItemIn) -> ItemOut:
    """Creates an item owned by the caller."""
    return ItemOut(id=next(_ids), name=data.name, price=data.price, tags=data.tags, owner=ctx.user.user_id or 0)


def create_app(settings: Settings | None = None) -> App:
    settings = settings or Settings(env="production", secret_key="bench-only-secret-key-not-for-deployments", access_log=os.environ.get("HYPER_ACCESS_LOG", "false") == "true")
    return App("bench", features=[feature], roles=["viewer", "editor", "admin"], settings=settings)


def prepare(url: str) -> str:
    """Migrate a fresh database at ``url`` (a plain path means SQLite); return an editor's API token."""
    from hyperdeliver.db.migrate import upgrade_async

    async def go() -> str:
        app = create_app(Settings(env="production", secret_key="bench-only-secret-key-not-for-deployments", database_url=url if "://" in url else f"sqlite:///{url}"))
        await upgrade_async(app)
        async with app.database.session() as s:
            user = await app.auth.create_user(s, "editor@bench.dev", "bench-password", {"editor"})
            _, token = await app.auth.create_token(s, user.id, "bench")
            await s.commit()
        await app.database.dispose()
        return token

    return asyncio.run(go())


app = None
if os.environ.get("HYPER_DATABASE_URL"):
    app = create_app()
