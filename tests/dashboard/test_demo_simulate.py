"""The demo's synthetic traffic tells the intended story (pure generator, no database)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from hyperdeliver.demo.simulate import FEATURES, generate, parse_period

NOW = datetime(2026, 11, 25, 16, tzinfo=timezone.utc)


def weekly_users(events: list[dict], feature: str, days: int) -> list[int]:
    start = (NOW - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    weeks: dict[int, set[int]] = defaultdict(set)
    for e in events:
        if e["feature"] == feature:
            weeks[(e["at"] - start).days // 7].add(e["user_id"])
    return [len(weeks[w]) for w in range(4)]


def test_the_story() -> None:
    sim = generate(FEATURES, user_ids=list(range(1, 101)), days=30, now=NOW)
    assert sim == generate(FEATURES, user_ids=list(range(1, 101)), days=30, now=NOW)  # deterministic
    ev = sim.events
    assert all(e["at"] <= NOW for e in ev) and {e["feature"] for e in ev} == set(FEATURES)
    # growing, flat, dying
    tasks = weekly_users(ev, "tasks", 30)
    assert tasks[3] > tasks[0] * 1.3, tasks
    projects = weekly_users(ev, "projects", 30)
    assert 0.7 < projects[3] / projects[0] < 1.5, projects
    legacy = [e for e in ev if e["feature"] == "legacy_export"]
    assert len({e["user_id"] for e in legacy}) <= 4
    assert weekly_users(ev, "legacy_export", 30)[0] > weekly_users(ev, "legacy_export", 30)[3]
    assert any(e["at"] > NOW - timedelta(days=14) for e in legacy)  # still used by somebody
    # the v1.4.0 release (10 days ago) breaks comments
    v14 = next(r for r in sim.releases if r["version"] == "v1.4.0")["recorded_at"]
    assert v14.date() == (NOW - timedelta(days=10)).date()

    def error_rate(before: bool) -> float:
        sel = [e for e in ev if e["feature"] == "comments" and (e["at"] < v14) == before]
        return sum(e["status"] >= 500 for e in sel) / len(sel)

    assert error_rate(True) < 0.04 and error_rate(False) > 0.10
    assert {e["release"] for e in ev if e["at"] >= v14} == {"v1.4.0"}


def test_parse_period() -> None:
    assert parse_period("30d") == 30 and parse_period("4w") == 28 and parse_period("7") == 7
    for bad in ("", "0d", "30x", "-3d", "999d"):
        with pytest.raises(ValueError):
            parse_period(bad)
