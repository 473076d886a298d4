"""Workspaces: the top-level container of projects, and the tenants: each has members
with roles (viewer, member, admin) that decide what they may do inside it. Owned by Alice."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field
from sqlalchemy import String, cast, select

from hyperdeliver import AUTHENTICATED, Context, Feature, Membership, NotFound, ValidationFailed

from .models import Workspace

feature = Feature("workspaces", owner="alice@teamboard.dev", summary="Create and browse workspaces, and their members")


class WorkspaceIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)


class WorkspaceOut(BaseModel):
    id: int
    name: str
    description: str
    created_at: datetime


class Role(str, Enum):
    viewer = "viewer"
    member = "member"
    admin = "admin"


class MemberIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: Role


class MemberOut(BaseModel):
    user_id: int
    email: str
    role: Role


WORKSPACE_COLUMNS = [Workspace.__table__.c[name] for name in WorkspaceOut.model_fields]


@feature.query("GET /workspaces", roles=AUTHENTICATED)
async def list_workspaces(ctx: Context) -> list[WorkspaceOut]:
    """The workspaces the caller is a member of (every one for a global admin), oldest first."""
    q = select(*WORKSPACE_COLUMNS).order_by(Workspace.id)
    if not ctx.user.has_role("admin"):
        mine = select(Membership.scope_id).where(Membership.scope == "workspace", Membership.user_id == ctx.user.user_id)
        q = q.where(cast(Workspace.id, String).in_(mine))
    return await ctx.rows(q, WorkspaceOut)


@feature.query("GET /workspaces/{workspace_id}", roles={"viewer"}, scope="workspace")
async def get_workspace(ctx: Context, workspace_id: int) -> WorkspaceOut:
    """One workspace."""
    row = await ctx.db.get(Workspace, workspace_id)
    if row is None:
        raise NotFound(f"no workspace {workspace_id}")
    return WorkspaceOut.model_validate(row, from_attributes=True)


@feature.mutation("POST /workspaces", roles={"admin"})
async def create_workspace(ctx: Context, data: WorkspaceIn) -> WorkspaceOut:
    """Create a workspace (global admins only); its creator becomes its admin."""
    row = Workspace(name=data.name, description=data.description, created_by=ctx.user.user_id)
    ctx.db.add(row)
    await ctx.db.flush()
    await ctx.app.memberships.grant(ctx.user.user_id or 0, "workspace", row.id, "admin", db=ctx)
    return WorkspaceOut.model_validate(row, from_attributes=True)


@feature.query("GET /workspaces/{workspace_id}/members", roles={"viewer"}, scope="workspace")
async def list_members(ctx: Context, workspace_id: int) -> list[MemberOut]:
    """The workspace's members and their roles."""
    rows = await ctx.app.memberships.list("workspace", workspace_id, db=ctx)
    return [MemberOut(user_id=r["user_id"], email=r["email"], role=r["role"]) for r in rows]


@feature.mutation("PUT /workspaces/{workspace_id}/members", roles={"admin"}, scope="workspace", status=200)
async def set_member(ctx: Context, workspace_id: int, data: MemberIn) -> MemberOut:
    """Make a user a member of the workspace with one role (replacing the role they had)."""
    from hyperdeliver.auth.models import User

    email = data.email.strip().lower()
    user = (await ctx.db.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if user is None:
        raise ValidationFailed.on("data.email", f"no user with email {email}")
    await ctx.app.memberships.revoke(user.id, "workspace", workspace_id, db=ctx)
    await ctx.app.memberships.grant(user.id, "workspace", workspace_id, data.role.value, db=ctx)
    return MemberOut(user_id=user.id, email=user.email, role=data.role)


@feature.mutation("DELETE /workspaces/{workspace_id}/members/{user_id}", roles={"admin"}, scope="workspace")
async def remove_member(ctx: Context, workspace_id: int, user_id: int) -> None:
    """Remove a user from the workspace."""
    from hyperdeliver.auth.models import User

    if await ctx.db.get(User, user_id) is None or not await ctx.app.memberships.revoke(user_id, "workspace", workspace_id, db=ctx):
        raise NotFound(f"no member {user_id} in workspace {workspace_id}")
