"""``run_jobs`` and ``run_cron``: jobs and crons run in the test, through the worker's path."""

from __future__ import annotations

from typing import Any

import pytest

from hyperdeliver import App
from hyperdeliver.testing import JobFailed, JobRun, TestClient, TestClock


async def _project_with_task(client: TestClient, login_as, **task: Any) -> dict[str, Any]:
    await login_as("admin")
    ws = (await client.post("/workspaces", json={"name": "Acme"})).json()
    if task.get("assignee_id") is not None:
        await client.app.memberships.grant(task["assignee_id"], "workspace", ws["id"], "member")  # a task goes to a member
    project = (await client.post(f"/workspaces/{ws['id']}/projects", json={"name": "Launch"})).json()
    r = await client.post(f"/projects/{project['id']}/tasks", json={"title": "Ship it", **task})
    assert r.status_code == 201, r.text
    return r.json()


async def test_run_jobs_runs_what_a_request_enqueued(client: TestClient, login_as, make_user, run_jobs) -> None:
    ada = await make_user("member", name="Ada")
    task = await _project_with_task(client, login_as, assignee_id=ada.id)
    ran = await run_jobs()
    assert ran == [
        JobRun(ran[0].job_id, "tasks.notify_assignee", {"task_id": task["id"], "assignee_id": ada.id}, True, "done")
    ]
    comments = (await client.get(f"/tasks/{task['id']}/comments")).json()
    assert [c["body"] for c in comments] == ["@Ada: this task is now yours."]
    assert await run_jobs() == []  # nothing left


async def test_a_failing_job_raises_with_its_own_exception(app: App, run_jobs, monkeypatch: pytest.MonkeyPatch) -> None:
    task = app.jobs.task("tasks.notify_assignee")

    async def broken(ctx: Any, task_id: int, assignee_id: int) -> None:
        raise RuntimeError("mail server down")

    monkeypatch.setattr(task, "fn", broken)
    await app.jobs.enqueue(None, task, task_id=7, assignee_id=8)
    with pytest.raises(JobFailed, match=r"job \d+ tasks.notify_assignee\(task_id=7, assignee_id=8\) failed: RuntimeError: mail server down") as info:
        await run_jobs()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.run.status == "failed"  # retries=5: the next attempt is due later


async def test_raise_errors_false_returns_the_failures_and_retries_follow_the_clock(
    app: App, run_jobs, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = app.jobs.task("tasks.notify_assignee")  # retries=5, backoff=10 s
    attempts: list[int] = []

    async def flaky(ctx: Any, task_id: int, assignee_id: int) -> None:
        attempts.append(task_id)
        if len(attempts) < 3:
            raise ValueError(f"attempt {len(attempts)}")

    monkeypatch.setattr(task, "fn", flaky)
    await app.jobs.enqueue(None, task, task_id=1, assignee_id=1)
    [first] = await run_jobs(raise_errors=False)
    assert (first.ok, first.status, first.error) == (False, "failed", "ValueError: attempt 1")
    assert isinstance(first.exception, ValueError)
    assert await run_jobs() == []  # the retry waits about 10 s
    clock.travel(seconds=15)
    [second] = await run_jobs(raise_errors=False)
    assert second.error == "ValueError: attempt 2"
    clock.travel(seconds=30)
    [third] = await run_jobs()
    assert (third.ok, third.status, len(attempts)) == (True, "done", 3)


async def test_a_deferred_job_is_due_once_the_clock_gets_there(app: App, run_jobs, clock: TestClock) -> None:
    task = app.jobs.task("tasks.notify_assignee")
    await app.jobs.enqueue(None, task.defer(delay=3600), task_id=1, assignee_id=1)
    assert await run_jobs() == []
    clock.travel(minutes=61)
    assert [j.task for j in await run_jobs()] == ["tasks.notify_assignee"]


async def test_run_cron_runs_the_schedule_time_the_clock_is_at(
    client: TestClient, login_as, make_user, run_cron, run_jobs, clock: TestClock, usage
) -> None:
    ada = await make_user("member")
    await _project_with_task(client, login_as, assignee_id=ada.id)
    await run_jobs()
    clock.travel(days=8)  # the task is a week old: stale
    clock.freeze(clock.now().replace(hour=7, minute=0, second=5, microsecond=0))
    run = await run_cron("tasks.stale_tasks_digest")
    assert run is not None and run.ok and run.task == "tasks.stale_tasks_digest"
    [event] = await usage.events("stale_tasks_digest")
    assert event.props == {"assignees": 1, "tasks": 1} and event.ts.date() == clock.now().date()
    assert await run_cron("stale_tasks_digest") is None  # 07:00 of that day ran already
    assert (await run_cron("stale_tasks_digest", force=True)).ok  # type: ignore[union-attr]
    clock.travel(days=1)
    assert await run_cron("stale_tasks_digest") is not None  # the next day's 07:00


async def test_run_cron_refuses_a_task_or_an_unknown_name(run_cron) -> None:
    with pytest.raises(LookupError, match="tasks.notify_assignee is a task, not a cron"):
        await run_cron("tasks.notify_assignee")
    with pytest.raises(LookupError, match=r"no cron 'nightly' \(crons: hd_usage.purge_usage_events, tasks.stale_tasks_digest\)"):
        await run_cron("nightly")
