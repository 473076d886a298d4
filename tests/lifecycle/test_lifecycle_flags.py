"""Flags: a stable user bucket, a roughly proportional rollout, role targeting, and the
404 a caller outside the flag gets, through REST and GraphQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waiting import eventually

from hyperdeliver import App
from hyperdeliver.lifecycle import Flag, bucket
from hyperdeliver.testing import TestClient


def test_bucket_is_deterministic_and_matches_sha256_mod_100() -> None:
    import hashlib

    for uid in (1, 2, 99, 12345):
        expected = int(hashlib.sha256(f"reports:{uid}".encode()).hexdigest(), 16) % 100
        assert bucket("reports", uid) == expected == bucket("reports", uid)
    # another feature puts users in other buckets (rollouts are independent)
    assert [bucket("a", u) for u in range(50)] != [bucket("b", u) for u in range(50)]


def test_percentage_is_roughly_proportional_over_1000_users() -> None:
    everyone = frozenset({"member"})
    for pct in (5, 20, 50, 80):
        on = sum(Flag(True, pct).allows(uid, everyone, "reports") for uid in range(1, 1001))
        assert abs(on - pct * 10) <= 45, (pct, on)
    # raising the percentage only adds users
    at20 = {u for u in range(1, 1001) if Flag(True, 20).allows(u, everyone, "reports")}
    at50 = {u for u in range(1, 1001) if Flag(True, 50).allows(u, everyone, "reports")}
    assert at20 < at50
    assert sum(Flag(True, 0).allows(u, everyone, "reports") for u in range(1, 1001)) == 0
    assert sum(Flag(True, 100).allows(u, everyone, "reports") for u in range(1, 1001)) == 1000


def test_role_targeting_and_off() -> None:
    f = Flag(True, 100, frozenset({"admin"}))
    assert f.allows(1, frozenset({"admin", "member", "viewer"}), "x")
    assert not f.allows(1, frozenset({"member", "viewer"}), "x")
    assert not Flag(False, 100).allows(1, frozenset({"admin"}), "x")
    # anonymous callers only see a full rollout
    assert Flag(True, 100).allows(None, frozenset(), "x")
    assert not Flag(True, 99).allows(None, frozenset(), "x")


async def test_flag_off_answers_404_problem_json(lc_app: App, lc_client: TestClient, login: Callable[..., Any]) -> None:
    await login(lc_client, "viewer")
    assert (await lc_client.get("/beta")).status_code == 200
    store = lc_app.lifecycle
    await store.set_flag("beta", enabled=False, by="test")
    r = await lc_client.get("/beta")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404 and r.json()["type"].endswith("/not-found")
    # GraphQL: the same field is NOT_FOUND
    g = await lc_client.post("/graphql", json={"query": "{ betaHello }"})
    assert g.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await store.clear_flag("beta")
    assert (await lc_client.get("/beta")).status_code == 200


async def test_role_targeted_flag_over_http(lc_app: App, login: Callable[..., Any]) -> None:
    store = lc_app.lifecycle
    await store.set_flag("beta", enabled=True, percentage=100, roles="member", by="test")
    async with TestClient(lc_app) as viewer, TestClient(lc_app) as admin:
        await login(viewer, "viewer")
        await login(admin, "admin")
        assert (await viewer.get("/beta")).status_code == 404
        assert (await admin.get("/beta")).status_code == 200  # admin includes member


async def test_percentage_rollout_follows_the_users_bucket(lc_app: App, lc_client: TestClient, login: Callable[..., Any]) -> None:
    await login(lc_client, "viewer")
    me = (await lc_client.get("/auth/me")).json()["id"]
    b = bucket("beta", me)
    store = lc_app.lifecycle
    await store.set_flag("beta", percentage=b, by="test")  # buckets 0..b-1: not me
    assert (await lc_client.get("/beta")).status_code == 404
    await store.set_flag("beta", percentage=b + 1, by="test")  # now my bucket is in
    assert (await lc_client.get("/beta")).status_code == 200


async def test_flags_persist_and_other_processes_see_them(lc_app: App, settings_for: Any, database_url: str) -> None:
    from lcapp import build

    await lc_app.lifecycle.set_flag("beta", percentage=30, roles=["admin", "member"], by="ops@example.com")
    other = build(settings_for(database_url, lifecycle_refresh_interval=0.05))
    try:
        async with TestClient(other):
            flag = other.lifecycle.states["beta"].flag
            assert flag == Flag(True, 30, frozenset({"admin", "member"}))
            # a later change by the first app reaches the second through its refresh loop
            await lc_app.lifecycle.set_flag("beta", enabled=False, by="ops@example.com")
            async def turned_off() -> bool:
                return other.lifecycle.states["beta"].flag.enabled is False

            await eventually(turned_off, "the second app's refresh to see the flag off")
    finally:
        await other.database.dispose()


async def test_bad_flag_values_are_refused(lc_app: App) -> None:
    import pytest

    from hyperdeliver.lifecycle import LifecycleError

    store = lc_app.lifecycle
    with pytest.raises(LifecycleError, match="unknown feature"):
        await store.set_flag("nope")
    with pytest.raises(LifecycleError, match="percentage"):
        await store.set_flag("beta", percentage=101)
    with pytest.raises(LifecycleError, match="unknown roles"):
        await store.set_flag("beta", roles="wizard")
    with pytest.raises(LifecycleError, match="cannot be gated"):
        await store.set_flag("auth", enabled=False)
