"""The dashboard over HTTP on SQLite and PostgreSQL: who may see it, every page renders,
and the lifecycle and flag forms (CSRF-checked) change what the API answers."""

from __future__ import annotations

import re
from typing import Any

from hyperdeliver import App
from hyperdeliver.dashboard import DashboardPlugin
from hyperdeliver.testing import TestClient

PAGES = ["/_hyper/", "/_hyper/features", "/_hyper/features/tasks", "/_hyper/sunset", "/_hyper/jobs"]


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field in the form"
    return m.group(1)


async def test_anonymous_gets_the_login_page_and_members_a_403(teamboard: App) -> None:
    async with TestClient(teamboard) as anon:
        for path in PAGES:
            r = await anon.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/_hyper/login?next=")
        login = await anon.get("/_hyper/login?next=/_hyper/features")
        assert login.status_code == 200 and 'id="login"' in login.text and "/_hyper/features" in login.text
        assert (await anon.get("/_hyper/login?next=https://evil.example/")).text.count("evil.example") == 0
        r = await anon.get("/_hyper/static/chart.umd.min.js")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript") and "Chart.js v4" in r.text[:200]
        assert (await anon.get("/_hyper/static/..%2fviews.py")).status_code == 404
    async with TestClient(teamboard) as member:
        await member.login("member@teamboard.dev", "member-password")
        for path in PAGES:
            r = await member.get(path)
            assert r.status_code == 403 and "needs the <b>admin</b> role" in r.text


async def test_every_page_renders_for_an_admin(teamboard: App) -> None:
    async with TestClient(teamboard) as admin:
        await admin.login("admin@teamboard.dev", "admin-password")
        for path in PAGES:
            r = await admin.get(path)
            assert r.status_code == 200, (path, r.text[:500])
            assert r.headers["content-type"].startswith("text/html")
        table = (await admin.get("/_hyper/features")).text
        for name, owner in [("tasks", "carol@teamboard.dev"), ("comments", "dan@teamboard.dev"), ("projects", "bob@teamboard.dev")]:
            assert f'data-feature="{name}"' in table and owner in table
        assert (await admin.get("/_hyper/features/nope")).status_code == 404
        jobs = (await admin.get("/_hyper/jobs")).text
        assert 'id="jobs"' in jobs and 'id="ticks"' in jobs


async def test_flag_form_turns_the_endpoint_into_a_404_and_back(teamboard: App) -> None:
    async with TestClient(teamboard) as admin:
        await admin.login("admin@teamboard.dev", "admin-password")
        assert (await admin.get("/tasks/1/comments")).status_code == 200
        token = csrf_of((await admin.get("/_hyper/features/comments")).text)
        r = await admin.post("/_hyper/features/comments/flag", data={"csrf_token": token, "mode": "off", "percentage": "100"})
        assert r.status_code == 303 and r.headers["location"] == "/_hyper/features/comments?saved=flag"
        r = await admin.get("/tasks/1/comments")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        page = (await admin.get("/_hyper/features/comments?saved=flag")).text
        assert '<b id="flag-state">off</b>' in page
        # on for members only: the admin (who includes member) sees it, a viewer does not
        await admin.post("/_hyper/features/comments/flag", data={"csrf_token": token, "mode": "on", "percentage": "100", "roles": "member"})
        assert (await admin.get("/tasks/1/comments")).status_code == 200
        async with TestClient(teamboard) as viewer:
            await viewer.login("viewer@teamboard.dev", "viewer-password")
            assert (await viewer.get("/tasks/1/comments")).status_code == 404
        await admin.post("/_hyper/features/comments/flag", data={"csrf_token": token, "mode": "none"})
        assert teamboard.lifecycle.states["comments"].flag is None


