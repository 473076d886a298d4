"""Tasks inside a project: create, list, move through statuses. Owned by Carol."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import Table, bindparam, func, insert, select

from hyperdeliver import Context, Feature, Membership, NotFound, ValidationFailed, utcnow
from hyperdeliver.auth.models import User

from ..projects.models import Project
from .models import Task

feature = Feature("tasks", owner="carol@teamboard.dev", summary="Track tasks through todo, doing, done")
log = logging.getLogger("teamboard.tasks")


class Status(str, Enum):
    todo = "todo"
    doing = "doing"
    done = "done"


class TaskIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    notes: str = Field(default="", max_length=5000)
    priority: int = Field(default=2, ge=1, le=4)
    assignee_id: int | None = None
    """A member of the task's workspace."""


class TaskUpdate(BaseModel):
    """Only the fields sent change; ``assignee_id: null`` unassigns, the others cannot be null."""

    status: Status = Field(default=None)  # type: ignore[assignment]
    title: str = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]
    priority: int = Field(default=None, ge=1, le=4)  # type: ignore[assignment]
    assignee_id: int | None = None


class TaskOut(BaseModel):
    id: int
    project_id: int
    title: str
    notes: str
    status: Status
    priority: int
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime


class TaskStats(BaseModel):
    project_id: int
    todo: int = 0
    doing: int = 0
    done: int = 0


async def _task(ctx: Context, task_id: int) -> Task:
    row = await ctx.db.get(Task, task_id)
    if row is None:
        raise NotFound(f"no task {task_id}")
    return row


async def _check_assignee(ctx: Context, assignee_id: int | None) -> None:
    """A task is assigned to a member of its workspace; anyone else is "no user", whether
    they exist or not (a workspace's members cannot probe the ids of other tenants' users)."""
    if assignee_id is None:
        return
    assert ctx.scope is not None  # every task operation is scoped to its workspace
    member = await ctx.db.execute(
        select(Membership.id)
        .where(Membership.user_id == assignee_id, Membership.scope == "workspace", Membership.scope_id == ctx.scope.id)
        .limit(1)
    )
    if member.first() is None:
        raise ValidationFailed.on("data.assignee_id", f"no user {assignee_id}")


TASKS: Table = Task.__table__  # type: ignore[assignment]  # declared as a FromClause; a Table here
TASK_COLUMNS = [TASKS.c[name] for name in TaskOut.model_fields]
"""The columns a TaskOut is made of, for ``ctx.rows``."""
LIST_TASKS = (
    select(*TASK_COLUMNS).where(TASKS.c.project_id == bindparam("project_id"))
    .order_by(TASKS.c.priority, TASKS.c.id).limit(bindparam("limit"))
)
"""Built once: no statement to build and key per call (SQLAlchemy's compiled cache and
asyncpg's prepared statement find it straight away)."""
LIST_TASKS_OF_STATUS = LIST_TASKS.where(TASKS.c.status == bindparam("status"))
PROJECT_EXISTS = select(Project.__table__.c.id).where(Project.__table__.c.id == bindparam("project_id"))
INSERT_TASK = insert(TASKS).returning(*TASK_COLUMNS)
"""The columns' defaults (status, the times) filled in by SQLAlchemy, the new row returned."""


@feature.query("GET /projects/{project_id}/tasks", roles={"viewer"}, scope="workspace")
async def list_tasks(ctx: Context, project_id: int, status: Status | None = None, limit: Annotated[int, Field(ge=1, le=500)] = 100) -> list[TaskOut]:
    """The tasks of a project, optionally of one status."""
    if status is None:
        return await ctx.rows(LIST_TASKS, TaskOut, project_id=project_id, limit=limit)
    return await ctx.rows(LIST_TASKS_OF_STATUS, TaskOut, project_id=project_id, limit=limit, status=status.value)


@feature.query("GET /tasks/{task_id}", roles={"viewer"}, scope="workspace")
async def get_task(ctx: Context, task_id: int) -> TaskOut:
    """One task."""
    return TaskOut.model_validate(await _task(ctx, task_id), from_attributes=True)


