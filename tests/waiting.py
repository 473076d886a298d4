"""Waiting on what another thread or process does: poll a condition until a deadline.

The one place the test suite waits on real time (``from waiting import eventually,
wait_until``: pytest puts ``tests/`` on sys.path for its conftest). A test waits only
where another process or thread has to act (a server starting, a subprocess claiming a
job); what the framework decides from the time of day is driven by the settable clock
(the testing kit's ``clock`` fixture), never by sleeping. A wait returns as soon as
its condition holds; the deadline only bounds a failure, so it can be generous.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE = 60.0
"""Seconds before a wait gives up: far above what a loaded CI machine needs."""


def wait_until(condition: Callable[[], T], what: str, *, timeout: float = DEADLINE, every: float = 0.02) -> T:
    """Call ``condition`` until it returns something true, and return that; fail
    naming ``what`` when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(every)


async def eventually(condition: Callable[[], Awaitable[T]], what: str, *, timeout: float = DEADLINE, every: float = 0.02) -> T:
    """:func:`wait_until` for an async condition (a query), the event loop free between polls."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        await asyncio.sleep(every)
