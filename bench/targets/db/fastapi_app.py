"""FastAPI + SQLAlchemy 2 async, written as FastAPI's docs show: a session dependency,
an HTTPBearer dependency resolving the (cached) user, a dependency checking the caller's
role in the project's workspace (one ORM query joining ``projects`` and ``hd_memberships``
in the request's session: 404 without a role there, 403 below the one needed), ORM
queries, ``response_model`` built from the ORM objects (``from_attributes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from common import POOL, TOKEN_SQL, URL, TaskIn, TaskOut, TokenCache, refusal, token_hash, utcnow
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import DateTime, ForeignKey, String, Text, and_, cast, event, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if URL.startswith("sqlite"):
    # As hyperdeliver's SQLite: WAL, synchronous NORMAL, a writer waits up to 30 s for the lock.
    engine = create_async_engine(URL, pool_size=POOL, max_overflow=0, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()
else:
    engine = create_async_engine(URL, pool_size=POOL, max_overflow=0)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))


class Membership(Base):
    """A user's role in a scope (hyperdeliver's ``hd_memberships``, which the data set fills)."""

    __tablename__ = "hd_memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(50))
    scope_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int]
    role: Mapped[str] = mapped_column(String(50))


class Task(Base):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="todo")
    priority: Mapped[int] = mapped_column(default=2)
    assignee_id: Mapped[int | None]
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


app = FastAPI()
bearer = HTTPBearer()
tokens = TokenCache()


async def get_session():
    async with SessionLocal() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def current_user(credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]) -> tuple[int, str]:
    user, hit = tokens.get(credentials.credentials)
    if not hit:
        async with engine.connect() as conn:
            row = (await conn.execute(text(TOKEN_SQL.format(":h")), {"h": token_hash(credentials.credentials)})).first()
        user = (row[0], row[1]) if row else None
        tokens.put(credentials.credentials, user)
    if user is None:
        raise HTTPException(401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    return user


async def workspace_roles(session: AsyncSession, project_id: int, user_id: int) -> list[str]:
    """The caller's roles in the workspace of the project (none: not a member, or no project)."""
    q = (
        select(Membership.role)
        .join(Project, and_(Membership.scope == "workspace", Membership.scope_id == cast(Project.workspace_id, String)))
        .where(Project.id == project_id, Membership.user_id == user_id)
    )
    return list((await session.scalars(q)).all())


def require(role: str):
    async def check(project_id: int, session: SessionDep, user: Annotated[tuple[int, str], Depends(current_user)]) -> tuple[int, str]:
        status = refusal(await workspace_roles(session, project_id, user[0]), role)
        if status == 404:
            raise HTTPException(404, f"no project {project_id}")
        if status == 403:
            raise HTTPException(403, "Forbidden")
        return user

    return check


@app.get("/projects/{project_id}/tasks", response_model=list[TaskOut])
async def list_tasks(project_id: int, session: SessionDep, user: Annotated[tuple[int, str], Depends(require("viewer"))],
                     limit: Annotated[int, Query(ge=1, le=500)] = 100):
    q = select(Task).where(Task.project_id == project_id).order_by(Task.priority, Task.id).limit(limit)
    return (await session.scalars(q)).all()


@app.post("/projects/{project_id}/tasks", response_model=TaskOut, status_code=201)
async def create_task(project_id: int, data: TaskIn, session: SessionDep,
                      user: Annotated[tuple[int, str], Depends(require("member"))]):
    if await session.get(Project, project_id) is None:
        raise HTTPException(404, f"no project {project_id}")
    task = Task(project_id=project_id, created_by=user[0], **data.model_dump())
    session.add(task)
    await session.commit()
    return task
