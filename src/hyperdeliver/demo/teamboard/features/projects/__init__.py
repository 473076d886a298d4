"""Projects inside a workspace. Owned by Bob."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from hyperdeliver import Context, Feature, NotFound

from ..workspaces.models import Workspace
from .models import Project

feature = Feature("projects", owner="bob@teamboard.dev", summary="Plan work in projects")


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)


class ProjectOut(BaseModel):
    id: int
    workspace_id: int
    name: str
    description: str
    archived: bool
    created_at: datetime


PROJECT_COLUMNS = [Project.__table__.c[name] for name in ProjectOut.model_fields]


@feature.query("GET /workspaces/{workspace_id}/projects", roles={"viewer"}, scope="workspace")
async def list_projects(ctx: Context, workspace_id: int, include_archived: bool = False) -> list[ProjectOut]:
    """The projects of a workspace."""
    q = select(*PROJECT_COLUMNS).where(Project.workspace_id == workspace_id).order_by(Project.id)
    if not include_archived:
        q = q.where(Project.archived.is_(False))
    return await ctx.rows(q, ProjectOut)


@feature.query("GET /projects/{project_id}", roles={"viewer"}, scope="workspace")
async def get_project(ctx: Context, project_id: int) -> ProjectOut:
    """One project."""
    row = await ctx.db.get(Project, project_id)
    if row is None:
        raise NotFound(f"no project {project_id}")
    return ProjectOut.model_validate(row, from_attributes=True)


@feature.mutation("POST /workspaces/{workspace_id}/projects", roles={"member"}, scope="workspace")
async def create_project(ctx: Context, workspace_id: int, data: ProjectIn) -> ProjectOut:
    """Create a project in a workspace."""
    if await ctx.db.get(Workspace, workspace_id) is None:
        raise NotFound(f"no workspace {workspace_id}")
    row = Project(workspace_id=workspace_id, name=data.name, description=data.description)
    ctx.db.add(row)
    await ctx.db.flush()
    return ProjectOut.model_validate(row, from_attributes=True)


@feature.mutation("POST /projects/{project_id}/archive", roles={"admin"}, scope="workspace", status=200)
async def archive_project(ctx: Context, project_id: int) -> ProjectOut:
    """Archive a project (the workspace's admins only)."""
    row = await ctx.db.get(Project, project_id)
    if row is None:
        raise NotFound(f"no project {project_id}")
    row.archived = True
    await ctx.db.flush()
    return ProjectOut.model_validate(row, from_attributes=True)
