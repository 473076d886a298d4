"""Background jobs and cron: a polling queue in the app's own database.

- ``@feature.task(...)`` / ``@feature.cron("0 7 * * *")`` declare :class:`Task` objects
- ``await ctx.enqueue(task, **kwargs)`` inserts a job in the request's transaction
- ``hyper worker`` runs them (:class:`Worker`); ``hyper scheduler`` enqueues crons
  (:class:`Scheduler`), exactly once per schedule time across replicas
"""

from __future__ import annotations

from .queue import JobQueue, JobsPlugin
from ..tasks import Task, TaskCall

__all__ = ["JobQueue", "JobsPlugin", "Task", "TaskCall"]
