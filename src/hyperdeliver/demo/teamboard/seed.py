"""Seed data for the demo: three users (one per role), each a member of a small workspace with that role."""

from __future__ import annotations

from sqlalchemy import select

from hyperdeliver import App
from hyperdeliver.auth.models import User

from .features.comments.models import Comment
from .features.projects.models import Project
from .features.tasks.models import Task
from .features.workspaces.models import Workspace

USERS = [
    ("admin@teamboard.dev", "admin-password", "Ada Admin", {"admin"}),
    ("member@teamboard.dev", "member-password", "Max Member", {"member"}),
    ("viewer@teamboard.dev", "viewer-password", "Vic Viewer", {"viewer"}),
]


async def seed(app: App) -> list[tuple[str, str, str]]:
    """Create the demo users and data once; returns (email, password, role) for printing."""
    async with app.database.session() as s:
        if (await s.execute(select(User.id).limit(1))).first() is None:
            ids = {}
            for email, password, name, roles in USERS:
                user = await app.auth.create_user(s, email, password, roles, name)
                ids[email] = user.id
            ws = Workspace(name="Acme", description="The demo workspace", created_by=ids["admin@teamboard.dev"])
            s.add(ws)
            await s.flush()
            launch = Project(workspace_id=ws.id, name="Launch", description="Ship the first release")
            ops = Project(workspace_id=ws.id, name="Operations")
            s.add_all([launch, ops])
            await s.flush()
            member = ids["member@teamboard.dev"]
            tasks = [
                Task(project_id=launch.id, title="Write the landing page", status="doing", priority=1, assignee_id=member),
                Task(project_id=launch.id, title="Pick a domain name", status="done", priority=2),
                Task(project_id=launch.id, title="Invite beta users", status="todo", priority=2),
                Task(project_id=ops.id, title="Set up backups", status="todo", priority=1),
            ]
            s.add_all(tasks)
            await s.flush()
            s.add(Comment(task_id=tasks[0].id, author_id=member, body="First draft is up."))
            # Each seed user holds their role in the Acme workspace too (its members).
            for email, _password, _name, roles in USERS:
                for role in roles:
                    await app.memberships.grant(ids[email], "workspace", ws.id, role, db=s)
            await s.commit()
    return [(email, password, sorted(roles)[0]) for email, password, _, roles in USERS]
