"""``hyper demo --simulate 30d``: realistic synthetic usage for the teamboard demo, so the
dashboard tells a story on first run.

The story, over ``days`` days and about 100 users (more of them active each week):

- ``tasks`` grows (a larger share of the active users every day)
- ``workspaces`` and ``projects`` stay flat
- ``comments`` is flat, but release ``v1.4.0`` (10 days ago) breaks it: its error rate
  goes from about 1 % to about 18 % and its p95 latency triples
- ``legacy_export`` dies: a handful of users at first, one left at the end; it is
  deprecated with a sunset date a month ahead, and shows up as a sunset candidate
- ``auth``: one login per active user and day
- three releases are recorded (28, 19 and 10 days ago)
- a deploy history around them (:data:`DEPLOYS`): ``v1.2.1`` fails (its migration Job),
  ``v1.4.1`` goes live and is rolled back to ``v1.4.0`` two and a half hours later;
  each deployment ships a few commits touching the features it names

:func:`generate` is pure (a seeded ``random.Random``): the same arguments give the same
events. :func:`simulate` creates the users, loads the events through the usage
subsystem's bulk ingest, records the releases and deprecates ``legacy_export``.

Example:
    >>> from datetime import datetime, timezone
    >>> sim = generate(FEATURES, user_ids=list(range(1, 101)), days=30, now=datetime(2026, 11, 25, tzinfo=timezone.utc))
    >>> [r["version"] for r in sim.releases]
    ['v1.2.0', 'v1.3.0', 'v1.4.0']
    >>> 2_000 < len(sim.events) < 40_000
    True
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .. import clock
from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..app import App


@dataclass(frozen=True)
class Shape:
    """How one feature is used: who, how often, how fast, how often it fails."""

    operations: tuple[str, ...]
    share: float
    """Share of a day's active users who use it (at the start of the period)."""
    growth: float = 0.0
    """Added to ``share`` linearly by the end of the period (negative: shrinking)."""
    calls: tuple[int, int] = (1, 4)
    median_ms: float = 15.0
    error_rate: float = 0.01
    pool: int | None = None
    """Only this many users ever use it (a niche feature)."""
    decay: float = 0.0
    """Exponent of a decaying share: ``share * (1 - t) ** decay`` (a dying feature)."""


FEATURES: dict[str, Shape] = {
    "auth": Shape(("login",), share=1.0, calls=(1, 1), median_ms=60.0, error_rate=0.0),
    "workspaces": Shape(("list_workspaces", "get_workspace"), share=0.15, calls=(1, 3), median_ms=8.0),
    "projects": Shape(("list_projects", "get_project"), share=0.2, calls=(2, 6), median_ms=12.0),
    "tasks": Shape(("list_tasks", "get_task", "create_task", "update_task"), share=0.02, growth=0.4, calls=(2, 10), median_ms=18.0),
    "comments": Shape(("list_comments", "add_comment"), share=0.15, calls=(2, 6), median_ms=15.0),
    "legacy_export": Shape(("export_tasks_csv",), share=0.9, pool=4, decay=2.5, calls=(1, 2), median_ms=250.0),
}
BROKEN = "comments"
"""The feature release ``v1.4.0`` breaks."""
DYING = "legacy_export"
RELEASES = [("v1.2.0", 27), ("v1.3.0", 19), ("v1.4.0", 10)]
"""(version, days ago)."""
DEPLOYS: list[tuple[str, int, int, str, tuple[str, ...], bool]] = [
    ("v1.2.0", 27, 9 * 60 + 30, "succeeded", ("tasks", "projects"), False),
    ("v1.2.1", 20, 16 * 60, "failed", ("workspaces",), False),
    ("v1.3.0", 19, 9 * 60 + 30, "succeeded", ("workspaces", "tasks"), False),
    ("v1.4.0", 10, 9 * 60 + 30, "succeeded", ("comments", "tasks"), False),
    ("v1.4.1", 6, 11 * 60, "succeeded", ("tasks",), False),
    ("v1.4.0", 6, 13 * 60 + 30, "succeeded", (), True),
]
"""The deploy history: (version, days ago, minute of the day it finished, status, features
its commits touch, rollback). The oldest is 27 days ago: a 28-day window holds them all at
any hour of the day. A succeeded release is the usage charts' marker, so the
forward deploys that succeed are :data:`RELEASES` (plus ``v1.4.1``, live for 2.5 hours)."""
DEPLOY_MINUTES = 12
"""How long a simulated deploy runs, start to finish."""


