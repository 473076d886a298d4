"""What every contender of bench/db_bench.py shares: the database URL, the pool size, the
token table and its 30-second cache, the models, and ``prepare`` (the data set).

The data: teamboard's schema (its migrations), one workspace, 100 projects of 200 tasks,
three users: a viewer and a member of that workspace (``hd_memberships``, granted through
``app.memberships``) and an outsider who holds the global role ``member`` but no role in
the workspace (every contender must answer them 404). hyperdeliver authenticates its own API tokens (``hd_…``, the
framework's AuthService, cached ``token_cache_ttl`` = 30 s); the peers look a token's
SHA-256 up in ``bench_tokens`` on a miss and cache the answer for 30 s the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

URL = os.environ.get("DB_BENCH_URL", "")
"""The SQLAlchemy URL (``postgresql+asyncpg://…`` or ``sqlite+aiosqlite:///…``)."""
POOL = int(os.environ.get("DB_BENCH_POOL", "10"))
"""Connections every contender's pool keeps (no overflow: more concurrent requests queue)."""
SECRET_KEY = "db-bench-" + hashlib.sha256(b"hyperdeliver db bench, a local database").hexdigest()
"""hyperdeliver's production mode refuses its default key (hd.E010); the bench's data is throwaway."""
TTL = 30.0
PROJECTS, TASKS_PER_PROJECT = 100, 200
RANK = {"viewer": 0, "member": 1, "admin": 2}
TOKEN_SQL = "SELECT user_id, role FROM bench_tokens WHERE token_hash = {}"
USERS = ("viewer", "member", "outsider")
"""The bench's users: the first two hold that role in the workspace, the outsider none."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenCache:
    """token -> (user_id, role), kept 30 s; ``lookup(hash)`` answers a miss."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[tuple[int, str] | None, float]] = {}

    def get(self, token: str) -> tuple[tuple[int, str] | None, bool]:
        hit = self.entries.get(token)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0], True
        return None, False

    def put(self, token: str, user: tuple[int, str] | None) -> None:
        self.entries[token] = (user, time.monotonic() + TTL)


def refusal(roles: list[str] | tuple[str, ...], need: str) -> int | None:
    """What a peer answers for the caller's roles in the project's workspace (the rows of
    its membership query): None to go on, 404 for no role there (or no such project: the
    query joins the project, so both look the same, as in hyperdeliver), 403 for a role
    below ``need``."""
    if not roles:
        return 404
    return None if max(RANK.get(r, -1) for r in roles) >= RANK[need] else 403


class TaskIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    notes: str = Field(default="", max_length=5000)
    priority: int = Field(default=2, ge=1, le=4)
    assignee_id: int | None = None


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    title: str
    notes: str
    status: str
    priority: int
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def prepare(url: str) -> dict[str, str]:
    """Migrate and fill the database at ``url``; grant the viewer and the member their
    role in the workspace; return the six tokens (``hyper_<user>`` and ``peer_<user>``
    for each of :data:`USERS`)."""
    from sqlalchemy import insert, text

    from hyperdeliver import Settings
    from hyperdeliver.db.migrate import upgrade_async
    from hyperdeliver.demo.teamboard.app import create_app
    from hyperdeliver.demo.teamboard.features.projects.models import Project
    from hyperdeliver.demo.teamboard.features.tasks.models import Task
    from hyperdeliver.demo.teamboard.features.workspaces.models import Workspace

    async def go() -> dict[str, str]:
        app = create_app(Settings(env="production", database_url=url, usage_enabled=False, access_log=False, secret_key=SECRET_KEY))
        await upgrade_async(app)
        tokens: dict[str, str] = {}
        async with app.database.session() as s:
            ids = {}
            for name in USERS:
                user = await app.auth.create_user(s, f"{name}@bench.dev", "bench-password", {"member" if name == "outsider" else name})
                ids[name] = user.id
                _, tokens[f"hyper_{name}"] = await app.auth.create_token(s, user.id, "bench")
            ws = Workspace(name="Bench", created_by=ids["member"])
            s.add(ws)
            await s.flush()
            for role in ("viewer", "member"):  # teamboard is multi-tenant: no membership, 404
                await app.memberships.grant(ids[role], "workspace", ws.id, role, db=s)
            await s.execute(insert(Project), [{"workspace_id": ws.id, "name": f"project {i}", "description": ""} for i in range(PROJECTS)])
            now = utcnow()
            rows = [
                {"project_id": p, "title": f"task {p}.{i}", "notes": "", "status": ("todo", "doing", "done")[i % 3],
                 "priority": 1 + i % 4, "created_at": now, "updated_at": now}
                for p in range(1, PROJECTS + 1) for i in range(TASKS_PER_PROJECT)
            ]
            for i in range(0, len(rows), 5000):
                await s.execute(insert(Task), rows[i:i + 5000])
            await s.execute(text("CREATE TABLE bench_tokens (token_hash VARCHAR(64) PRIMARY KEY, user_id INTEGER NOT NULL, role VARCHAR(20) NOT NULL)"))
            for name in USERS:
                tokens[f"peer_{name}"] = f"{name}-{secrets.token_urlsafe(24)}"
                await s.execute(text("INSERT INTO bench_tokens VALUES (:h, :u, :r)"),
                                {"h": token_hash(tokens[f"peer_{name}"]), "u": ids[name], "r": "member" if name == "outsider" else name})
            await s.commit()
        if app.database.dialect == "postgresql":
            async with app.database.engine.connect() as conn:
                await conn.execute(text("COMMIT"))
                await conn.execute(text("VACUUM ANALYZE"))
        await app.database.dispose()
        return tokens

    return asyncio.run(go())


def bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def task_row(project_id: int, user_id: int, data: TaskIn) -> dict[str, Any]:
    now = utcnow()
    return {"project_id": project_id, "created_by": user_id, "title": data.title, "notes": data.notes, "status": "todo",
            "priority": data.priority, "assignee_id": data.assignee_id, "created_at": now, "updated_at": now}
