"""The dashboard in a real headless Chromium, on the demo app with 30 simulated days.

``hyper demo --simulate 30d`` runs as a subprocess on a free port (uvicorn); the browser
logs in as the admin, opens the dashboard, finds the dying feature among the sunset
candidates, turns a feature's flag off from its page and sees its endpoint answer 404.
The screenshots are saved under tmp_path and copied to ``test-output/dashboard.png``
(features table) and ``test-output/dashboard-feature.png`` (a feature's charts).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hyper_cli import HYPER
from waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Browser

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_server(tmp_path: Path, unused_tcp_port: int) -> Iterator[str]:
    """``hyper demo --simulate 30d`` serving on a free port; its URL."""
    port = unused_tcp_port
    env = {**os.environ, "HYPER_VAR_DIR": str(tmp_path / "var"), "HYPER_ENV": "dev", "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("HYPER_DATABASE_URL", None)
    env.pop("HYPER_APP", None)
    log = open(tmp_path / "demo.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [HYPER, "demo", "--simulate", "30d", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        def serves() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"hyper demo exited with {proc.returncode}: {(tmp_path / 'demo.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_hyper/login", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until(serves, "hyper demo to serve", timeout=180, every=0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_dashboard_shows_the_dying_feature_and_flips_a_flag(demo_server: str, chromium: Browser, tmp_path: Path) -> None:
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(demo_server) else outside.append(req.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # anonymous: the login page, which posts to /auth/login and comes back
    page.goto(f"{demo_server}/_hyper/sunset")
    page.wait_for_selector("form#login")
    page.fill("input[name=email]", "admin@teamboard.dev")
    page.fill("input[name=password]", "admin-password")
    page.click("form#login button")
    page.wait_for_url(f"{demo_server}/_hyper/sunset")

    # the dying feature is a sunset candidate, with its reasons and remaining users
    card = page.locator('.candidate[data-feature="legacy_export"]')
    card.wait_for()
    text = card.inner_text()
    assert "deprecated" in text and "adoption" in text, text
    assert "still calling it (last 14 days)" in text, text

    # the overview and a feature page draw their charts (vendored Chart.js, release markers)
    page.goto(f"{demo_server}/_hyper/")
    assert int(page.inner_text("#active-users").replace(",", "")) > 50
    page.goto(f"{demo_server}/_hyper/features/comments")
    page.wait_for_function("() => window.hyperCharts && Object.keys(window.hyperCharts).length === 4")
    releases = page.evaluate("() => window.hyperCharts['chart-errors'].options.plugins.releaseMarkers.releases.map(r => r.version)")
    assert releases == ["v1.2.0", "v1.3.0", "v1.4.0", "v1.4.1"]
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(tmp_path / "feature.png"), full_page=True)
    shutil.copy(tmp_path / "feature.png", OUTPUT / "dashboard-feature.png")

    # flip the flag from the UI: the endpoint now answers 404 for everyone
    def comments_status() -> int:
        return int(page.evaluate("async () => (await fetch('/tasks/1/comments')).status"))

    assert comments_status() == 200
    page.select_option("#flag-mode", "off")
    page.click("#flag-form button")
    page.wait_for_selector("#saved")
    assert page.inner_text("#flag-state") == "off"
    assert comments_status() == 404

    page.goto(f"{demo_server}/_hyper/features")
    row = page.locator('#features tr[data-feature="legacy_export"]')
    assert "deprecated" in row.inner_text()
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    OUTPUT.mkdir(exist_ok=True)
    shutil.copy(shot, OUTPUT / "dashboard.png")
    assert shot.stat().st_size > 10_000
    assert outside == [] and errors == []


def test_the_delivery_page_shows_the_failed_deploy_and_the_rollback(demo_server: str, chromium: Browser, tmp_path: Path) -> None:
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{demo_server}/_hyper/delivery")
    page.wait_for_selector("form#login")
    page.fill("input[name=email]", "admin@teamboard.dev")
    page.fill("input[name=password]", "admin-password")
    page.click("form#login button")
    page.wait_for_url(f"{demo_server}/_hyper/delivery")

    failed = page.locator('#deployments tr[data-status="failed"]')
    assert failed.count() == 1 and failed.first.is_visible()
    assert "v1.2.1" in failed.first.inner_text() and "failed" in failed.first.inner_text()
    rolled_back = page.locator('#deployments tr[data-status="rolled_back"]')
    assert rolled_back.first.is_visible() and "v1.4.1" in rolled_back.first.inner_text() and "rolled back" in rolled_back.first.inner_text()
    rollback = page.locator('#deployments tr[data-rollback="true"]')
    assert rollback.first.is_visible() and "rollback" in rollback.first.inner_text() and "v1.4.0" in rollback.first.inner_text()
    # the four keys with their bands, the bands' source named
    last28 = page.locator('#dora tr[data-days="28"]').inner_text()
    assert "60% (3 of 5)" in last28 and "low" in last28 and "high" in last28
    assert "2023 Accelerate State of DevOps" in page.inner_text("#bands-source")
    assert page.locator('#dora-features tr[data-feature="comments"]').is_visible()
    shot = tmp_path / "delivery.png"
    page.screenshot(path=str(shot), full_page=True)
    OUTPUT.mkdir(exist_ok=True)
    shutil.copy(shot, OUTPUT / "dashboard-delivery.png")
    assert shot.stat().st_size > 10_000 and errors == []
