"""DORA's four keys on a hand-built deploy history, every figure worked out by hand below."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hyperdeliver.delivery.dora import (
    breakdown,
    compute,
    failure_rate_band,
    frequency_band,
    lead_time_band,
    regressed,
    restore_band,
)
from hyperdeliver.delivery.records import Commit, Deployment

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc)


def dep(id_: str, status: str, day: int, hour: int, features: tuple[str, ...] = (), commits: tuple[Commit, ...] = (), rollback: bool = False) -> Deployment:
    return Deployment(id_, f"v-{id_}", "production", status, at(day, hour), None if status == "started" else at(day, hour),
                      features=features, commits=commits, rollback=rollback)


def c(sha: str, day: int, hour: int, feature: str) -> Commit:
    return Commit(sha, at(day, hour), features=(feature,))


HISTORY = [
    dep("a", "succeeded", 20, 10, ("tasks",), (c("c0", 19, 10, "tasks"),)),                              # lead 24 h (28 d only)
    dep("b", "succeeded", 25, 12, ("tasks",), (c("c1", 25, 10, "tasks"), c("c2", 24, 12, "tasks"))),     # leads 2 h, 24 h
    dep("c", "failed", 26, 9, ("comments",), (c("c3", 26, 8, "comments"),)),                             # failed: c3 not live
    dep("d", "succeeded", 26, 15, ("comments",), (c("c3", 26, 8, "comments"), c("c4", 26, 14, "comments"))),  # leads 7 h, 1 h
    dep("e", "succeeded", 28, 9, ("tasks",), (c("c5", 27, 9, "tasks"),)),                                # lead 24 h; regressed tasks
    dep("f", "rolled_back", 29, 10, ("comments",), (c("c6", 29, 6, "comments"),)),                       # lead 4 h; rolled back
    dep("g", "succeeded", 29, 11, rollback=True),                                                         # the rollback
    dep("h", "started", 30, 20, ("tasks",)),                                                              # still under way
]
REGRESSIONS = {"e": {"tasks"}}


def test_the_product_over_7_days() -> None:
    f = compute(HISTORY, now=NOW, days=7, regressions=REGRESSIONS)
    # live forward deploys since Nov 24: b, d, e, f (g is a rollback, c failed, h runs)
    assert f.deployments == 4 and f.deploys_per_day == pytest.approx(4 / 7)
    # finished: b c d e f; failed: c (failed), e (raised tasks' errors), f (rolled back)
    assert (f.finished, f.failures) == (5, 3) and f.change_failure_rate == pytest.approx(0.6)
    # leads 2, 24, 7, 1, 24, 4 h (c3 counts once, at d) -> median of 1 2 4 7 24 24 = 5.5
    assert f.commits == 6 and f.lead_time_hours == pytest.approx(5.5)
    # c -> d 6 h; e -> g 26 h (f was rolled back: no restore); f -> g 1 h -> median 6
    assert f.time_to_restore_hours == pytest.approx(6.0) and f.open_failures == 0
    assert f.bands == {"deployment_frequency": "high", "lead_time": "elite", "change_failure_rate": "low", "time_to_restore": "high"}


def test_the_product_over_28_days_adds_the_older_deploy() -> None:
    f = compute(HISTORY, now=NOW, days=28, regressions=REGRESSIONS)
    assert f.deployments == 5 and f.deploys_per_day == pytest.approx(5 / 28)
    assert f.change_failure_rate == pytest.approx(3 / 6)
    assert f.lead_time_hours == pytest.approx(7.0)  # 1 2 4 [7] 24 24 24


def test_per_feature_and_per_owner() -> None:
    out = breakdown(HISTORY, now=NOW, owners={"tasks": "carol", "comments": "dan", "projects": "carol"}, windows=(7,), regressions=REGRESSIONS)["7"]
    tasks = out["features"]["tasks"]
    # b and e; e raised tasks' errors; leads 2, 24, 24 -> 24 (high: not under a day); e -> g 26 h
    assert (tasks.deployments, tasks.finished, tasks.failures) == (2, 2, 1)
    assert tasks.lead_time_hours == pytest.approx(24.0) and tasks.bands["lead_time"] == "high"
    assert tasks.time_to_restore_hours == pytest.approx(26.0)
    comments = out["features"]["comments"]
    # c, d, f: c failed, f rolled back; leads 7, 1, 4 -> 4; restores 6 h and 1 h -> 3.5
    assert (comments.deployments, comments.finished, comments.failures) == (2, 3, 2)
    assert comments.lead_time_hours == pytest.approx(4.0) and comments.time_to_restore_hours == pytest.approx(3.5)
    projects = out["features"]["projects"]
    assert projects.deployments == 0 and projects.change_failure_rate is None and projects.bands["lead_time"] is None
    assert out["owners"]["carol"] == tasks and out["owners"]["dan"] == comments


def test_an_unrestored_failure_is_open() -> None:
    f = compute([*HISTORY, dep("i", "failed", 30, 12, ("tasks",))], now=NOW, days=7, regressions=REGRESSIONS)
    assert f.open_failures == 1 and f.failures == 4 and f.time_to_restore_hours == pytest.approx(6.0)


def test_band_edges() -> None:
    assert [frequency_band(x) for x in (2.0, 1.0, 0.5, 1 / 7, 0.1, 1 / 30, 0.01)] == ["elite", "elite", "high", "high", "medium", "medium", "low"]
    assert [lead_time_band(h) for h in (0.5, 23.9, 24.0, 168.0, 168.5, 720.0, 721.0)] == ["elite", "elite", "high", "high", "medium", "medium", "low"]
    assert [failure_rate_band(r) for r in (0.0, 0.05, 0.06, 0.10, 0.15, 0.16)] == ["elite", "elite", "high", "high", "medium", "low"]
    assert [restore_band(h) for h in (0.9, 1.0, 23.9, 24.0, 168.0, 169.0)] == ["elite", "high", "high", "medium", "medium", "low"]
    assert lead_time_band(None) is None and frequency_band(None) is None


def test_regressions_need_a_baseline_and_a_rise_of_five_points() -> None:
    rows = [
        {"feature": "up", "calls_before": 100, "calls_after": 100, "error_rate_before": 0.01, "error_rate_after": 0.06},
        {"feature": "noise", "calls_before": 100, "calls_after": 100, "error_rate_before": 0.01, "error_rate_after": 0.059},
        {"feature": "new", "calls_before": 0, "calls_after": 100, "error_rate_before": 0.0, "error_rate_after": 0.5},
        {"feature": "quiet", "calls_before": 100, "calls_after": 19, "error_rate_before": 0.0, "error_rate_after": 0.5},
    ]
    assert regressed(rows) == {"up"}
