"""docs/database.md: its example feature runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import insert

from hyperdeliver import App, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient

DOC = (Path(__file__).resolve().parents[2] / "docs" / "database.md").read_text()


async def test_the_example_feature_lists_and_adds(database_url: str, tmp_path: Path) -> None:
    from hyperdeliver.demo.teamboard import app as teamboard
    from hyperdeliver.demo.teamboard.features.projects.models import Project
    from hyperdeliver.demo.teamboard.features.tasks.models import Task
    from hyperdeliver.demo.teamboard.features.workspaces.models import Workspace

    [block] = re.findall(r"```python\n(.*?)```", DOC, re.S)
    ns: dict = {}
    exec(compile(block, "docs/database.md", "exec"), ns)  # noqa: S102 - the documented example itself
    settings = Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False)  # type: ignore[arg-type]
    app = App("teamboard", features=[ns["feature"]], roles=teamboard.ROLES, settings=settings,
              migrations=Path(teamboard.__file__).parent / "migrations")
    await upgrade_async(app)
    async with app.database.session() as s:
        user = await app.auth.create_user(s, "member@doc.dev", "member-password", {"member"})
        _, token = await app.auth.create_token(s, user.id, "doc")
        await s.execute(insert(Workspace), [{"id": 1, "name": "w"}])
        await s.execute(insert(Project), [{"id": 1, "workspace_id": 1, "name": "p"}])
        await s.execute(insert(Task), [{"project_id": 1, "title": f"t{i}", "priority": 1 + i % 3} for i in range(5)])
        await s.commit()
    auth = {"Authorization": f"Bearer {token}"}
    async with TestClient(app) as client:
        r = await client.get("/boards/1/tasks", params={"limit": 3}, headers=auth)
        assert r.status_code == 200, r.text
        assert [t["priority"] for t in r.json()] == [1, 1, 2]
        r = await client.post("/boards/1/tasks", params={"title": "new"}, headers=auth)
        assert r.status_code == 201, r.text
        assert r.json()["title"] == "new" and r.json()["priority"] == 2
        assert (await client.post("/boards/9/tasks", params={"title": "x"}, headers=auth)).status_code == 404
    await app.database.dispose()
