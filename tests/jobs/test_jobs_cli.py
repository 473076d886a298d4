"""``hyper worker / cron / jobs``: real subprocesses, one-line errors, non-zero exits."""

from __future__ import annotations

import json
import subprocess

from jobhelpers import HYPER, rows, worker_env
from jobsapp import flaky, noop


def hyper(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HYPER, *args], env=env, capture_output=True, text=True, timeout=60)


def one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr


async def test_worker_and_jobs_commands(make_app, sqlite_url: str) -> None:
    app = await make_app(sqlite_url)
    env = worker_env(sqlite_url)
    ok = await app.jobs.enqueue(None, noop, n=1)
    bad = await app.jobs.enqueue(None, flaky)
    await app.database.dispose()

    run = hyper(env, "worker", "--burst", "--concurrency", "2")
    assert run.returncode == 0, run.stderr
    listed = hyper(env, "jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["counts"] == {"done": 1, "failed": 1}
    assert {j["id"]: j["status"] for j in data["jobs"]} == {ok: "done", bad: "failed"}

    shown = hyper(env, "jobs", "show", str(bad))
    assert shown.returncode == 0
    detail = json.loads(shown.stdout)
    assert detail["task"] == "jobtest.flaky" and "flaky failed on purpose" in detail["last_error"]

    one_line_error(hyper(env, "jobs", "show", "999"), "hyper: no job 999")
    one_line_error(hyper(env, "jobs", "retry", str(ok)), "only dead or failed jobs can be retried")
    assert hyper(env, "jobs", "retry", str(bad)).returncode == 0
    assert await rows(app, "SELECT status, attempts FROM hd_jobs WHERE id = :id", id=bad) == [("queued", 0)]

    one_line_error(hyper(env, "jobs", "purge", "--older-than", "soon"), "use a number and a unit")
    purged = hyper(env, "jobs", "purge", "--older-than", "0s")
    assert purged.returncode == 0 and "deleted 1 done job(s)" in purged.stdout, purged.stdout
    assert await rows(app, "SELECT id FROM hd_jobs") == [(bad,)]
    one_line_error(hyper(env, "jobs", "list", "--status", "lost"), "use one of queued, running, done, failed, dead")
    one_line_error(hyper(env, "worker", "--concurrency", "0"), "--concurrency must be at least 1")


async def test_cron_commands(make_app, sqlite_url: str) -> None:
    app = await make_app(sqlite_url)
    env = worker_env(sqlite_url)
    await app.database.dispose()
    listed = hyper(env, "cron", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    # framework crons (hd_usage.purge_usage_events) are listed too; this test is about the app's
    assert {c["name"]: c["schedule"] for c in json.loads(listed.stdout) if not c["name"].startswith("hd_")} == {
        "jobtest.daily": "0 7 * * *",
        "jobtest.every_second": "* * * * * *",
    }
    first = hyper(env, "cron", "run", "daily")
    assert first.returncode == 0, first.stderr
    assert "jobtest.daily" in first.stdout and ": done" in first.stdout
    again = hyper(env, "cron", "run", "jobtest.daily")  # e.g. a CronJob that fired twice
    assert again.returncode == 0 and "already ran" in again.stdout, again.stdout
    assert await rows(app, "SELECT task, status FROM hd_jobs") == [("jobtest.daily", "done")]
    one_line_error(hyper(env, "cron", "run", "weekly"), "no cron 'weekly'")
    one_line_error(hyper(env, "cron", "run", "noop"), "jobtest.noop is a task, not a cron")


def test_unmigrated_database_is_one_line(tmp_path) -> None:
    env = worker_env(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    one_line_error(hyper(env, "worker"), "run 'hyper db upgrade' first")
    one_line_error(hyper(env, "jobs", "list"), "run 'hyper db upgrade' first")
