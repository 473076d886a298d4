"""``hyper worker / cron / jobs``: real subprocesses, one-line errors, non-zero exits."""

from __future__ import annotations

import json

from hyper_cli import assert_one_line_error as one_line_error
from hyper_cli import hyper
from jobhelpers import rows, worker_env
from jobsapp import flaky, noop


async def test_worker_and_jobs_commands(make_app, sqlite_url: str) -> None:
    app = await make_app(sqlite_url)
    env = worker_env(sqlite_url)
    ok = await app.jobs.enqueue(None, noop, n=1)
    bad = await app.jobs.enqueue(None, flaky)
    await app.database.dispose()

    run = hyper("worker", "--burst", "--concurrency", "2", env=env)
    assert run.returncode == 0, run.stderr
    listed = hyper("jobs", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["counts"] == {"done": 1, "failed": 1}
    assert {j["id"]: j["status"] for j in data["jobs"]} == {ok: "done", bad: "failed"}

    shown = hyper("jobs", "show", str(bad), env=env)
    assert shown.returncode == 0
    detail = json.loads(shown.stdout)
    assert detail["task"] == "jobtest.flaky" and "flaky failed on purpose" in detail["last_error"]

    one_line_error(hyper("jobs", "show", "999", env=env), "hyper: no job 999")
    one_line_error(hyper("jobs", "retry", str(ok), env=env), "only dead or failed jobs can be retried")
    assert hyper("jobs", "retry", str(bad), env=env).returncode == 0
    assert await rows(app, "SELECT status, attempts FROM hd_jobs WHERE id = :id", id=bad) == [("queued", 0)]

    one_line_error(hyper("jobs", "purge", "--older-than", "soon", env=env), "use a number and a unit")
    purged = hyper("jobs", "purge", "--older-than", "0s", env=env)
    assert purged.returncode == 0 and "deleted 1 done job(s)" in purged.stdout, purged.stdout
    assert await rows(app, "SELECT id FROM hd_jobs") == [(bad,)]
    one_line_error(hyper("jobs", "list", "--status", "lost", env=env), "use one of queued, running, done, failed, dead")
    one_line_error(hyper("worker", "--concurrency", "0", env=env), "--concurrency must be at least 1")


async def test_cron_commands(make_app, sqlite_url: str) -> None:
    app = await make_app(sqlite_url)
    env = worker_env(sqlite_url)
    await app.database.dispose()
    listed = hyper("cron", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    # framework crons (hd_usage.purge_usage_events) are listed too; this test is about the app's
    assert {c["name"]: c["schedule"] for c in json.loads(listed.stdout) if not c["name"].startswith("hd_")} == {
        "jobtest.daily": "0 7 * * *",
        "jobtest.every_second": "* * * * * *",
    }
    first = hyper("cron", "run", "daily", env=env)
    assert first.returncode == 0, first.stderr
    assert "jobtest.daily" in first.stdout and ": done" in first.stdout
    again = hyper("cron", "run", "jobtest.daily", env=env)  # e.g. a CronJob that fired twice
    assert again.returncode == 0 and "already ran" in again.stdout, again.stdout
    assert await rows(app, "SELECT task, status FROM hd_jobs") == [("jobtest.daily", "done")]
    one_line_error(hyper("cron", "run", "weekly", env=env), "no cron 'weekly'")
    one_line_error(hyper("cron", "run", "noop", env=env), "jobtest.noop is a task, not a cron")


def test_unmigrated_database_is_one_line(tmp_path) -> None:
    env = worker_env(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    one_line_error(hyper("worker", env=env), "run 'hyper db upgrade' first")
    one_line_error(hyper("jobs", "list", env=env), "run 'hyper db upgrade' first")
