"""The lifecycle gate on SQLite and PostgreSQL: 410 for removed features, the exact
Deprecation / Sunset / Link headers (error responses included), GraphQL codes, jobs."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from waiting import eventually

from hyperdeliver import App, Context
from hyperdeliver.lifecycle import LifecycleError
from hyperdeliver.testing import TestClient

LINK = '<https://example.com/old-to-new>; rel="sunset"'


def assert_deprecation_headers(headers: Any, since: datetime) -> None:
    assert re.fullmatch(r"@\d+", headers["deprecation"]), headers["deprecation"]  # RFC 9745 sf-date
    assert int(headers["deprecation"][1:]) == int(since.timestamp())
    assert headers["sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT"  # RFC 8594 HTTP-date
    assert parsedate_to_datetime(headers["sunset"]) == datetime(2027, 3, 1, tzinfo=timezone.utc)
    assert headers["link"] == LINK


async def test_declared_deprecation_sends_the_headers(lc_app: App, lc_client: TestClient, login: Callable[..., Any]) -> None:
    state = lc_app.lifecycle.states["old"]
    assert state.lifecycle == "deprecated" and state.since is not None and state.updated_by == "code"
    await login(lc_client, "viewer")
    r = await lc_client.get("/old")
    assert r.status_code == 200 and r.json() == {"hello": "old"}
    assert_deprecation_headers(r.headers, state.since)
    # also on error responses: a 422 and a 401
    bad = await lc_client.post("/old/echo", json={"n": "not a number"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert_deprecation_headers(bad.headers, state.since)
    async with TestClient(lc_app) as anon:
        r401 = await anon.get("/old")
        assert r401.status_code == 401
        assert_deprecation_headers(r401.headers, state.since)
    # an active feature has none
    ok = await lc_client.get("/stable")
    assert "deprecation" not in ok.headers and "sunset" not in ok.headers


async def test_deprecation_date_is_stable_across_restarts(lc_app: App, settings_for: Any, database_url: str) -> None:
    from lcapp import build

    first = lc_app.lifecycle
    await first.load()
    since = first.states["old"].since
    again = build(settings_for(database_url))
    try:
        await again.lifecycle.load()
        assert again.lifecycle.states["old"].since == since
    finally:
        await again.database.dispose()


async def test_removed_feature_answers_410_problem_json(lc_client: TestClient) -> None:
    r = await lc_client.get("/gone")
    assert r.status_code == 410
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 410 and body["type"].endswith("/gone") and "removed" in body["detail"]
    assert r.headers["link"] == '<https://example.com/gone>; rel="sunset"'


async def test_graphql_is_gated_too(lc_app: App, lc_client: TestClient, login: Callable[..., Any]) -> None:
    await login(lc_client, "viewer")
    r = await lc_client.post("/graphql", json={"query": "{ goneHello stableHello }"})
    body = r.json()
    assert body["data"]["stableHello"] == {"hello": "stable"}
    assert body["data"]["goneHello"] is None
    err = body["errors"][0]
    assert err["extensions"]["code"] == "GONE" and err["path"] == ["goneHello"]
    dep = await lc_client.post("/graphql", json={"query": "{ oldHello }"})
    assert dep.json()["data"]["oldHello"] == {"hello": "old"}
    assert dep.headers["sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT" and dep.headers["link"] == LINK


async def test_lifecycle_changes_apply_at_once(lc_app: App, lc_client: TestClient, login: Callable[..., Any]) -> None:
    store = lc_app.lifecycle
    await login(lc_client, "viewer")
    await store.set_lifecycle("stable", "removed", by="test")
    assert (await lc_client.get("/stable")).status_code == 410
    state = await store.set_lifecycle("stable", "deprecated", sunset="2027-03-01", link="https://example.com/old-to-new", by="test")
    r = await lc_client.get("/stable")
    assert r.status_code == 200
    assert_deprecation_headers(r.headers, state.since)
    # changing only the link keeps the deprecation date
    again = await store.set_lifecycle("stable", link="https://example.com/new", by="test")
    assert again.since == state.since and again.sunset == date(2027, 3, 1)
    await store.set_lifecycle("stable", "active", by="test")
    assert "deprecation" not in (await lc_client.get("/stable")).headers
    # a person's change wins over the declaration, and is kept across restarts
    await store.set_lifecycle("old", "active", by="test")
    await store.load()
    assert store.states["old"].lifecycle == "active"


async def test_auth_is_never_gated(lc_app: App, lc_client: TestClient) -> None:
    store = lc_app.lifecycle
    with pytest.raises(LifecycleError, match="cannot be gated"):
        await store.set_lifecycle("auth", "removed")
    assert "auth" not in store.rules
    assert (await lc_client.post("/auth/login", json={"email": "viewer@example.com", "password": "a long password"})).status_code == 200


async def test_bad_lifecycle_values_are_refused(lc_app: App) -> None:
    store = lc_app.lifecycle
    with pytest.raises(LifecycleError, match="unknown lifecycle"):
        await store.set_lifecycle("stable", "zombie")
    with pytest.raises(LifecycleError, match="bad date"):
        await store.set_lifecycle("stable", "deprecated", sunset="01/03/2027")
    with pytest.raises(LifecycleError, match="unknown feature"):
        await store.set_lifecycle("nope", "removed")
    for link in ("https://x.example/a\r\nX-Evil: 1", "https://例.example/neu", "https://x.example/a b", 'https://x.example/">', "ftp://x.example", "/" + "a" * 2000):
        with pytest.raises(LifecycleError, match="bad link"):
            await store.set_lifecycle("stable", "deprecated", link=link)
    assert store.states["stable"].lifecycle == "active"  # nothing was stored


async def test_a_stored_link_the_header_cannot_carry_is_left_out(lc_app: App, lc_client: TestClient, login: Callable[..., Any]) -> None:
    """A link stored before links were checked must not break the feature's responses:
    the Deprecation and Sunset headers still go out, the Link header does not."""
    from hyperdeliver.lifecycle.models import FeatureStateRow

    store = lc_app.lifecycle
    state = await store.set_lifecycle("stable", "deprecated", sunset="2027-03-01", link="https://example.com/ok", by="test")
    async with lc_app.database.session() as s:
        (await s.get(FeatureStateRow, "stable")).link = "https://x.example/a\r\nX-Evil: 1 例"
        await s.commit()
    await store.load()
    await login(lc_client, "viewer")
    r = await lc_client.get("/stable")
    assert r.status_code == 200 and "link" not in r.headers and "x-evil" not in r.headers
    assert int(r.headers["deprecation"][1:]) == int(state.since.timestamp())
    await store.set_lifecycle("stable", "removed", by="test")
    gone = await lc_client.get("/stable")
    assert gone.status_code == 410 and gone.headers["content-type"] == "application/problem+json" and "link" not in gone.headers


def test_a_declared_link_is_checked_at_declaration() -> None:
    from hyperdeliver import ConfigurationError, Feature

    with pytest.raises(ConfigurationError, match="bad link"):
        Feature("f", owner="o@x.dev", lifecycle="deprecated", link="https://x.example/\r\nX: 1")
    assert Feature("f", owner="o@x.dev", lifecycle="deprecated", link="/docs/v2").link == "/docs/v2"


async def test_a_removed_features_job_does_not_run(lc_app: App) -> None:
    """The job path goes through the gate: 410 (the worker marks the job dead)."""
    from lcapp import RAN, gone

    from hyperdeliver.auth.principal import Principal
    from hyperdeliver.errors import Gone

    task = gone.tasks["gone_job"]
    RAN.clear()
    await lc_app.startup()
    ctx = Context(lc_app, "job-1", Principal(user_id=None, via="job"), "job", task)
    with pytest.raises(Gone):
        await lc_app.controller.call(task, ctx, lambda: {})
    assert RAN == []
    # flags do not stop jobs (they have no user; the enqueuing request passed the flag)
    await lc_app.lifecycle.set_lifecycle("gone", "active", by="test")
    await lc_app.lifecycle.set_flag("gone", enabled=False, by="test")
    await lc_app.controller.call(task, Context(lc_app, "job-2", Principal(user_id=None, via="job"), "job", task), lambda: {})
    assert RAN == ["gone_job"]


async def test_a_process_without_startup_loads_the_states_on_first_call(lc_app: App, settings_for: Any, database_url: str) -> None:
    """``hyper worker`` runs jobs without the app's start-up: the gate loads the stored states itself."""

    from lcapp import build, gone

    from hyperdeliver.auth.principal import Principal
    from hyperdeliver.errors import Gone

    await lc_app.lifecycle.set_lifecycle("gone", "active", by="test")
    worker_app = build(settings_for(database_url))
    try:
        task = gone.tasks["gone_job"]
        store = worker_app.lifecycle
        assert store.rules["gone"].lifecycle == "removed"  # the declaration, until loaded
        with pytest.raises(Gone):
            await worker_app.controller.call(task, Context(worker_app, "j1", Principal(user_id=None, via="job"), "job", task), lambda: {})
        async def loaded() -> bool:
            return bool(store.loaded)

        await eventually(loaded, "the lifecycle store to load")
        assert "gone" not in store.rules
        await worker_app.controller.call(task, Context(worker_app, "j2", Principal(user_id=None, via="job"), "job", task), lambda: {})
    finally:
        await worker_app.lifecycle.stop()
        await worker_app.database.dispose()


