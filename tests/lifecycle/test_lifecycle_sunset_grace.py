"""A new feature is no sunset candidate during its grace period (it has had no time to be
used), and the dashboard shows it as new; the rules judge it once the period is over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hyperdeliver import App
from hyperdeliver.lifecycle.sunset import SunsetRules, evaluate
from hyperdeliver.testing import TestClient, TestClock
from hyperdeliver.testing.users import Users


async def test_features_that_just_appeared_are_no_candidates(app: App, usage) -> None:
    seen = app.lifecycle.first_seen
    assert set(seen) == set(app.features)  # recorded at the first start-up
    assert await usage.sunset_candidates() == {}


async def test_the_rules_judge_a_feature_once_its_grace_period_is_over(app: App, usage, clock: TestClock) -> None:
    async with TestClient(app) as c:
        users = Users(app)
        await users.log_in(c, await users.create("viewer"))
        assert (await c.get("/workspaces")).status_code == 200
    clock.travel(days=13)
    assert await usage.sunset_candidates() == {}
    clock.travel(days=2)
    found = await usage.sunset_candidates()
    assert [r.text for r in found["comments"].reasons] == ["no calls since it appeared 15 days ago (" + f"{app.lifecycle.first_seen['comments']:%Y-%m-%d})"]
    assert found["comments"].score == 40
    assert [r.text for r in found["workspaces"].reasons][0].startswith("no calls for 15 days")


class TestWithoutGracePeriod:
    @pytest.fixture
    def app_settings(self, app_settings):
        return app_settings.model_copy(update={"sunset_grace_days": 0})

    async def test_the_grace_period_is_a_setting(self, app: App, usage) -> None:
        assert app.settings.sunset_grace_days == 0
        found = await usage.sunset_candidates()
        assert "tasks" in found and found["tasks"].reasons[0].text.startswith("no calls since it appeared 0 days ago")


async def test_the_dashboard_shows_a_new_feature_as_new(app: App) -> None:
    async with TestClient(app) as c:
        users = Users(app)
        await users.log_in(c, await users.create("admin"))
        page = (await c.get("/_hyper/features")).text
    row = page[page.index('<tr data-feature="tasks">') :]
    row = row[: row.index("</tr>")]
    until = (app.lifecycle.first_seen["tasks"] + timedelta(days=14)).date()
    assert '<span class="badge new">new</span>' in row and f"grace period until {until}" in row
    assert "no calls" not in row


def test_evaluate_leaves_out_features_in_their_grace_period() -> None:
    from datetime import datetime, timezone

    now = datetime(2027, 1, 20, tzinfo=timezone.utc)
    rows = [{"feature": f, "owner": "o", "users": 0, "adoption": 0.0, "last_used": None} for f in ("old", "new")]
    seen = {"old": now - timedelta(days=40), "new": now - timedelta(minutes=5)}
    assert [c.feature for c in evaluate(rows, {}, now=now, first_seen=seen)] == ["old"]
    assert [c.feature for c in evaluate(rows, {}, now=now)] == ["new", "old"]  # nothing known: judged
    assert SunsetRules(grace_days=14).grace_until(seen["new"], now).isoformat() == "2027-02-02"  # 14 days after 2027-01-19 23:55
    assert SunsetRules(grace_days=14).grace_until(seen["old"], now) is None
