"""Memberships: a user's roles within one scope (a workspace, an organisation), and the
API to grant and revoke them.

A row of ``hd_memberships`` says "user U holds role R in scope S, id I". The front
controller reads them (:mod:`hyperdeliver.scopes`); apps and ``hyper members`` write them
through :class:`Memberships` (``app.memberships``).

Example (inside a handler, in the request's transaction)::

    await ctx.app.memberships.grant(ctx.user.user_id, "workspace", row.id, "admin", db=ctx)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ..db.model import Model, UTCDateTime, utcnow
from ..errors import BadRequest, NotFound

if TYPE_CHECKING:
    from ..app import App

T = TypeVar("T")


class Membership(Model):
    """One role of one user in one scope. ``scope_id`` is text, so integer and UUID keys both fit."""

    __tablename__ = "hd_memberships"
    __table_args__ = (
        # Also the index of the controller's lookup: (user_id, scope, scope_id) is its prefix.
        UniqueConstraint("user_id", "scope", "scope_id", "role", name="uq_hd_memberships_user_scope_role"),
        Index("ix_hd_memberships_scope_scope_id", "scope", "scope_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(50))
    scope_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("hd_users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Memberships:
    """Grant, revoke and list scoped roles (``app.memberships``).

    Every method takes ``db=``: a :class:`~hyperdeliver.Context` (its transaction), an
    ``AsyncSession`` (yours to commit), or None (a transaction of its own, committed).
    A user is named by id or email; a scope id may be an int or a string.
    """

    def __init__(self, app: App) -> None:
        self.app = app

    async def _run(self, db: Any, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        if db is None:
            async with self.app.database.session() as s:
                out = await fn(s)
                await s.commit()
                return out
        session = db if isinstance(db, AsyncSession) else db.db
        return await fn(session)

    def _role(self, scope: str, role: str) -> str:
        declared = self.app.scopes.get(scope)
        if declared is None:
            raise BadRequest(f"unknown scope {scope!r}; the app declares {sorted(self.app.scopes) or 'none'}")
        if role not in declared.hierarchy.names:
            raise BadRequest(f"unknown role {role!r} in scope {scope!r}; it has {sorted(declared.hierarchy.names)}")
        return role

    async def _user_id(self, s: AsyncSession, user: int | str) -> int:
        from .models import User

        if isinstance(user, int) and not isinstance(user, bool):
            found = await s.get(User, user)
            if found is None:
                raise NotFound(f"no user {user}")
            return user
        email = str(user).strip().lower()
        uid = (await s.execute(select(User.id).where(User.email == email))).scalar_one_or_none()
        if uid is None:
            raise NotFound(f"no user with email {email}")
        return int(uid)

    async def grant(self, user: int | str, scope: str, scope_id: int | str, role: str, *, db: Any = None) -> None:
        """Give ``user`` ``role`` in ``scope`` ``scope_id`` (nothing if they hold it already)."""
        self._role(scope, role)

        async def go(s: AsyncSession) -> None:
            uid = await self._user_id(s, user)
            held = await s.execute(
                select(Membership.id).where(
                    Membership.user_id == uid, Membership.scope == scope, Membership.scope_id == str(scope_id), Membership.role == role
                )
            )
            if held.first() is None:
                s.add(Membership(user_id=uid, scope=scope, scope_id=str(scope_id), role=role))
                await s.flush()

        await self._run(db, go)

    async def revoke(self, user: int | str, scope: str, scope_id: int | str, role: str | None = None, *, db: Any = None) -> int:
        """Take ``role`` (None: every role) in ``scope`` ``scope_id`` from ``user``; how many were taken."""

        async def go(s: AsyncSession) -> int:
            uid = await self._user_id(s, user)
            q = delete(Membership).where(Membership.user_id == uid, Membership.scope == scope, Membership.scope_id == str(scope_id))
            if role is not None:
                q = q.where(Membership.role == role)
            return int((await s.execute(q)).rowcount or 0)  # type: ignore[attr-defined]

        return await self._run(db, go)

    async def roles(self, user: int | str, scope: str, scope_id: int | str, *, db: Any = None) -> frozenset[str]:
        """The roles ``user`` holds in ``scope`` ``scope_id`` (as granted: the hierarchy not applied)."""

        async def go(s: AsyncSession) -> frozenset[str]:
            uid = await self._user_id(s, user)
            rows = await s.execute(
                select(Membership.role).where(Membership.user_id == uid, Membership.scope == scope, Membership.scope_id == str(scope_id))
            )
            return frozenset(rows.scalars())

        return await self._run(db, go)

    async def list(self, scope: str, scope_id: int | str | None = None, *, user: int | str | None = None, db: Any = None) -> list[dict[str, Any]]:
        """Memberships in ``scope`` (one id, or all), optionally of one user: dicts of
        ``scope, scope_id, user_id, email, role``, by scope id, email, role."""
        from .models import User

        async def go(s: AsyncSession) -> list[dict[str, Any]]:
            q = (
                select(Membership.scope, Membership.scope_id, Membership.user_id, User.email, Membership.role)
                .join(User, User.id == Membership.user_id)
                .where(Membership.scope == scope)
                .order_by(Membership.scope_id, User.email, Membership.role)
            )
            if scope_id is not None:
                q = q.where(Membership.scope_id == str(scope_id))
            if user is not None:
                q = q.where(Membership.user_id == await self._user_id(s, user))
            return [dict(r._mapping) for r in await s.execute(q)]

        return await self._run(db, go)