async def test_the_periodic_refresh_sees_another_process_and_mirrors_a_lost_declaration(lc_app: App, settings_for: Any, database_url: str) -> None:
    """``refresh`` (the loop's re-read: Core rows on the reads pool) picks up a change made
    by another process, and falls back to the full load when the code's declaration is not
    in the table (its row deleted here), which writes it again."""
    from lcapp import build
    from sqlalchemy import delete

    from hyperdeliver.lifecycle.models import FeatureStateRow

    other = build(settings_for(database_url))
    try:
        await other.lifecycle.load()
        await lc_app.lifecycle.set_lifecycle("stable", "deprecated", sunset="2027-03-01", by="ops@example.com")
        assert other.lifecycle.states["stable"].lifecycle == "active"
        await other.lifecycle.refresh()
        stable = other.lifecycle.states["stable"]
        assert (stable.lifecycle, stable.sunset, stable.updated_by) == ("deprecated", date(2027, 3, 1), "ops@example.com")
        assert "stable" in other.lifecycle.rules  # the gate acts on it now

        async with lc_app.database.session() as s:
            await s.execute(delete(FeatureStateRow).where(FeatureStateRow.feature == "old"))
            await s.commit()
        await other.lifecycle.refresh()
        old = other.lifecycle.states["old"]
        assert (old.lifecycle, old.updated_by) == ("deprecated", "code")
        async with lc_app.database.session() as s:
            row = await s.get(FeatureStateRow, "old")
            assert row is not None and row.updated_by == "code" and row.sunset == date(2027, 3, 1)
    finally:
        await other.database.dispose()
