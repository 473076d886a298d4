"""The teamboard app. ``hyper`` finds it through ``[tool.hyperdeliver] app`` in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from hyperdeliver import App, Lookup, Scope, Settings

from .features.comments.models import Comment
from .features.projects.models import Project
from .features.tasks.models import Task

ROLES = ["viewer", "member", "admin"]
"""Lowest first: a member can do what a viewer can, an admin what a member can. Held
globally (a global admin sees every workspace, and the dashboard) and within a workspace."""

WORKSPACE = Scope(
    "workspace",
    roles=ROLES,
    lookups=[
        Lookup("project_id", Project.workspace_id),
        Lookup("task_id", Task.project_id, Project.workspace_id),
        Lookup("comment_id", Comment.task_id, Task.project_id, Project.workspace_id),
    ],
    global_admin="admin",
)
"""Workspaces are the tenants: every project, task and comment resolves its workspace
through one of these lookups, and the caller's roles there decide."""


def create_app(settings: Settings | None = None) -> App:
    return App(
        "teamboard",
        features=f"{__package__}.features",
        roles=ROLES,
        scopes=[WORKSPACE],
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
    )
