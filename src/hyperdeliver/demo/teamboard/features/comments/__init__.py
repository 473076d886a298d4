"""Comments on tasks. Owned by Dan."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from hyperdeliver import Context, Feature, Forbidden, NotFound

from ..tasks.models import Task
from .models import Comment

feature = Feature("comments", owner="dan@teamboard.dev", summary="Discuss a task")


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=5000)


class CommentOut(BaseModel):
    id: int
    task_id: int
    author_id: int | None
    body: str
    created_at: datetime


COMMENT_COLUMNS = [Comment.__table__.c[name] for name in CommentOut.model_fields]


@feature.query("GET /tasks/{task_id}/comments", roles={"viewer"}, scope="workspace")
async def list_comments(ctx: Context, task_id: int) -> list[CommentOut]:
    """The comments on a task, oldest first."""
    return await ctx.rows(select(*COMMENT_COLUMNS).where(Comment.task_id == task_id).order_by(Comment.id), CommentOut)


@feature.mutation("POST /tasks/{task_id}/comments", roles={"member"}, scope="workspace")
async def add_comment(ctx: Context, task_id: int, data: CommentIn) -> CommentOut:
    """Comment on a task."""
    if await ctx.db.get(Task, task_id) is None:
        raise NotFound(f"no task {task_id}")
    row = Comment(task_id=task_id, author_id=ctx.user.user_id, body=data.body)
    ctx.db.add(row)
    await ctx.db.flush()
    return CommentOut.model_validate(row, from_attributes=True)


@feature.mutation("DELETE /comments/{comment_id}", roles={"member"}, scope="workspace")
async def delete_comment(ctx: Context, comment_id: int) -> None:
    """Delete a comment: its author, or an admin of its workspace."""
    row = await ctx.db.get(Comment, comment_id)
    if row is None:
        raise NotFound(f"no comment {comment_id}")
    if row.author_id != ctx.user.user_id and not (ctx.scope is not None and ctx.scope.has_role("admin")):
        raise Forbidden("only the author or an admin of the workspace can delete a comment")
    await ctx.db.delete(row)
