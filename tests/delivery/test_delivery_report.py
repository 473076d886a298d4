"""The delivery report on a real database: deployments recorded through the store, usage
events whose error rates a release raised, and the four keys worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hyperdeliver import App
from hyperdeliver.delivery.records import Commit
from hyperdeliver.delivery.report import delivery_report
from hyperdeliver.delivery.store import DeploymentError, deployments, record_deployment
from hyperdeliver.usage.queries import ingest


def calls(feature: str, since: datetime, until: datetime, errors_every: int | None) -> list[dict]:
    """Two calls an hour; every ``errors_every``-th a 500."""
    out, t, n = [], since, 0
    while t < until:
        for _ in range(2):
            n += 1
            status = 500 if errors_every and n % errors_every == 0 else 200
            out.append({"at": t, "feature": feature, "operation": "list_comments" if feature == "comments" else "list_tasks",
                        "interface": "rest", "user_id": 1, "status": status, "duration_ms": 5.0, "release": ""})
        t += timedelta(hours=1)
    return out


async def test_a_release_that_raised_errors_counts_as_a_failed_change(shipping: App) -> None:
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    v1, v2, v3 = now - timedelta(days=6), now - timedelta(days=3), now - timedelta(days=1)
    # comments: no errors until v2, one call in 4 failing from v2 to v3 (a 25-point rise), none after
    events = calls("tasks", now - timedelta(days=13), now, None)
    events += calls("comments", now - timedelta(days=13), v2, None) + calls("comments", v2, v3, 4) + calls("comments", v3, now, None)
    await ingest(shipping, events)
    c = lambda sha, at, f: Commit(sha, at, author="dev@teamboard.dev", features=(f,))  # noqa: E731
    await record_deployment(shipping, version="1.0", id="d1", status="succeeded", at=v1, commits=[c("aaaa01", v1 - timedelta(hours=3), "tasks")])
    await record_deployment(shipping, version="1.1", id="d2", status="started", at=v2 - timedelta(minutes=10),
                            commits=[c("aaaa02", v2 - timedelta(hours=5), "comments")])
    await record_deployment(shipping, version="1.1", id="d2", status="succeeded", at=v2)
    await record_deployment(shipping, version="1.2", id="d3", status="succeeded", at=v3, commits=[c("aaaa03", v3 - timedelta(hours=1), "comments")])

    report = await delivery_report(shipping, now=now + timedelta(minutes=1))
    assert report["regressions"] == {"d2": {"comments"}}
    week = report["windows"]["7"]
    p = week["product"]
    # 3 deploys live in 7 days; 1 of 3 failed (d2 raised comments' errors)
    assert p.deployments == 3 and p.change_failure_rate == pytest.approx(1 / 3) and p.failures == 1
    assert p.lead_time_hours == pytest.approx(3.0)  # leads 3, 5 and 1 h -> 3
    assert p.time_to_restore_hours == pytest.approx(48.0)  # d2 (v2) -> d3 (v3)
    assert p.bands["time_to_restore"] == "medium" and p.bands["change_failure_rate"] == "low"
    comments = week["features"]["comments"]
    assert (comments.deployments, comments.failures, comments.lead_time_hours) == (2, 1, pytest.approx(3.0))
    tasks = week["features"]["tasks"]
    assert (tasks.deployments, tasks.failures, tasks.change_failure_rate) == (1, 0, 0.0)
    owner = shipping.features["comments"].owner
    assert week["owners"][owner] == comments
    d2 = next(d for d in await deployments(shipping) if d.id == "d2")
    assert d2.previous_id == "d1" and d2.started_at == v2 - timedelta(minutes=10) and d2.finished_at == v2


async def test_a_rollback_marks_the_deploy_it_undid(shipping: App) -> None:
    t0 = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    await record_deployment(shipping, version="2.0", id="a", at=t0)
    await record_deployment(shipping, version="2.1", id="b", at=t0 + timedelta(hours=1))
    await record_deployment(shipping, version="2.0", id="rb", rollback=True, status="started", at=t0 + timedelta(hours=2))
    assert [d.status for d in await deployments(shipping)] == ["succeeded", "succeeded", "started"]
    await record_deployment(shipping, version="2.0", id="rb", rollback=True, status="succeeded", at=t0 + timedelta(hours=2, minutes=5))
    assert [(d.id, d.status, d.previous_id) for d in await deployments(shipping)] == [
        ("a", "succeeded", None), ("b", "rolled_back", "a"), ("rb", "succeeded", "b")]
    from hyperdeliver.usage.queries import releases

    marks = {r["version"]: r["recorded_at"] for r in await releases(shipping)}
    assert marks == {"2.0": t0, "2.1": t0 + timedelta(hours=1)}  # the rollback left 2.0's marker where it was
    with pytest.raises(DeploymentError, match="cannot become started"):
        await record_deployment(shipping, version="2.1", id="b", status="started")
    with pytest.raises(DeploymentError, match="bad status"):
        await record_deployment(shipping, version="2.2", status="done")
