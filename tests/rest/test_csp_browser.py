"""The pages under their Content-Security-Policy in a real Chromium: /docs (Swagger UI),
GraphiQL and the dashboard's login page render, and the browser reports no violation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from hyperdeliver import Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.types import ASGIApp

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_server(sqlite_url: str, settings_for: Callable[..., Settings], serve_app: Callable[[ASGIApp], str]) -> str:
    """The demo in dev mode (GraphiQL is served), migrated, served by uvicorn in a thread."""
    from hyperdeliver.demo.teamboard.app import create_app

    settings = settings_for(sqlite_url, env="dev")

    async def prepare() -> None:
        app = create_app(settings)
        await upgrade_async(app)
        await app.database.dispose()

    asyncio.run(prepare())
    return serve_app(create_app(settings))


def test_pages_render_without_csp_violations(demo_server: str, chromium: Browser) -> None:
    base = demo_server
    page = chromium.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda err: violations.append(str(err)))
    response = page.goto(f"{base}/docs")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=30_000)  # Swagger UI rendered the operations
    page.goto(f"{base}/graphql")
    page.wait_for_selector(".graphiql-container", timeout=30_000)
    page.goto(f"{base}/_hyper/login")
    page.wait_for_selector("form", timeout=30_000)
    assert violations == []
