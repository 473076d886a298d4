"""Assertions on recorded usage: the calls of an operation, feature or user, and the
product events ``ctx.track`` recorded.

Behind the ``usage`` fixture. Each query first flushes the app's usage recorder (the
buffer the request path appends to) and then reads what was written, from the same
tables the dashboard reads: ``hd_usage_events`` (one row per call) and
``hd_track_events``.

Example (inside a test)::

    member = await login_as("member")
    await client.post("/projects/1/tasks", json={"title": "x"})
    assert await usage.count("tasks.create_task", user=member) == 1
    [event] = await usage.events("task_created")
    assert event.props == {"project_id": 1} and event.user_id == member.id
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import App
    from ..lifecycle.sunset import Candidate
    from ..operations import Invocable
    from ..usage.recorder import UsageRecorder


@dataclass(frozen=True)
class Call:
    """One recorded call (a row of ``hd_usage_events``)."""

    ts: datetime
    feature: str
    operation: str
    interface: str
    user_id: int | None
    status: int
    duration_ms: float
    release: str


@dataclass(frozen=True)
class Event:
    """One product event recorded by ``ctx.track`` (a row of ``hd_track_events``)."""

    ts: datetime
    event: str
    user_id: int | None
    feature: str | None
    props: dict[str, Any]


def _user_id(user: Any) -> int:
    uid = getattr(user, "id", getattr(user, "user_id", user))
    if not isinstance(uid, int):
        raise TypeError(f"user= takes a User, a Principal or a user id, not {user!r}")
    return uid


def _operation(app: App, operation: Any) -> tuple[str, str]:
    """(feature, operation name) for a qualified name, a unique short name, an Operation,
    a Task or a decorated handler."""
    target = getattr(operation, "operation", operation)
    if not isinstance(target, str):
        return target.feature.name, target.name
    feature, _, name = target.rpartition(".")
    if feature:
        return feature, name
    found: list[Invocable] = [op for op in app.operations if op.name == name]
    found += [t for t in (app.jobs.tasks.values() if app.jobs is not None else ()) if t.name == name]
    if len(found) != 1:
        raise LookupError(f"{name!r} names {len(found)} operations or tasks: write it as feature.{name}")
    return found[0].feature.name, name


class UsageProbe:
    """Reads one test app's recorded usage (flushing the recorder first)."""

    def __init__(self, app: App) -> None:
        self.app = app

    @property
    def recorder(self) -> UsageRecorder:
        rec = self.app.usage
        if rec is None:
            raise RuntimeError("this app records no usage (usage_enabled=False, or no UsagePlugin in its plugins)")
        return rec

    async def flush(self) -> None:
        """Write what the recorder holds (calls, product events, per-user rollups)."""
        await self.recorder.flush(users=True)

    async def calls(
        self,
        operation: Any = None,
        *,
        feature: str | None = None,
        user: Any = None,
        status: int | None = None,
        interface: str | None = None,
    ) -> list[Call]:
        """The recorded calls, oldest first, filtered by operation (``"tasks.create_task"``,
        a handler, an Operation), feature, user (a ``User``, a principal or an id), HTTP
        status or interface (``"rest"``, ``"graphql"``, ``"job"``)."""
        import sqlalchemy as sa

        from ..usage import tables as t

        await self.flush()
        e = t.events
        q = sa.select(*e.c).order_by(e.c.ts)
        if operation is not None:
            f, name = _operation(self.app, operation)
            q = q.where(e.c.feature == f, e.c.operation == name)
        if feature is not None:
            q = q.where(e.c.feature == feature)
        if user is not None:
            q = q.where(e.c.user_id == _user_id(user))
        if status is not None:
            q = q.where(e.c.status == status)
        if interface is not None:
            q = q.where(e.c.interface == interface)
        async with self.app.database.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [Call(r.ts, r.feature, r.operation, r.interface, r.user_id, int(r.status), float(r.duration_ms), r.release) for r in rows]

    async def count(self, operation: Any = None, **filters: Any) -> int:
        """How many calls :meth:`calls` finds."""
        return len(await self.calls(operation, **filters))

    async def events(self, name: str | None = None, *, user: Any = None, feature: str | None = None) -> list[Event]:
        """The product events ``ctx.track`` recorded, oldest first, by name, user or feature."""
        import sqlalchemy as sa

        from ..usage import tables as t

        await self.flush()
        tr = t.track
        q = sa.select(tr.c.ts, tr.c.event, tr.c.user_id, tr.c.feature, tr.c.props).order_by(tr.c.ts, tr.c.id)
        if name is not None:
            q = q.where(tr.c.event == name)
        if user is not None:
            q = q.where(tr.c.user_id == _user_id(user))
        if feature is not None:
            q = q.where(tr.c.feature == feature)
        async with self.app.database.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [Event(r.ts, r.event, r.user_id, r.feature, dict(r.props or {})) for r in rows]

    async def features(self, days: int = 28) -> dict[str, dict[str, Any]]:
        """The dashboard's feature table by feature name: users, adoption, calls, errors,
        last use, trend (over ``days`` ending on the framework clock's day)."""
        from ..usage import queries

        await self.flush()
        return {row["feature"]: row for row in await queries.feature_table(self.app, days=days)}

    async def sunset_candidates(self) -> dict[str, Candidate]:
        """The features the sunset rules flag now (by the framework's clock), by name."""
        from ..lifecycle.sunset import sunset_candidates

        await self.flush()
        return {c.feature: c for c in await sunset_candidates(self.app)}