@feature.mutation("POST /projects/{project_id}/tasks", roles={"member"}, scope="workspace")
async def create_task(ctx: Context, project_id: int, data: TaskIn) -> TaskOut:
    """Add a task to a project."""
    if await ctx.scalar(PROJECT_EXISTS, project_id=project_id) is None:
        raise NotFound(f"no project {project_id}")
    await _check_assignee(ctx, data.assignee_id)
    [row] = await ctx.rows(INSERT_TASK, TaskOut, project_id=project_id, created_by=ctx.user.user_id, **data.model_dump())
    ctx.track("task_created", project_id=project_id)
    if row.assignee_id is not None:
        await ctx.enqueue(notify_assignee, task_id=row.id, assignee_id=row.assignee_id)
    return row


@feature.mutation("PATCH /tasks/{task_id}", roles={"member"}, scope="workspace", status=200)
async def update_task(ctx: Context, task_id: int, data: TaskUpdate) -> TaskOut:
    """Change a task's status, title, priority or assignee."""
    row = await _task(ctx, task_id)
    changes = data.model_dump(exclude_unset=True)
    await _check_assignee(ctx, changes.get("assignee_id"))
    if "status" in changes:
        changes["status"] = changes["status"].value
        if changes["status"] == "done":
            ctx.track("task_completed", project_id=row.project_id)
    newly_assigned = changes.get("assignee_id") not in (None, row.assignee_id)
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    await ctx.db.flush()
    if newly_assigned:
        await ctx.enqueue(notify_assignee, task_id=row.id, assignee_id=changes["assignee_id"])
    return TaskOut.model_validate(row, from_attributes=True)


@feature.mutation("DELETE /tasks/{task_id}", roles={"admin"}, scope="workspace")
async def delete_task(ctx: Context, task_id: int) -> None:
    """Delete a task (the workspace's admins only)."""
    await ctx.db.delete(await _task(ctx, task_id))


@feature.query("GET /projects/{project_id}/stats", roles={"viewer"}, scope="workspace")
async def task_stats(ctx: Context, project_id: int) -> TaskStats:
    """How many tasks a project has in each status."""
    rows = await ctx.db.execute(
        select(Task.status, func.count()).where(Task.project_id == project_id).group_by(Task.status)
    )
    return TaskStats(project_id=project_id, **{status: n for status, n in rows.all()})


# -- background work ------------------------------------------------------------------


@feature.task(retries=5, backoff=10.0, scope="workspace")
async def notify_assignee(ctx: Context, task_id: int, assignee_id: int) -> None:
    """Tell a user a task was assigned to them: a comment on the task that mentions them.

    Enqueued by create_task and update_task in their own transaction, so a request that
    fails notifies nobody; the comment and the job's completion commit together.
    """
    from ..comments.models import Comment

    row = await ctx.db.get(Task, task_id)
    user = await ctx.db.get(User, assignee_id)
    if row is None or user is None or row.assignee_id != assignee_id:
        return  # deleted or reassigned meanwhile: nothing to say
    ctx.db.add(Comment(task_id=task_id, author_id=None, body=f"@{user.name or user.email}: this task is now yours."))
    log.info("notified %s of task %s", user.email, task_id)


STALE_AFTER = timedelta(days=7)


@feature.cron("0 7 * * *")
async def stale_tasks_digest(ctx: Context) -> None:
    """07:00 UTC daily: per assignee, the open tasks untouched for a week (logged, tracked)."""
    cutoff = utcnow() - STALE_AFTER
    rows = await ctx.db.execute(
        select(Task.assignee_id, func.count())
        .where(Task.status != "done", Task.updated_at < cutoff)
        .group_by(Task.assignee_id)
    )
    per_assignee = {assignee: n for assignee, n in rows.all()}
    for assignee, n in sorted(per_assignee.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        log.info("stale tasks digest: %s has %d open task(s) untouched since %s", assignee or "nobody", n, cutoff.date())
    ctx.track("stale_tasks_digest", assignees=len(per_assignee), tasks=sum(per_assignee.values()))
