"""Workspaces: the top-level container of projects. Owned by Alice."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from hyperdeliver import Context, Feature, NotFound

from .models import Workspace

feature = Feature("workspaces", owner="alice@teamboard.dev", summary="Create and browse workspaces")


class WorkspaceIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)


class WorkspaceOut(BaseModel):
    id: int
    name: str
    description: str
    created_at: datetime


WORKSPACE_COLUMNS = [Workspace.__table__.c[name] for name in WorkspaceOut.model_fields]


@feature.query("GET /workspaces", roles={"viewer"})
async def list_workspaces(ctx: Context) -> list[WorkspaceOut]:
    """Every workspace, oldest first."""
    return await ctx.rows(select(*WORKSPACE_COLUMNS).order_by(Workspace.id), WorkspaceOut)


@feature.query("GET /workspaces/{workspace_id}", roles={"viewer"})
async def get_workspace(ctx: Context, workspace_id: int) -> WorkspaceOut:
    """One workspace."""
    row = await ctx.db.get(Workspace, workspace_id)
    if row is None:
        raise NotFound(f"no workspace {workspace_id}")
    return WorkspaceOut.model_validate(row, from_attributes=True)


@feature.mutation("POST /workspaces", roles={"admin"})
async def create_workspace(ctx: Context, data: WorkspaceIn) -> WorkspaceOut:
    """Create a workspace (admins only)."""
    row = Workspace(name=data.name, description=data.description, created_by=ctx.user.user_id)
    ctx.db.add(row)
    await ctx.db.flush()
    return WorkspaceOut.model_validate(row, from_attributes=True)
