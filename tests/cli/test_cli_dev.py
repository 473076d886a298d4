"""``hyper dev`` migrates at every (re)start; ``hyper serve`` says in one line that the
database is not migrated; a missing table is a one-line 500, never a traceback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from hyper_cli import HYPER
from waiting import wait_until

TEAMBOARD = Path(__file__).resolve().parents[2] / "src/hyperdeliver/demo/teamboard"

NOTES_FEATURE = '''
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from pydantic import BaseModel

from hyperdeliver import PUBLIC, Context, Feature, Model

feature = Feature("{name}", owner="you@example.com")


class Row(Model):
    __tablename__ = "{name}"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(100))


class Count(BaseModel):
    rows: int


@feature.query("GET /{name}", roles=PUBLIC)
async def count_{name}(ctx: Context) -> Count:
    return Count(rows=(await ctx.db.execute(select(func.count()).select_from(Row))).scalar_one())
'''
NOTES_MIGRATION = '''
import sqlalchemy as sa
from alembic import op

revision = "teamboard_0003"
down_revision = "teamboard_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("text", sa.String(100), nullable=False))


def downgrade() -> None:
    op.drop_table("notes")
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """teamboard copied as a project of one's own (a top-level package and a pyproject.toml)."""
    root = tmp_path / "project"
    shutil.copytree(TEAMBOARD, root / "teamboard", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text('[tool.hyperdeliver]\napp = "teamboard.app:create_app"\n')
    return root


def env_for(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPER_")}
    return env | {"HYPER_DATABASE_URL": f"sqlite:///{project / 'dev.sqlite3'}", "PYTHONPATH": str(project), "NO_COLOR": "1"}


def add_feature(project: Path, name: str) -> None:
    """A feature package moved into place whole, so a reload never sees half of it."""
    ready = project / f".{name}"
    ready.mkdir()
    (ready / "__init__.py").write_text(NOTES_FEATURE.format(name=name))
    os.rename(ready, project / "teamboard/features" / name)


def wait_for(
    url: str, status: int, proc: subprocess.Popen[str], timeout: float = 120, nudge: Path | None = None, **kw: object
) -> httpx.Response:
    """Poll ``url`` until it answers ``status``; every 20 s touch ``nudge`` (a reload the
    file watcher missed on a busy machine happens at the next change)."""
    next_nudge = [time.monotonic() + 20]
    last: list[httpx.Response] = []

    def answered() -> httpx.Response | None:
        if nudge is not None and time.monotonic() > next_nudge[0]:
            nudge.write_text(nudge.read_text() + "\n")
            next_nudge[0] = time.monotonic() + 20
        assert proc.poll() is None, "the server exited"
        try:
            last[:] = [httpx.get(url, timeout=5, **kw)]  # type: ignore[arg-type]
        except httpx.HTTPError:
            return None
        return last[0] if last[0].status_code == status else None

    try:
        return wait_until(answered, f"{url} to answer {status}", timeout=timeout, every=0.3)
    except AssertionError as exc:
        raise AssertionError(f"{exc} (last: {last[0].status_code} {last[0].text[:300]})" if last else str(exc)) from None


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_hyper_dev_migrates_at_every_reload_and_names_a_model_without_migration(project: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [HYPER, "dev", "--port", str(port)], cwd=project, env=env_for(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/workspaces", 401, proc)  # migrated at start: the tables are there
        # A new feature with its table and its migration, written while the server runs.
        (project / "teamboard/migrations/teamboard_0003_notes.py").write_text(NOTES_MIGRATION)
        add_feature(project, "notes")
        r = wait_for(f"{base}/notes", 200, proc, nudge=project / "teamboard/features/notes/__init__.py")
        assert r.json() == {"rows": 0}
        # A model without a migration: a one-line 500 naming the command, no traceback.
        add_feature(project, "memos")
        r = wait_for(f"{base}/memos", 500, proc, nudge=project / "teamboard/features/memos/__init__.py")
        problem = r.json()
        assert problem["type"] == "https://hyperdeliver.dev/problems/not-migrated"
        assert problem["detail"] == (
            "the database has no table 'memos': run 'hyper db upgrade' "
            "(a new model needs a migration first: hyper db revision -m 'add memos')"
        )
        assert "traceback" not in problem
    finally:
        err = stop(proc)
    assert "hyper dev: migrated the database to" in err and "teamboard_0003" in err
    assert "hyper dev: no migration creates the table 'memos' of a model: run hyper db revision -m 'add memos'" in err
    assert "Traceback" not in err


def test_hyper_serve_on_an_unmigrated_database_says_so_in_one_line(project: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [HYPER, "serve", "--port", str(port)], cwd=project, env=env_for(project) | {"HYPER_ENV": "production", "HYPER_SECRET_KEY": "x" * 40},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # a session cookie to look up: even the sessions table is missing
        r = wait_for(f"http://127.0.0.1:{port}/auth/me", 500, proc, cookies={"hd_session": "x"})
        assert r.json()["detail"].startswith("the database has no table 'hd_")
    finally:
        err = stop(proc)
    lines = [line for line in err.splitlines() if line.startswith("hyper:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("hyper: the database is not migrated (pending: ") and lines[0].endswith("run 'hyper db upgrade'")
    assert "teamboard_0002" in lines[0]


def test_hyper_serve_on_a_migrated_database_says_nothing_of_it(project: Path) -> None:
    env = env_for(project)
    assert subprocess.run([HYPER, "db", "upgrade"], cwd=project, env=env, capture_output=True, timeout=120).returncode == 0
    port = free_port()
    proc = subprocess.Popen([HYPER, "serve", "--port", str(port)], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/workspaces", 401, proc)
    finally:
        err = stop(proc)
    assert "hyper:" not in err
