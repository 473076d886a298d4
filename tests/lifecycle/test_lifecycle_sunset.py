"""Sunset rules: each fires on data built for it, and not on data just on the other side."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from hyperdeliver.lifecycle.states import FeatureState
from hyperdeliver.lifecycle.sunset import SunsetRules, evaluate

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


def row(feature: str = "f", **kw: Any) -> dict[str, Any]:
    base = {
        "feature": feature,
        "owner": "o@example.com",
        "users": 40,
        "adoption": 0.40,
        "calls": 1000,
        "trend": 0.0,
        "weekly_users": [10, 10, 10, 10],
        "last_used": NOW - timedelta(hours=1),
    }
    return {**base, **kw}


def rules_fired(rows: list[dict[str, Any]], states: dict[str, FeatureState] | None = None, **kw: Any) -> dict[str, list[str]]:
    return {c.feature: [r.rule for r in c.reasons] for c in evaluate(rows, states or {}, SunsetRules(**kw), now=NOW)}


def test_a_healthy_feature_is_no_candidate() -> None:
    assert rules_fired([row()]) == {}


def test_low_adoption_needs_both_low_and_falling() -> None:
    assert rules_fired([row(adoption=0.03, trend=-0.4)]) == {"f": ["low_adoption"]}
    assert rules_fired([row(adoption=0.03, trend=None, weekly_users=[0, 0, 6, 4, 3, 2])]) == {"f": ["low_adoption"]}
    assert rules_fired([row(adoption=0.03, trend=None, weekly_users=[0, 0, 2, 3])]) == {}
    assert rules_fired([row(adoption=0.03, trend=0.2, weekly_users=[2, 3, 3, 4])]) == {}  # low but growing
    assert rules_fired([row(adoption=0.03, trend=-0.05)]) == {}  # a small dip is not falling
    assert rules_fired([row(adoption=0.06, trend=-0.6)]) == {}  # falling but above 5 %
    # configurable
    assert rules_fired([row(adoption=0.06, trend=-0.6)], adoption_below=0.10) == {"f": ["low_adoption"]}


def test_unused_fires_after_14_idle_days() -> None:
    assert rules_fired([row(last_used=NOW - timedelta(days=15))]) == {"f": ["unused"]}
    assert rules_fired([row(last_used=(NOW - timedelta(days=20)).isoformat())]) == {"f": ["unused"]}
    assert rules_fired([row(last_used=None, users=0, calls=0)]) == {"f": ["unused"]}
    assert rules_fired([row(last_used=NOW - timedelta(days=13))]) == {}
    assert rules_fired([row(last_used=NOW - timedelta(days=13))], idle_days=7) == {"f": ["unused"]}


def test_deprecated_but_still_used() -> None:
    dep = {"f": FeatureState("f", "deprecated", sunset=date(2027, 3, 1))}
    [c] = evaluate([row(users=12)], dep, now=NOW)
    assert [r.rule for r in c.reasons] == ["deprecated_in_use"]
    assert "sunset 2027-03-01" in c.reasons[0].text and "12 users" in c.reasons[0].text
    # deprecated and nobody calls it any more: ready to remove, flagged as unused instead
    assert rules_fired([row(last_used=NOW - timedelta(days=30))], dep) == {"f": ["unused"]}
    assert rules_fired([row()], {"f": FeatureState("f", "active")}) == {}


def test_scores_order_and_exclusions() -> None:
    rows = [
        row("dying", adoption=0.01, trend=-0.7, last_used=NOW - timedelta(days=16)),
        row("quiet", last_used=NOW - timedelta(days=20)),
        row("fine"),
        row("auth", last_used=None),  # built in: never a candidate
        row("gone", last_used=None),  # already removed
    ]
    found = evaluate(rows, {"gone": FeatureState("gone", "removed")}, now=NOW)
    assert [(c.feature, c.score) for c in found] == [("dying", 80), ("quiet", 40)]
    assert found[0].as_dict()["reasons"][0]["text"].startswith("adoption 1.0% of active users over 28 days, falling")
