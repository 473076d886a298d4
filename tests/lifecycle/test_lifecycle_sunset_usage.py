"""Sunset candidates from recorded usage (the usage subsystem's ingest and rollups), on
SQLite and PostgreSQL: each rule fires for the feature built for it, and only for it."""

from __future__ import annotations

import re

from datetime import datetime, timedelta, timezone
from typing import Any

from hyperdeliver import App
from hyperdeliver.demo.simulate import ensure_users
from hyperdeliver.lifecycle.sunset import sunset_candidates


def ev(at: datetime, feature: str, operation: str, user_id: int, status: int = 200) -> dict[str, Any]:
    return {"at": at, "feature": feature, "operation": operation, "interface": "rest", "user_id": user_id, "status": status, "duration_ms": 12.0}


async def test_sunset_candidates_from_usage(teamboard: App) -> None:
    from hyperdeliver.usage import queries

    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    users = await ensure_users(teamboard, 100)
    events: list[dict[str, Any]] = []
    for day in range(1, 27):
        at = now - timedelta(days=day, hours=1)
        for uid in users:  # everyone is active: 100 active users
            if (uid + day) % 3 == 0:
                events.append(ev(at, "projects", "list_projects", uid))
        for uid in users[:60]:  # healthy and steady
            if (uid + day) % 2 == 0:
                events.append(ev(at, "tasks", "list_tasks", uid))
        if day >= 15:  # dying: three users in the earlier half…
            events += [ev(at, "legacy_export", "export_tasks_csv", uid) for uid in users[:3]]
        elif day % 4 == 0:  # …one in the recent half
            events.append(ev(at, "legacy_export", "export_tasks_csv", users[0]))
        if day >= 20:  # nobody for 19 days
            events.append(ev(at, "comments", "list_comments", users[5]))
        if day <= 5:  # still used, and about to be deprecated
            events += [ev(at, "workspaces", "list_workspaces", uid) for uid in users[10:20]]
    await queries.ingest(teamboard, events)
    await teamboard.state["lifecycle"].set_lifecycle("workspaces", "deprecated", sunset="2027-03-01", by="test")

    found = {c.feature: c for c in await sunset_candidates(teamboard)}
    assert set(found) == {"legacy_export", "comments", "workspaces"}, {k: [r.text for r in c.reasons] for k, c in found.items()}
    assert [r.rule for r in found["legacy_export"].reasons] == ["low_adoption"]
    # 3 of 100 active users (the active-user count is a HyperLogLog estimate beyond 64 users)
    assert re.match(r"adoption (2\.[6-9]|3\.[0-4])% of active users over 28 days, falling", found["legacy_export"].reasons[0].text)
    assert [u["user_id"] for u in found["legacy_export"].users] == [users[0]]
    assert [r.rule for r in found["comments"].reasons] == ["low_adoption", "unused"] and found["comments"].users == []
    assert [r.rule for r in found["workspaces"].reasons] == ["deprecated_in_use"]
    assert "sunset 2027-03-01" in found["workspaces"].reasons[0].text
    assert sorted(u["user_id"] for u in found["workspaces"].users) == sorted(users[10:20])
    assert all(u["email"] for u in found["workspaces"].users)
