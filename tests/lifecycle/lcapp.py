"""A small app for the lifecycle tests: one feature per lifecycle, plus a task."""

from __future__ import annotations

from pydantic import BaseModel

from hyperdeliver import PUBLIC, App, Context, Feature, Settings

stable = Feature("stable", owner="ada@example.com")
beta = Feature("beta", owner="bob@example.com", lifecycle="experimental")
old = Feature("old", owner="cy@example.com", lifecycle="deprecated", sunset="2027-03-01", link="https://example.com/old-to-new")
gone = Feature("gone", owner="di@example.com", lifecycle="removed", link="https://example.com/gone")

RAN: list[str] = []


class Echo(BaseModel):
    n: int


@stable.query("GET /stable", roles=PUBLIC)
async def stable_hello(ctx: Context) -> dict[str, str]:
    return {"hello": "stable"}


@beta.query("GET /beta", roles={"viewer"})
async def beta_hello(ctx: Context) -> dict[str, str]:
    return {"hello": "beta"}


@old.query("GET /old", roles={"viewer"})
async def old_hello(ctx: Context) -> dict[str, str]:
    return {"hello": "old"}


@old.mutation("POST /old/echo", roles={"viewer"})
async def old_echo(ctx: Context, data: Echo) -> Echo:
    return data


@gone.query("GET /gone", roles=PUBLIC)
async def gone_hello(ctx: Context) -> dict[str, str]:
    return {"hello": "gone"}


@gone.task()
async def gone_job(ctx: Context) -> None:
    RAN.append("gone_job")


def build(settings: Settings) -> App:
    return App("lc", features=[stable, beta, old, gone], roles=["viewer", "member", "admin"], settings=settings)
