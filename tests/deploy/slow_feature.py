"""A feature the container tests add to a generated project (as ``features/slow/``):
a request and a job that take as long as asked, each touching a file under /tmp when it
starts, so a test knows it is in flight before it sends SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from hyperdeliver import PUBLIC, Context, Feature

feature = Feature("slow", owner="qa@example.com", summary="A request and a job that take their time")
STARTED = Path("/tmp/hd-started")


class Slept(BaseModel):
    slept: float


def _started(what: str) -> None:
    with STARTED.open("a") as fh:
        fh.write(what + "\n")


@feature.query("GET /slow", roles=PUBLIC)
async def slow(ctx: Context, seconds: Annotated[float, Field(ge=0, le=120)] = 1.0) -> Slept:
    """Sleep ``seconds``, then answer."""
    _started("request")
    await asyncio.sleep(seconds)
    return Slept(slept=seconds)


@feature.mutation("POST /naps", roles=PUBLIC)
async def start_nap(ctx: Context, seconds: Annotated[float, Field(ge=0, le=120)] = 1.0) -> None:
    """Enqueue a job that sleeps ``seconds``."""
    await ctx.enqueue(nap, seconds=seconds)


@feature.task()
async def nap(ctx: Context, seconds: float) -> None:
    _started("job")
    await asyncio.sleep(seconds)