@dataclass
class Simulation:
    events: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)


def parse_period(value: str) -> int:
    """``"30d"`` -> 30, ``"4w"`` -> 28, ``"14"`` -> 14 (days); ValueError otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", value or "")
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"bad period {value!r}: use a number of days like 30d (or weeks: 4w)")
    n = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
    if n > 366:
        raise ValueError(f"bad period {value!r}: at most 366 days")
    return n


def _sha(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(40))


def generate(
    features: dict[str, Shape],
    *,
    user_ids: list[int],
    days: int = 30,
    now: datetime | None = None,
    seed: int = 7,
) -> Simulation:
    """The events of ``days`` days for ``user_ids``, and the releases; deterministic per seed."""
    rng = random.Random(seed)
    now = (now or clock.now()).astimezone(timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days - 1)
    sim = Simulation()
    for version, ago in RELEASES:
        if ago < days:
            at = today - timedelta(days=ago) + timedelta(hours=9, minutes=30)
            sim.releases.append({"version": version, "sha": _sha(rng), "recorded_at": at})
    release_times = [(r["recorded_at"], r["version"]) for r in sim.releases]
    broken_at = next((r["recorded_at"] for r in sim.releases if r["version"] == "v1.4.0"), None)
    # most users are there from the start; the rest sign up over the period
    n = len(user_ids)
    joined = {uid: (0 if i < int(n * 0.85) else rng.randrange(0, max(1, days - 3))) for i, uid in enumerate(user_ids)}
    pools = {name: set(rng.sample(user_ids, min(s.pool, n))) for name, s in features.items() if s.pool}
    for d in range(days):
        day = start + timedelta(days=d)
        t = d / max(1, days - 1)
        weekend = day.weekday() >= 5
        for uid in user_ids:
            if joined[uid] > d or rng.random() > (0.22 if weekend else 0.62):
                continue
            for name, s in features.items():
                if s.pool and uid not in pools[name]:
                    continue
                share = s.share * (1 - t) ** s.decay if s.decay else s.share + s.growth * t
                if name == DYING and d >= days - 14:
                    # one user keeps calling it now and then: "deprecated but still used"
                    share = 0.35 if uid == min(pools[name]) else 0.0
                if rng.random() > share:
                    continue
                for _ in range(rng.randint(*s.calls)):
                    at = day + timedelta(seconds=rng.randrange(7 * 3600, 19 * 3600))
                    if at > now:
                        continue
                    broken = name == BROKEN and broken_at is not None and at >= broken_at
                    rate = 0.18 if broken else s.error_rate
                    ms = rng.lognormvariate(math.log(s.median_ms * (3.0 if broken else 1.0)), 0.45)
                    if rng.random() < rate:
                        status = 500
                    elif rng.random() < 0.02:
                        status = 422
                    else:
                        status = 200
                    release = ""
                    for rt, v in release_times:
                        if rt <= at:
                            release = v
                    sim.events.append(
                        {
                            "at": at,
                            "feature": name,
                            "operation": rng.choice(s.operations),
                            "interface": "graphql" if rng.random() < 0.15 else "rest",
                            "user_id": uid,
                            "status": status,
                            "duration_ms": round(ms, 3),
                            "release": release,
                        }
                    )
    sim.events.sort(key=lambda e: e["at"])
    return sim


def deploy_history(owners: dict[str, str], *, days: int = 30, now: datetime | None = None, seed: int = 7) -> list[dict[str, Any]]:
    """The deployments of :data:`DEPLOYS` within ``days`` days: id, version, sha, status,
    start and finish, rollback, and 1 to 4 commits per forward deploy (made 2 hours to 3
    days before it, by the owners of the features they touch). Deterministic per seed."""
    from ..delivery.records import Commit

    rng = random.Random(seed + 1)
    now = (now or clock.now()).astimezone(timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for n, (version, ago, minute, status, touched, rollback) in enumerate(DEPLOYS, 1):
        finished = today - timedelta(days=ago) + timedelta(minutes=minute)
        if ago >= days or finished > now:
            continue
        touched = tuple(f for f in touched if f in owners)
        commits = []
        for i in range(0 if rollback else rng.randint(1, 4)):
            f = touched[i % len(touched)] if touched else ""
            at = finished - timedelta(minutes=rng.randrange(120, 3 * 24 * 60))
            commits.append(Commit(sha=_sha(rng), committed_at=at, author=owners.get(f, "lead@teamboard.dev"),
                                  files=(f"teamboard/features/{f}/__init__.py",) if f else (), features=(f,) if f else ()))
        out.append({
            "id": f"production-{n:03d}-{version}", "version": version, "sha": _sha(rng), "status": status,
            "started_at": finished - timedelta(minutes=DEPLOY_MINUTES), "finished_at": finished,
            "rollback": rollback, "features": touched, "commits": commits,
        })
    return out


async def ensure_users(app: App, count: int = 100, domain: str = "teamboard.dev") -> list[int]:
    """The ids of ``count`` users: the existing ones, plus ``user001@<domain>``… (no login:
    their password hash is unusable, so no time is spent hashing). When the app declares a
    ``workspace`` scope and a workspace exists, each new user is a member of the first one
    with their role (teamboard's tenants: a user outside every workspace would see nothing)."""
    from sqlalchemy import select, text

    from ..auth.memberships import Membership
    from ..auth.models import User

    async with app.database.session() as s:
        ids = list((await s.execute(select(User.id).order_by(User.id))).scalars())
        workspace = None
        if "workspace" in app.scopes:
            workspace = (await s.execute(text("SELECT min(id) FROM workspaces"))).scalar()
        i = 0
        while len(ids) < count:
            i += 1
            email = f"user{i:03d}@{domain}"
            if (await s.execute(select(User.id).where(User.email == email))).first() is not None:
                continue
            role = "member" if i % 3 else "viewer"
            user = User(email=email, name=f"Demo User {i}", password_hash="!", roles=role)
            s.add(user)
            await s.flush()
            if workspace is not None:
                s.add(Membership(user_id=user.id, scope="workspace", scope_id=str(workspace), role=role))
            ids.append(user.id)
        await s.commit()
    return ids[:count]


async def simulate(app: App, days: int = 30, *, users: int = 100, seed: int = 7, now: datetime | None = None) -> dict[str, Any]:
    """Fill the app's usage tables with ``days`` days of traffic; returns a summary."""
    try:
        from ..usage import queries
    except ImportError:
        raise ConfigurationError("the usage subsystem (hyperdeliver.usage) is not installed: nothing to simulate into") from None

    now = now or clock.now()
    user_ids = await ensure_users(app, users)
    features = {k: v for k, v in FEATURES.items() if k in app.features}
    sim = generate(features, user_ids=user_ids, days=days, now=now, seed=seed)
    await queries.ingest(app, sim.events)  # raw rows and rollups
    for r in sim.releases:
        await queries.record_release(app, r["version"], r["sha"], recorded_at=r["recorded_at"])
    shas = {r["version"]: r["sha"] for r in sim.releases}
    history = deploy_history({k: f.owner for k, f in app.features.items()}, days=days, now=now, seed=seed)
    from ..delivery.store import record_deployment

    for d in history:
        sha = shas.get(d["version"], d["sha"])
        common = {"version": d["version"], "sha": sha, "environment": "production", "id": d["id"], "rollback": d["rollback"]}
        await record_deployment(app, status="started", at=d["started_at"], commits=d["commits"], features=d["features"], **common)
        await record_deployment(app, status=d["status"], at=d["finished_at"], **common)
    store = app.lifecycle
    sunset = (now + timedelta(days=30)).date()
    if store is not None and DYING in app.features:
        await store.set_lifecycle(
            DYING, "deprecated", sunset=sunset, link="https://teamboard.dev/docs/exports", by="hyper demo --simulate"
        )
    return {
        "events": len(sim.events),
        "users": len(user_ids),
        "days": days,
        "releases": [r["version"] for r in sim.releases],
        "deployments": len(history),
        "failed": sum(d["status"] == "failed" for d in history),
        "rollbacks": sum(d["rollback"] for d in history),
        "deprecated": DYING if DYING in app.features else None,
        "sunset": sunset.isoformat(),
    }
