"""The delivery figures of an app: its deployments, the regressions its releases caused
(from the usage dashboard's per-release deltas) and DORA's four keys per product,
feature and owner."""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .. import clock
from .dora import WINDOWS, breakdown, regressed
from .records import Deployment
from .store import deployments, environments

if TYPE_CHECKING:
    from ..app import App


def owners_of(app: App) -> dict[str, str]:
    """Each product feature and its owner (hyperdeliver's own ``auth`` left out)."""
    return {name: f.owner for name, f in app.features.items() if name != "auth"}


WINDOW = timedelta(days=7)
"""How long before and after a release its error rates are compared (as the usage
dashboard's per-release deltas)."""


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class _Series:
    """One feature's hourly calls and errors as running totals, for sums over any range."""

    def __init__(self) -> None:
        self.hours: list[datetime] = []
        self.calls: list[int] = [0]
        self.errors: list[int] = [0]

    def add(self, hour: datetime, calls: int, errors: int) -> None:
        self.hours.append(hour)
        self.calls.append(self.calls[-1] + calls)
        self.errors.append(self.errors[-1] + errors)

    def sums(self, lo: datetime, hi: datetime) -> tuple[int, int]:
        a, b = bisect_left(self.hours, lo), bisect_left(self.hours, hi)
        return self.calls[b] - self.calls[a], self.errors[b] - self.errors[a]


async def _hourly(app: App, since: datetime, until: datetime) -> dict[str, _Series]:
    """Calls and errors per feature and hour in ``[since, until)``: one query on the hourly rollup."""
    from ..usage import tables as t

    h = t.hourly
    q = (sa.select(h.c.hour, h.c.feature, sa.func.sum(h.c.calls), sa.func.sum(h.c.errors))
         .where(h.c.hour >= since, h.c.hour < until).group_by(h.c.hour, h.c.feature).order_by(h.c.hour))
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    out: dict[str, _Series] = {}
    for hour, feature, calls, errors in rows:
        if isinstance(hour, str):
            hour = datetime.fromisoformat(hour)
        if hour.tzinfo is None:
            hour = hour.replace(tzinfo=timezone.utc)
        out.setdefault(feature, _Series()).add(hour, int(calls or 0), int(errors or 0))
    return out


async def regressions(app: App, deps: list[Deployment]) -> dict[str, set[str]]:
    """Per succeeded forward deployment: the features whose error rate rose after it went
    live: the week before against the week after, or until the next deployment went live
    when that is sooner (so that a later release's errors are not blamed on this one)."""
    live = sorted((d for d in deps if d.status in ("succeeded", "rolled_back")), key=lambda d: d.ended_at)
    checked = [(i, d) for i, d in enumerate(live) if d.status == "succeeded" and not d.rollback]
    if not checked:
        return {}
    series = await _hourly(app, _hour(checked[0][1].ended_at) - WINDOW, _hour(checked[-1][1].ended_at) + WINDOW)
    out: dict[str, set[str]] = {}
    for i, d in checked:
        at = _hour(d.ended_at)
        end = at + WINDOW
        if i + 1 < len(live):
            end = min(end, max(at + timedelta(hours=1), _hour(live[i + 1].ended_at)))
        rows = []
        for feature, s in series.items():
            cb, eb = s.sums(at - WINDOW, at)
            ca, ea = s.sums(at, end)
            rows.append({"feature": feature, "calls_before": cb, "calls_after": ca,
                         "error_rate_before": eb / cb if cb else 0.0, "error_rate_after": ea / ca if ca else 0.0})
        hit = regressed(rows)
        if hit:
            out[d.id] = hit
    return out


async def delivery_report(
    app: App, environment: str | None = None, *, now: datetime | None = None, windows: tuple[int, ...] = WINDOWS
) -> dict[str, Any]:
    """Deployments of the last ``max(windows)`` days in ``environment`` (default: the most
    deployed one), their regressions and the four keys per window and scope."""
    now = now or clock.now()
    envs = await environments(app)
    env = environment or (envs[0] if envs else "production")
    # a week more than the longest window: a lead time or restore may start before it
    deps = await deployments(app, env, since=now - timedelta(days=max(windows) + 7))
    regs = await regressions(app, deps)
    owners = owners_of(app)
    return {
        "environment": env,
        "environments": envs,
        "now": now,
        "deployments": deps,
        "regressions": regs,
        "owners": owners,
        "windows": breakdown(deps, now=now, owners=owners, windows=windows, regressions=regs),
    }
