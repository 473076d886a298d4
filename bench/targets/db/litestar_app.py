"""Litestar + SQLAlchemy 2 async (a plain AsyncSession provided per request as a
dependency; advanced-alchemy is not among the pinned peers): a guard for the login
(cached token), the caller's role in the project's workspace checked first thing in the
handler (FastAPI's query, in the same session: 404 without a role there, 403 below the
one needed), ORM queries, pydantic output models built from the ORM objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from common import TOKEN_SQL, TaskIn, TaskOut, TokenCache, bearer, refusal, token_hash
from fastapi_app import Project, SessionLocal, Task, engine, workspace_roles
from litestar import Litestar, Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

tokens = TokenCache()


async def provide_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


async def user_of(connection: ASGIConnection) -> tuple[int, str] | None:
    token = bearer(connection.headers.get("authorization"))
    if token is None:
        raise NotAuthorizedException("Not authenticated")
    user, hit = tokens.get(token)
    if not hit:
        async with engine.connect() as conn:
            row = (await conn.execute(text(TOKEN_SQL.format(":h")), {"h": token_hash(token)})).first()
        user = (row[0], row[1]) if row else None
        tokens.put(token, user)
    if user is None:
        raise NotAuthorizedException("Not authenticated")
    return user


async def logged_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    connection.state.user = await user_of(connection)


async def require(db: AsyncSession, project_id: int, user: tuple[int, str], role: str) -> None:
    status = refusal(await workspace_roles(db, project_id, user[0]), role)
    if status == 404:
        raise NotFoundException(f"no project {project_id}")
    if status == 403:
        raise PermissionDeniedException("Forbidden")


@get("/projects/{project_id:int}/tasks", guards=[logged_in])
async def list_tasks(project_id: int, db: AsyncSession, request: Request,
                     limit: Annotated[int, Parameter(ge=1, le=500)] = 100) -> list[TaskOut]:
    await require(db, project_id, request.state.user, "viewer")
    q = select(Task).where(Task.project_id == project_id).order_by(Task.priority, Task.id).limit(limit)
    return [TaskOut.model_validate(t) for t in (await db.scalars(q)).all()]


@post("/projects/{project_id:int}/tasks", guards=[logged_in], status_code=201)
async def create_task(project_id: int, data: TaskIn, db: AsyncSession, request: Request) -> TaskOut:
    await require(db, project_id, request.state.user, "member")
    if await db.get(Project, project_id) is None:
        raise NotFoundException(f"no project {project_id}")
    task = Task(project_id=project_id, created_by=request.state.user[0], **data.model_dump())
    db.add(task)
    await db.commit()
    return TaskOut.model_validate(task)


app = Litestar([list_tasks, create_task], dependencies={"db": Provide(provide_session)}, debug=False)
