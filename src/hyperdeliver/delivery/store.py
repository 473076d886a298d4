"""Deployment records in the app's database: record (insert or update by id) and read.

A deployment that succeeds is also recorded as a release (``hd_releases``), the marker
every usage chart shows; a rollback that succeeds marks the deployment it undid
``rolled_back``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .. import clock
from .records import FINISHED, Commit, Deployment, check_name, check_sha, check_status, default_id
from .tables import commits as c_table
from .tables import deployments as d_table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from ..app import App

ALLOWED_AFTER = {
    "started": {"started", "succeeded", "failed", "rolled_back"},
    "succeeded": {"succeeded", "rolled_back"},
    "failed": {"failed"},
    "rolled_back": {"rolled_back"},
}
"""The statuses a recorded deployment may move to from each status."""


class DeploymentError(ValueError):
    """Bad input for a deployment record; the message is one line for the user."""


def _row_to_deployment(row: Any, shipped: list[Commit]) -> Deployment:
    return Deployment(
        id=row.id, version=row.version, sha=row.sha, environment=row.environment, status=row.status,
        rollback=bool(row.rollback), started_at=row.started_at, finished_at=row.finished_at,
        previous_id=row.previous_id, features=tuple(row.features or ()), commits=tuple(shipped),
    )


def _commit_rows(rows: Iterable[Any]) -> dict[str, list[Commit]]:
    out: dict[str, list[Commit]] = {}
    for r in rows:
        out.setdefault(r.deployment_id, []).append(
            Commit(sha=r.sha, committed_at=r.committed_at, author=r.author, files=tuple(r.files or ()), features=tuple(r.features or ()))
        )
    for shipped in out.values():
        shipped.sort(key=lambda c: (c.committed_at, c.sha))
    return out


async def _get(conn: AsyncConnection, deployment_id: str) -> Deployment | None:
    row = (await conn.execute(sa.select(d_table).where(d_table.c.id == deployment_id))).first()
    if row is None:
        return None
    shipped = _commit_rows((await conn.execute(sa.select(c_table).where(c_table.c.deployment_id == deployment_id))).all())
    return _row_to_deployment(row, shipped.get(deployment_id, []))


async def _last_live(conn: AsyncConnection, environment: str, exclude: str) -> Any:
    d = d_table
    q = (sa.select(d.c.id, d.c.version, d.c.rollback).where(d.c.environment == environment, d.c.status == "succeeded", d.c.id != exclude)
         .order_by(d.c.finished_at.desc(), d.c.id.desc()).limit(1))
    return (await conn.execute(q)).first()


async def record_deployment(
    app: App,
    *,
    version: str,
    environment: str = "production",
    status: str = "succeeded",
    sha: str = "",
    id: str | None = None,  # the record's id, as the CLI and the API name it
    commits: Iterable[Commit] = (),
    features: Iterable[str] = (),
    rollback: bool = False,
    at: datetime | None = None,
) -> tuple[Deployment, bool]:
    """Record a deployment (a new id) or its progress (an id recorded before).

    Returns the deployment as stored and whether it was new. Raises
    :class:`DeploymentError` on bad input: a malformed field, an id that belongs to
    another version or environment, or a status that cannot follow the recorded one
    (a finished deployment does not start again).
    """
    try:
        version = check_name(version, "version")
        environment = check_name(environment, "environment")
        status = check_status(status)
        sha = check_sha(sha)
        deployment_id = check_name(id, "id") if id else default_id(environment, version)
    except ValueError as exc:
        raise DeploymentError(str(exc)) from None
    now = at or clock.now()
    shipped = list(commits)
    touched = sorted(set(features) | {f for c in shipped for f in c.features})
    d, ct = d_table, c_table
    async with app.database.engine.begin() as conn:
        found = await _get(conn, deployment_id)
        if found is not None:
            if (found.version, found.environment) != (version, environment):
                raise DeploymentError(
                    f"deployment {deployment_id!r} is {found.version} to {found.environment}, not {version} to {environment}: use another --id"
                )
            if status not in ALLOWED_AFTER[found.status]:
                raise DeploymentError(
                    f"deployment {deployment_id!r} already finished as {found.status}; it cannot become {status} (record a new one with another --id)"
                )
            values: dict[str, Any] = {"status": status, "features": sorted(set(found.features) | set(touched))}
            if sha and sha != found.sha:
                values["sha"] = sha
            if status in FINISHED and found.finished_at is None:
                values["finished_at"] = max(now, found.started_at)
            await conn.execute(d.update().where(d.c.id == deployment_id).values(**values))
            known = {c.sha for c in found.commits}
        else:
            previous = await _last_live(conn, environment, deployment_id)
            await conn.execute(d.insert().values(
                id=deployment_id, version=version, sha=sha, environment=environment, status=status, rollback=rollback,
                started_at=now, finished_at=now if status in FINISHED else None,
                previous_id=previous.id if previous is not None else None, features=touched,
            ))
            known = set()
        new_commits = [c for c in shipped if c.sha not in known]
        if new_commits:
            await conn.execute(ct.insert(), [{"deployment_id": deployment_id, **c.as_dict(), "files": list(c.files), "features": list(c.features)} for c in new_commits])
        stored = await _get(conn, deployment_id)
        assert stored is not None
        if status == "succeeded" and stored.rollback and (found is None or found.status != "succeeded"):
            await _undo_previous(conn, stored)
    if status == "succeeded" and (found is None or found.status != "succeeded"):
        from ..usage.queries import record_release

        # the chart marker; a rollback re-deploys a version whose marker stays where it was
        await record_release(app, stored.version, stored.sha, recorded_at=stored.finished_at, if_new=stored.rollback)
    return stored, found is None


async def _undo_previous(conn: AsyncConnection, rollback: Deployment) -> None:
    """A succeeded rollback: the deployment live before it (another version) is rolled back."""
    if rollback.previous_id is None:
        return
    d = d_table
    prev = (await conn.execute(sa.select(d.c.version, d.c.status).where(d.c.id == rollback.previous_id))).first()
    if prev is not None and prev.version != rollback.version and prev.status == "succeeded":
        await conn.execute(d.update().where(d.c.id == rollback.previous_id).values(status="rolled_back"))


async def deployments(app: App, environment: str | None = None, since: datetime | None = None) -> list[Deployment]:
    """Every recorded deployment (of ``environment``, started after ``since``), oldest first, with its commits."""
    d, ct = d_table, c_table
    q = sa.select(d)
    if environment:
        q = q.where(d.c.environment == environment)
    if since is not None:
        q = q.where(d.c.started_at >= since)
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(q.order_by(d.c.started_at, d.c.id))).all()
        ids = [r.id for r in rows]
        shipped: dict[str, list[Commit]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            shipped.update(_commit_rows((await conn.execute(sa.select(ct).where(ct.c.deployment_id.in_(chunk)))).all()))
    return [_row_to_deployment(r, shipped.get(r.id, [])) for r in rows]


async def environments(app: App) -> list[str]:
    """The environments deployments were recorded for, most deployed first."""
    d = d_table
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(sa.select(d.c.environment, sa.func.count()).group_by(d.c.environment))).all()
    return [e for e, _n in sorted(rows, key=lambda r: (-r[1], r[0]))]
