"""The app ``bench/usage_http.py`` serves: a call that does no I/O and a call that reads
the database, both public, both recorded like any feature's calls.

GET /hello returns a constant; GET /people reads 20 users through ``ctx.db`` (SQLAlchemy
ORM, one query in the call's unit of work); GET /me/hello is /hello for a logged-in
``member`` (an API token), whose calls the recorder counts per user. ``prepare(url)``
migrates the database, seeds the users and returns the member's API token; ``app`` is
built from ``HYPER_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os

from pydantic import BaseModel
from sqlalchemy import select

from hyperdeliver import PUBLIC, App, Context, Feature, Settings
from hyperdeliver.auth.models import User

feature = Feature("directory", owner="bench@hyperdeliver.dev", summary="Recording cost on a no-I/O and a database call")


class Hello(BaseModel):
    message: str


class Person(BaseModel):
    id: int
    email: str
    name: str


HELLO = Hello(message="hello")


@feature.query("GET /hello", roles=PUBLIC)
async def hello(ctx: Context) -> Hello:
    """Says hello (no I/O)."""
    return HELLO


@feature.query("GET /people", roles=PUBLIC)
async def people(ctx: Context) -> list[Person]:
    """The first 20 users (one database read)."""
    rows = (await ctx.db.execute(select(User).order_by(User.id).limit(20))).scalars().all()
    return [Person(id=u.id, email=u.email, name=u.name) for u in rows]


@feature.query("GET /me/hello", roles={"member"})
async def my_hello(ctx: Context) -> Hello:
    """Says hello to a logged-in member (no I/O once the token is cached)."""
    return HELLO


def create_app(settings: Settings | None = None) -> App:
    return App("usagehttp", features=[feature], roles=["member"], settings=settings or Settings(env="production", secret_key="bench-only-secret-key-not-for-deployments", access_log=False))


def prepare(url: str) -> str:
    """Migrate a fresh database at ``url``, add 20 users and a member; the member's API token."""
    from hyperdeliver.db.migrate import upgrade_async

    async def go() -> str:
        app = create_app(Settings(env="production", secret_key="bench-only-secret-key-not-for-deployments", database_url=url))
        await upgrade_async(app)
        async with app.database.session() as s:
            s.add_all(User(email=f"person{i}@bench.dev", name=f"Person {i}", password_hash="x") for i in range(20))
            member = await app.auth.create_user(s, "member@bench.dev", "bench-password", {"member"})
            _, token = await app.auth.create_token(s, member.id, "bench")
            await s.commit()
        await app.database.dispose()
        return token

    return asyncio.run(go())


app = create_app() if os.environ.get("HYPER_DATABASE_URL") else None
