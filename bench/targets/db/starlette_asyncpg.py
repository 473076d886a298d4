"""The floor: Starlette + bare asyncpg (a pool of ``POOL``), SQL by hand, orjson out,
the body checked by hand; the same cached token lookup and role check."""

from __future__ import annotations

import contextlib

import asyncpg
import orjson
from common import POOL, TOKEN_SQL, URL, TokenCache, allowed, bearer, token_hash, utcnow
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


async def list_tasks(request: Request) -> Response:
    user = await user_of(request)
    if not allowed(user, "viewer"):
        return problem(401 if user is None else 403, "not allowed")
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        return problem(422, "limit: an integer")
    if not 1 <= limit <= 500:
        return problem(422, "limit: 1 to 500")
    async with pool.acquire() as conn:
        rows = await conn.fetch(LIST_SQL, request.path_params["project_id"], limit)
    return Response(orjson.dumps([dict(r) for r in rows]), media_type="application/json")


async def create_task(request: Request) -> Response:
    user = await user_of(request)
    if not allowed(user, "member"):
        return problem(401 if user is None else 403, "not allowed")
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
