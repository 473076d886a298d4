"""The floor: Starlette + bare asyncpg (a pool of ``POOL``), SQL by hand, orjson out,
the body checked by hand; the same cached token lookup, and the caller's role in the
project's workspace read by one statement joining ``projects`` and ``hd_memberships`` on
the connection the handler then uses (404 without a role there, 403 below the one needed)."""

from __future__ import annotations

import contextlib

import asyncpg
import orjson
from common import POOL, TOKEN_SQL, URL, TokenCache, bearer, refusal, token_hash, utcnow
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COLUMNS = "id, project_id, title, notes, status, priority, assignee_id, created_at, updated_at"
LIST_SQL = f"SELECT {COLUMNS} FROM tasks WHERE project_id = $1 ORDER BY priority, id LIMIT $2"
INSERT_SQL = (
    "INSERT INTO tasks (project_id, created_by, title, notes, status, priority, assignee_id, created_at, updated_at) "
    f"VALUES ($1, $2, $3, $4, 'todo', $5, $6, $7, $7) RETURNING {COLUMNS}"
)
ROLES_SQL = (
    "SELECT m.role FROM projects p JOIN hd_memberships m ON m.scope = 'workspace' "
    "AND m.scope_id = p.workspace_id::text AND m.user_id = $1 WHERE p.id = $2"
)
"""The caller's roles in the workspace of the project (no row: not a member, or no project)."""
pool: asyncpg.Pool | None = None
tokens = TokenCache()


def problem(status: int, detail: str) -> Response:
    return Response(orjson.dumps({"status": status, "detail": detail}), status, media_type="application/problem+json")


async def user_of(request: Request) -> tuple[int, str] | None:
    token = bearer(request.headers.get("authorization"))
    if token is None:
        return None
    user, hit = tokens.get(token)
    if not hit:
        row = await pool.fetchrow(TOKEN_SQL.format("$1"), token_hash(token))
        user = (row[0], row[1]) if row else None
        tokens.put(token, user)
    return user


def refused(roles: list[asyncpg.Record], need: str, project_id: int) -> Response | None:
    status = refusal([r[0] for r in roles], need)
    return None if status is None else problem(status, f"no project {project_id}" if status == 404 else "not allowed")


async def list_tasks(request: Request) -> Response:
    user = await user_of(request)
    if user is None:
        return problem(401, "not authenticated")
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        return problem(422, "limit: an integer")
    if not 1 <= limit <= 500:
        return problem(422, "limit: 1 to 500")
    project_id = request.path_params["project_id"]
    async with pool.acquire() as conn:
        if (no := refused(await conn.fetch(ROLES_SQL, user[0], project_id), "viewer", project_id)) is not None:
            return no
        rows = await conn.fetch(LIST_SQL, project_id, limit)
    return Response(orjson.dumps([dict(r) for r in rows]), media_type="application/json")


async def create_task(request: Request) -> Response:
    user = await user_of(request)
    if user is None:
        return problem(401, "not authenticated")
    try:
        data = orjson.loads(await request.body())
        title, notes, priority, assignee = data["title"], data.get("notes", ""), data.get("priority", 2), data.get("assignee_id")
        ok = (isinstance(title, str) and 1 <= len(title) <= 200 and isinstance(notes, str) and len(notes) <= 5000
              and type(priority) is int and 1 <= priority <= 4 and (assignee is None or type(assignee) is int))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        ok = False
    if not ok:
        return problem(422, "invalid body")
    project_id = request.path_params["project_id"]
    async with pool.acquire() as conn, conn.transaction():
        if (no := refused(await conn.fetch(ROLES_SQL, user[0], project_id), "member", project_id)) is not None:
            return no
        if await conn.fetchval("SELECT 1 FROM projects WHERE id = $1", project_id) is None:
            return problem(404, f"no project {project_id}")
        row = await conn.fetchrow(INSERT_SQL, project_id, user[0], title, notes, priority, assignee, utcnow())
    return Response(orjson.dumps(dict(row)), 201, media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    global pool
    pool = await asyncpg.create_pool(URL.replace("postgresql+asyncpg://", "postgresql://"), min_size=POOL, max_size=POOL)
    yield
    await pool.close()


app = Starlette(routes=[
    Route("/projects/{project_id:int}/tasks", list_tasks, methods=["GET"]),
    Route("/projects/{project_id:int}/tasks", create_task, methods=["POST"]),
], lifespan=lifespan)
