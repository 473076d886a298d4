"""Retention of raw usage events: a daily cron when the jobs subsystem is present.

The purge itself is :func:`hyperdeliver.usage.store.purge` (rows older than
``usage_retention_days``). With jobs, :func:`register_purge_cron` adds the task
``hd_usage.purge_usage_events`` on ``"23 3 * * *"`` (03:23 UTC) to ``app.jobs``; without
jobs the flusher purges at most once an hour instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..features import Feature
from .store import purge

if TYPE_CHECKING:
    from ..app import App

SCHEDULE = "23 3 * * *"
_feature = Feature("hd_usage", owner="hyperdeliver", summary="usage housekeeping")


async def purge_usage_events(ctx: Any) -> None:
    """Delete raw usage events older than the retention period."""
    await purge(ctx.app)


def register_purge_cron(app: App) -> bool:
    """Add the daily purge to the app's job queue; False when the app has no jobs."""
    if app.jobs is None:
        return False
    from ..tasks import Task

    task = Task(_feature, purge_usage_events, schedule=SCHEDULE)
    app.jobs.tasks.setdefault(task.qualname, task)
    return True
