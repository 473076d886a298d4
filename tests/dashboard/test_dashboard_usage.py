"""The dashboard on 30 simulated days (the demo's story), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from hyperdeliver import App
from hyperdeliver.demo.simulate import simulate
from hyperdeliver.testing import TestClient


def chart_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert m, "no chart data on the page"
    return json.loads(m.group(1))


async def test_the_dashboard_tells_the_demo_story(teamboard: App) -> None:
    summary = await simulate(teamboard, 30)
    assert summary["users"] == 100 and summary["events"] > 2000
    async with TestClient(teamboard) as admin:
        await admin.login("admin@teamboard.dev", "admin-password")

        overview = (await admin.get("/_hyper/")).text
        active = int(re.search(r'<b id="active-users">([\d,]+)</b>', overview).group(1).replace(",", ""))
        assert 90 <= active <= 101
        data = chart_data(overview)
        assert len(data["series"]) == 28 and [r["version"] for r in data["releases"]] == ["v1.2.0", "v1.3.0", "v1.4.0", "v1.4.1"]
        assert sum(p["calls"] for p in data["series"]) > 2000

        table = (await admin.get("/_hyper/features")).text
        row = re.search(r'<tr data-feature="legacy_export">(.*?)</tr>', table, re.S).group(1)
        assert "deprecated" in row and "adoption" in row and ">70" in row.replace(" ", "").replace("\n", "")

        # the broken release shows in the comments feature's errors and in its release deltas
        detail = (await admin.get("/_hyper/features/comments")).text
        series = chart_data(detail)["series"]
        release_day = (datetime.now(timezone.utc) - timedelta(days=10)).date().isoformat()
        before = [p for p in series if p["day"] < release_day and p["calls"]]
        after = [p for p in series if p["day"] > release_day and p["calls"]]
        rate = lambda ps: sum(p["errors"] for p in ps) / sum(p["calls"] for p in ps)  # noqa: E731
        assert rate(before) < 0.05 < 0.10 < rate(after)
        assert 'id="release-deltas"' in detail and "v1.4.0" in detail
        # the broken release's row reads before → after, its error rate rise marked as bad
        deltas = re.search(r'<table id="release-deltas">(.*?)</table>', detail, re.S).group(1)
        broken = re.search(r"<tr>\s*<td>v1\.4\.0</td>(.*?)</tr>", deltas, re.S).group(1)
        assert broken.count("→") == 3 and 'class="n bad"' in broken
        assert "calls_before" not in deltas and "p95 (ms)" in deltas

        sunset = (await admin.get("/_hyper/sunset")).text
        card = re.search(r'<section class="card candidate" data-feature="legacy_export">(.*?)</section>', sunset, re.S).group(1)
        assert "low adoption" in card and "deprecated in use" in card and re.search(r"(?<![0-9])(1 user|(0|[2-9]|[0-9]{2,}) users) still calling it", card)
        assert 'data-feature="tasks"' not in sunset and 'data-feature="projects"' not in sunset


async def test_the_delivery_page_shows_the_simulated_deploy_history(teamboard: App) -> None:
    await simulate(teamboard, 30)
    async with TestClient(teamboard) as admin:
        await admin.login("admin@teamboard.dev", "admin-password")
        page = (await admin.get("/_hyper/delivery")).text
        history = re.search(r'<table id="deployments">(.*?)</table>', page, re.S).group(1)
        rows = re.findall(r'<tr data-status="(\w+)" data-version="([\w.]+)"( data-rollback="true")?>', history)
        # newest first: the rollback to v1.4.0, the rolled-back v1.4.1, ..., the failed v1.2.1
        assert rows[:2] == [("succeeded", "v1.4.0", ' data-rollback="true"'), ("rolled_back", "v1.4.1", "")]
        assert ("failed", "v1.2.1", "") in rows and len(rows) == 6
        assert "comments errors up" in history  # v1.4.0's regression, from the release deltas
        dora = re.search(r'<table id="dora">(.*?)</table>', page, re.S).group(1)
        last28 = re.search(r'<tr data-days="28">(.*?)</tr>', dora, re.S).group(1)
        # 4 forward deploys live in 28 days; 3 of 5 finished ones failed (v1.2.1 failed,
        # v1.4.0 regressed comments, v1.4.1 rolled back); restores 17.5 h, 97.5 h, 2.5 h
        assert "1.0 / week" in last28 and "band-high" in last28
        assert "60% (3 of 5)" in last28 and "band-low" in last28
        assert "17.5 h" in last28
        assert "2023 Accelerate State of DevOps" in page
        owners = re.search(r'<table id="dora-owners">(.*?)</table>', page, re.S).group(1)
        assert 'data-owner="dan@teamboard.dev"' in owners  # comments' owner
