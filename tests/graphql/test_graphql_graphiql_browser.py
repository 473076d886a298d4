"""GraphiQL in a real headless Chromium: the vendored page loads, runs a query, and a
cookie-authenticated mutation (the page sends the CSRF token) against a dev-mode app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from hyperdeliver import Settings
from hyperdeliver.types import ASGIApp

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


@pytest.fixture
def dev_server(
    sqlite_url: str,
    settings_for: Callable[..., Settings],
    probe_factory: Any,
    probe_builder: Any,
    serve_app: Callable[[ASGIApp], str],
) -> str:
    """The probe app in dev mode, migrated and seeded, served by uvicorn in a thread."""
    settings = settings_for(sqlite_url, env="dev")

    async def prepare() -> None:
        app = await probe_factory(settings)
        await app.database.dispose()

    asyncio.run(prepare())
    return serve_app(probe_builder(settings))


def test_graphiql_runs_queries_and_csrf_protected_mutations(dev_server: str, chromium: Browser) -> None:
    page = chromium.new_page()
    outside: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(dev_server) else outside.append(req.url))
    page.goto(f"{dev_server}/graphql")
    page.wait_for_selector(".graphiql-container", timeout=20_000)

    def run(document: str) -> str:
        page.evaluate(
            "doc => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(doc)", document
        )
        page.click(".graphiql-execute-button")
        page.wait_for_function(
            "() => { const r = document.querySelector('.result-window .CodeMirror'); "
            "return r && r.CodeMirror.getValue().includes('\"data\"') || r && r.CodeMirror.getValue().includes('errors'); }",
            timeout=20_000,
        )
        value: str = page.evaluate("() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()")
        page.evaluate("() => document.querySelector('.result-window .CodeMirror').CodeMirror.setValue('')")
        return value

    assert '"ping": "pong"' in run("{ ping }")
    # Log in with the session cookie, as the app's own pages would.
    status = page.evaluate(
        """async () => (await fetch('/auth/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
           body: JSON.stringify({email: 'member@teamboard.dev', password: 'member-password'})})).status"""
    )
    assert status == 200
    # The probe counts every handler call: ping was the first, bump the second.
    assert '"bump": 2' in run("mutation { bump }")
    # Without the CSRF cookie the page cannot send the header: the mutation is refused.
    page.context.clear_cookies(name="hd_csrf")
    refused = run("mutation { bump }")
    assert "FORBIDDEN" in refused and "CSRF" in refused
    assert outside == []
