"""The delivery figures of an app: its deployments, the regressions its releases caused
(from the usage dashboard's per-release deltas) and DORA's four keys per product,
feature and owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import clock
from .dora import WINDOWS, breakdown, regressed
from .records import Deployment
from .store import deployments, environments

if TYPE_CHECKING:
    from ..app import App


def owners_of(app: App) -> dict[str, str]:
    """Each product feature and its owner (hyperdeliver's own ``auth`` left out)."""
    return {name: f.owner for name, f in app.features.items() if name != "auth"}


async def regressions(app: App, deps: list[Deployment]) -> dict[str, set[str]]:
    """Per succeeded forward deployment: the features whose error rate rose after its release."""
    from ..usage.queries import release_deltas

    out: dict[str, set[str]] = {}
    live = sorted((d for d in deps if d.status in ("succeeded", "rolled_back")), key=lambda d: d.ended_at)
    for i, d in enumerate(live):
        if d.status == "succeeded" and not d.rollback:
            # the week after it, or until the next deployment went live
            until = live[i + 1].ended_at if i + 1 < len(live) else None
            hit = regressed(await release_deltas(app, d.version, until=until))
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
