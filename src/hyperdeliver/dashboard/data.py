"""What the dashboard pages show, gathered from the usage queries, the lifecycle store
and the job tables. Each function returns plain dicts for the templates.

The usage numbers come from :mod:`hyperdeliver.usage.queries`; when an app runs without
the usage subsystem the pages still render the lifecycle and job panels and say so.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from .. import clock
from ..lifecycle.states import NEVER_GATED
from ..lifecycle.sunset import Candidate, SunsetRules, evaluate, first_seen

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("hyperdeliver.dashboard")
P = ParamSpec("P")
T = TypeVar("T")


def usage_queries() -> Any | None:
    """The usage query module, or None when the usage subsystem is not installed."""
    try:
        from ..usage import queries
    except ImportError:
        return None
    return queries


def tolerant(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | None]]:
    """A panel whose tables are missing (not migrated) shows "no data" instead of a 500."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return await fn(*args, **kwargs)
        except DBAPIError as exc:
            log.warning("dashboard: %s failed (%s); run 'hyper db upgrade'?", fn.__name__, str(exc).splitlines()[0])
            return None

    return wrapper


def day_label(value: Any) -> str:
    """``2026-11-25`` for a date, a datetime or an ISO string."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


@tolerant
async def releases(app: App) -> list[dict[str, Any]]:
    q = usage_queries()
    if q is None:
        return []
    rows = await q.releases(app)
    return [{**r, "day": day_label(r.get("recorded_at"))} for r in rows]


@tolerant
async def overview(app: App, days: int = 28) -> dict[str, Any] | None:
    q = usage_queries()
    if q is None:
        return None
    data = dict(await q.overview(app, days=days))
    data["series"] = [{**p, "day": day_label(p.get("day"))} for p in data.get("series") or []]
    return data


def _states(app: App) -> dict[str, Any]:
    store = app.lifecycle
    return store.states if store is not None else {}


async def feature_rows(app: App, days: int = 28) -> tuple[list[dict[str, Any]], bool]:
    """One row per feature (usage merged with lifecycle and sunset score); and whether usage is known."""
    q = usage_queries()
    usage: dict[str, dict[str, Any]] = {}
    if q is not None:
        try:
            usage = {r["feature"]: dict(r) for r in await q.feature_table(app, days=days)}
        except DBAPIError as exc:
            log.warning("dashboard: feature_table failed (%s); run 'hyper db upgrade'?", str(exc).splitlines()[0])
            q = None
    states = _states(app)
    rows: list[dict[str, Any]] = []
    for name, f in app.features.items():
        r = usage.get(name) or {"feature": name, "users": 0, "adoption": 0.0, "calls": 0, "errors": 0, "error_rate": 0.0}
        r.setdefault("owner", f.owner)
        r.setdefault("summary", f.summary)
        state = states.get(name)
        r["lifecycle"] = state.lifecycle if state is not None else f.lifecycle
        r["sunset"] = state.sunset if state is not None else None
        r["flag"] = state.flag.describe() if state is not None and state.flag is not None else ""
        rows.append(r)
    scores: dict[str, Candidate] = {}
    rules = SunsetRules.of(app, window_days=days)
    seen: dict[str, Any] = {}
    if q is not None:
        try:
            seen = await first_seen(app)
        except DBAPIError as exc:
            log.warning("dashboard: first_seen failed (%s); run 'hyper db upgrade'?", str(exc).splitlines()[0])
        scores = {c.feature: c for c in evaluate(rows, states, rules, first_seen=seen)}
    now = clock.now()
    for r in rows:
        c = scores.get(r["feature"])
        r["sunset_score"] = c.score if c else 0
        r["sunset_reasons"] = [x.text for x in c.reasons] if c else []
        r["grace_until"] = rules.grace_until(seen.get(r["feature"]), now) if r["feature"] not in NEVER_GATED and not c else None
    rows.sort(key=lambda r: (-(r.get("users") or 0), r["feature"]))
    return rows, q is not None


@tolerant
async def candidates(app: App) -> list[dict[str, Any]] | None:
    q = usage_queries()
    if q is None:
        return None
    from ..lifecycle.sunset import sunset_candidates

    return [c.as_dict() for c in await sunset_candidates(app)]


@tolerant
async def feature_detail(app: App, name: str, days: int = 30) -> dict[str, Any] | None:
    q = usage_queries()
    if q is None:
        return None
    d = dict(await q.feature_detail(app, name, days=days))
    d["series"] = [{**p, "day": day_label(p.get("day"))} for p in d.get("series") or []]
    d["users"] = list(await q.feature_users(app, name, days=14))
    return d


async def jobs(app: App, limit: int = 50) -> dict[str, Any] | None:
    """Recent jobs, counts by status and recent cron ticks; None without the job tables."""
    try:
        from ..jobs.models import CronTick, Job
        from ..jobs.scheduler import next_tick
    except ImportError:
        return None
    now = clock.now()
    try:
        async with app.database.session() as s:
            counts = dict((await s.execute(select(Job.status, func.count()).group_by(Job.status))).all())
            recent = (await s.execute(select(Job).order_by(Job.id.desc()).limit(limit))).scalars().all()
            ticks = (await s.execute(select(CronTick).order_by(CronTick.tick_at.desc()).limit(limit))).scalars().all()
    except Exception as exc:  # tables not migrated
        log.warning("dashboard: job tables unreadable (%s)", type(exc).__name__)
        return None
    return {
        "counts": counts,
        "jobs": [
            {
                "id": j.id,
                "task": j.task,
                "queue": j.queue,
                "status": j.status,
                "attempts": f"{j.attempts}/{j.max_attempts}",
                "run_at": j.run_at,
                "finished_at": j.finished_at,
                "last_error": (j.last_error or "").splitlines()[0][:200] if j.last_error else "",
            }
            for j in recent
        ],
        "ticks": [{"name": t.name, "tick_at": t.tick_at, "job_id": t.job_id, "created_at": t.created_at} for t in ticks],
        "crons": sorted(
            [
                {"name": task.qualname, "schedule": task.schedule, "next_run": next_tick(task, now), "owner": f.owner, "summary": task.summary}
                for f in app.features.values()
                for task in f.crons.values()
            ],
            key=lambda c: c["name"],
        ),
    }


def hours_label(hours: float | None) -> str:
    """``45 min``, ``5.5 h``, ``3.2 d`` (or ``–``)."""
    if hours is None:
        return "–"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def _figures(f: Any) -> dict[str, Any]:
    """One scope's four keys, with their labels, for the templates."""
    rate = f.change_failure_rate
    return {
        **f.as_dict(),
        "frequency_label": f"{f.deploys_per_day * 7:.1f} / week",
        "lead_time_label": hours_label(f.lead_time_hours),
        "failure_rate_label": "–" if rate is None else f"{rate:.0%} ({f.failures} of {f.finished})",
        "restore_label": hours_label(f.time_to_restore_hours) + (f" · {f.open_failures} open" if f.open_failures else ""),
    }


