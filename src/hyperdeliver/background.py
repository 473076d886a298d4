"""The app's own background tasks (pollers such as the lifecycle refresh and the
revocation-epoch watch): stopping one."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has stopped (``None``: nothing runs)."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