async def test_lifecycle_form_and_its_errors(teamboard: App) -> None:
    async with TestClient(teamboard) as admin:
        await admin.login("admin@teamboard.dev", "admin-password")
        token = csrf_of((await admin.get("/_hyper/features/projects")).text)
        form = {"csrf_token": token, "lifecycle": "deprecated", "sunset": "2027-03-01", "link": "https://teamboard.dev/projects-v2"}
        assert (await admin.post("/_hyper/features/projects/lifecycle", data=form)).status_code == 303
        r = await admin.get("/workspaces/1/projects")
        assert r.headers["sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT"
        assert r.headers["link"] == '<https://teamboard.dev/projects-v2>; rel="sunset"'
        assert re.fullmatch(r"@\d+", r.headers["deprecation"])
        state = teamboard.lifecycle.states["projects"]
        assert state.updated_by == "admin@teamboard.dev"
        bad = await admin.post("/_hyper/features/projects/lifecycle", data={**form, "sunset": "2027-02-30"})
        assert bad.status_code == 400 and "bad date" in bad.text
        bad = await admin.post("/_hyper/features/projects/flag", data={"csrf_token": token, "mode": "on", "percentage": "150"})
        assert bad.status_code == 400 and "bad percentage" in bad.text
        bad = await admin.post("/_hyper/features/projects/flag", data={"csrf_token": token, "mode": "on", "percentage": "half"})
        assert bad.status_code == 400 and "bad percentage" in bad.text
        bad = await admin.post("/_hyper/features/projects/flag", data={"csrf_token": token, "mode": "maybe"})
        assert bad.status_code == 400 and "unknown flag mode" in bad.text
        # without the CSRF token nothing changes
        r = await admin.post("/_hyper/features/projects/lifecycle", data={**form, "csrf_token": "forged", "lifecycle": "removed"})
        assert r.status_code == 403
        assert teamboard.lifecycle.states["projects"].lifecycle == "deprecated"
        # the built-in auth feature has no forms
        assert 'id="flag-form"' not in (await admin.get("/_hyper/features/auth")).text


async def test_jobs_page_lists_jobs_ticks_and_schedules(teamboard: App) -> None:
    from datetime import datetime, timezone

    from hyperdeliver.jobs.models import CronTick, Job

    tick_at = datetime(2026, 11, 24, 7, tzinfo=timezone.utc)
    async with teamboard.database.session() as s:
        s.add(Job(task="tasks.notify_assignee", args={"task_id": 1, "assignee_id": 2}, status="dead", attempts=6, max_attempts=6,
                  last_error="RuntimeError: mail server down\ntraceback…"))
        s.add(Job(task="tasks.stale_tasks_digest", args={}, status="done", attempts=1, max_attempts=1))
        s.add(CronTick(name="tasks.stale_tasks_digest", tick_at=tick_at, job_id=2))
        await s.commit()
    async with TestClient(teamboard) as admin:
        await admin.login("admin@teamboard.dev", "admin-password")
        html = (await admin.get("/_hyper/jobs")).text
    assert "tasks.notify_assignee" in html and "RuntimeError: mail server down" in html and "traceback" not in html
    assert "2026-11-24 07:00 UTC" in html  # the tick
    assert "0 7 * * *" in html  # the declared schedule, when it runs next, whose it is
    crons = re.search(r'<table id="crons">(.*?)</table>', html, re.S).group(1)  # type: ignore[union-attr]
    assert "next run" in crons and "carol@teamboard.dev" in crons and re.search(r"\d{4}-\d\d-\d\d 07:00 UTC", crons)
    assert re.search(r"<b>1</b>dead", html) and re.search(r"<b>1</b>done", html)


async def test_pages_render_on_an_unmigrated_database(settings_for: Any, sqlite_url: str) -> None:
    """No tables yet: every page says there is no data instead of failing (the login too)."""
    from hyperdeliver.demo.teamboard.app import create_app

    from hyperdeliver.auth.principal import NO_COOKIES, Principal
    from hyperdeliver.auth.request import RequestAuth

    app = create_app(settings_for(sqlite_url))
    admin = Principal(user_id=1, email="a@x.io", roles=frozenset({"admin"}), effective_roles=frozenset({"admin", "member", "viewer"}), via="token")

    try:
        async with TestClient(app) as c:
            for path in PAGES:
                # The session and token tables are missing too: the admin's token is one verified
                # a moment ago (the token cache every HTTP request looks in first; the revocation
                # watch, failing to read its table, empties it).
                app.auth.remember_header(b"Bearer hd_admin", RequestAuth(admin, NO_COOKIES, None, None))
                r = await c.get(path, headers={"Authorization": "Bearer hd_admin"})
                assert r.status_code == 200, (path, r.text[:300])
                assert "No usage data" in r.text or "No job tables" in r.text
    finally:
        await app.database.dispose()


async def test_unknown_paths_and_wrong_methods_answer_problem_json(teamboard: App) -> None:
    async with TestClient(teamboard) as admin:
        await admin.login("admin@teamboard.dev", "admin-password")
        for path in ("/_hyper/nosuch", "/_hyper/features/tasks/nosuch", "/_hyper/static/nosuch.css", "/_hyper/static/..%2fviews.py"):
            r = await admin.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["status"] == 404 and r.json()["type"].endswith("/not-found")
        for method, path, allow in [
            ("DELETE", "/_hyper/features", "GET, HEAD"),
            ("POST", "/_hyper/", "GET, HEAD"),
            ("GET", "/_hyper/features/tasks/lifecycle", "POST"),
            ("PUT", "/_hyper/features/tasks/flag", "POST"),
        ]:
            r = await admin.request(method, path)
            assert r.status_code == 405, (method, path)
            assert r.headers["content-type"] == "application/problem+json" and r.headers["allow"] == allow
            assert r.json()["status"] == 405 and r.json()["instance"] == path
        # unchanged: an unknown feature's page is HTML, a trailing slash redirects
        r = await admin.get("/_hyper/features/nope")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert (await admin.get("/_hyper/features/")).status_code in (307, 308)
    async with TestClient(teamboard) as anon:
        r = await anon.get("/_hyper/nosuch")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        assert (await anon.get("/_hyper/features")).status_code == 303


async def test_a_failing_page_is_a_500_whose_request_id_is_in_the_log(teamboard: App, monkeypatch: Any, caplog: Any) -> None:
    from hyperdeliver.dashboard import data

    async def broken(app: App) -> Any:
        raise RuntimeError("boom: secret internals")

    monkeypatch.setattr(data, "overview", broken)
    async with TestClient(teamboard) as admin:
        await admin.login("admin@teamboard.dev", "admin-password")
        for sent in (None, "req-from-the-proxy"):
            caplog.clear()
            r = await admin.get("/_hyper/", headers={"X-Request-ID": sent} if sent else {})
            assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
            rid = r.json()["request_id"]
            assert rid == r.headers["x-request-id"] and rid and (sent is None or rid == sent)
            assert "secret" not in r.text and "Traceback" not in r.text
            (record,) = [rec for rec in caplog.records if rec.name == "hyperdeliver.error"]
            assert rid in record.getMessage() and record.exc_info and "boom" in str(record.exc_info[1])
        # The dashboard keeps serving.
        assert (await admin.get("/_hyper/features")).status_code == 200
