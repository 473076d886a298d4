"""A small app whose one operation takes as long as asked: ``hyper serve`` subprocesses
load it as ``slowapp:create_app`` (PYTHONPATH=tests/cli) to test draining on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Annotated

from pydantic import BaseModel, Field

from hyperdeliver import PUBLIC, App, Context, Feature, Settings

feature = Feature("slow", owner="qa@example.com", summary="An operation that takes its time")


class Slept(BaseModel):
    slept: float


@feature.query("GET /slow", roles=PUBLIC)
async def slow(ctx: Context, seconds: Annotated[float, Field(ge=0, le=120)] = 1.0) -> Slept:
    """Sleep ``seconds``; first touch the file named by HD_TEST_STARTED, if set, so a test
    knows the request is in flight."""
    marker = os.environ.get("HD_TEST_STARTED")
    if marker:
        with open(marker, "a") as fh:
            fh.write("started\n")
    await asyncio.sleep(seconds)
    return Slept(slept=seconds)


def create_app(settings: Settings | None = None) -> App:
    """The app; with HD_TEST_SLOW_START set, first touch HD_TEST_STARTED and sleep that
    many seconds (a start-up still in progress when SIGTERM comes)."""
    slow_start = os.environ.get("HD_TEST_SLOW_START")
    if slow_start:
        with open(os.environ["HD_TEST_STARTED"], "a") as fh:
            fh.write("loading\n")
        time.sleep(float(slow_start))
    return App("slowapp", features=[feature], settings=settings)
