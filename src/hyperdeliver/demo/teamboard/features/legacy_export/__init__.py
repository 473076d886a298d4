"""The old CSV export of a project's tasks, from before the API had filters. Owned by Eve.

Few people still use it; ``hyper demo --simulate 30d`` deprecates it and the dashboard
lists it as a sunset candidate. It reads the tasks table (no tables of its own).
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select

from hyperdeliver import Context, Feature

from ..tasks.models import Task

feature = Feature("legacy_export", owner="eve@teamboard.dev", summary="CSV export of a project's tasks (the old way)")


class CsvExport(BaseModel):
    filename: str
    csv: str


@feature.query("GET /projects/{project_id}/export.csv", roles={"member"}, scope="workspace")
async def export_tasks_csv(ctx: Context, project_id: int) -> CsvExport:
    """The project's tasks as CSV text (id, title, status, priority)."""
    rows = (await ctx.db.execute(select(Task).where(Task.project_id == project_id).order_by(Task.id))).scalars()
    lines = ["id,title,status,priority"]
    for t in rows:
        title = t.title.replace('"', '""')
        lines.append(f'{t.id},"{title}",{getattr(t.status, "value", t.status)},{t.priority}')
    return CsvExport(filename=f"project-{project_id}-tasks.csv", csv="\n".join(lines) + "\n")