@tolerant
async def delivery(app: App, environment: str | None = None, days: int = 28) -> dict[str, Any] | None:
    """The delivery page: DORA's four keys per window, feature and owner; the deployments."""
    from ..delivery.dora import BANDS, FAILURE_RATE, FREQUENCY, LEAD_TIME, RESTORE, SOURCE, WINDOWS
    from ..delivery.report import delivery_report

    if days not in WINDOWS:
        days = 28
    report = await delivery_report(app, environment)
    scope = report["windows"][str(days)]
    owners = report["owners"]
    history = []
    for d in reversed(report["deployments"]):
        regressed = sorted(report["regressions"].get(d.id, ()))
        history.append({
            **d.as_dict(),
            "owners": sorted({owners[f] for f in d.features if f in owners}),
            "regressed": regressed,
            "lead_hours": [((d.ended_at - c.committed_at).total_seconds() / 3600) for c in d.commits],
        })
    return {
        "environment": report["environment"],
        "environments": report["environments"],
        "days": days,
        "windows": WINDOWS,
        "summary": {w: _figures(s["product"]) for w, s in report["windows"].items()},
        "features": [{"name": k, "owner": owners.get(k, ""), **_figures(v)} for k, v in scope["features"].items()],
        "owners": [{"name": k, **_figures(v)} for k, v in scope["owners"].items()],
        "history": history,
        "source": SOURCE,
        "bands": BANDS,
        "thresholds": {"frequency": FREQUENCY, "lead_time": LEAD_TIME, "failure_rate": FAILURE_RATE, "restore": RESTORE},
    }
