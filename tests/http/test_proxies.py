"""Trusted proxies: X-Forwarded-For is believed only from the addresses HYPER_TRUSTED_PROXIES lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hyperdeliver import App, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.errors import ConfigurationError
from hyperdeliver.http.proxies import TrustedProxies
from hyperdeliver.testing import TestClient

PASSWORD = "correct horse battery"


async def _app(settings: Settings) -> App:
    app = App("proxytest", roles=["member"], settings=settings)
    await upgrade_async(app)
    async with app.database.session() as s:
        await app.auth.create_user(s, "ann@t.dev", PASSWORD, {"member"})
        await s.commit()
    return app


async def _guesses(app: App, n: int) -> list[int]:
    """``n`` wrong logins from 127.0.0.1, each claiming a new X-Forwarded-For."""
    statuses = []
    async with TestClient(app, client=("127.0.0.1", 40000)) as c:
        for i in range(n):
            r = await c.post("/auth/login", json={"email": "ann@t.dev", "password": "guess"}, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            statuses.append(r.status_code)
    return statuses


async def test_spoofed_forwarded_for_changes_nothing_by_default(database_url: str, settings_for: Callable[..., Settings]) -> None:
    app = await _app(settings_for(database_url))
    try:
        statuses = await _guesses(app, 12)
    finally:
        await app.database.dispose()
    assert statuses == [401] * 10 + [429] * 2


def test_spoofed_forwarded_for_through_uvicorn_as_hyper_serve_runs_it(
    sqlite_url: str, settings_for: Callable[..., Settings], serve_app: Callable[..., str]
) -> None:
    """A real uvicorn with ``hyper serve``'s options: a client on 127.0.0.1 rotating
    X-Forwarded-For is still one client to the throttle (uvicorn's default would trust it)."""
    import asyncio

    from hyperdeliver.cli.main import SERVER_OPTIONS

    app = asyncio.run(_app(settings_for(sqlite_url)))
    asyncio.run(app.database.dispose())
    with httpx.Client(base_url=serve_app(app, **SERVER_OPTIONS)) as c:
        statuses = [
            c.post("/auth/login", json={"email": "ann@t.dev", "password": "guess"}, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(12)
        ]
    assert statuses == [401] * 10 + [429] * 2


async def test_forwarded_for_is_honoured_from_a_trusted_proxy(database_url: str, settings_for: Callable[..., Settings]) -> None:
    app = await _app(settings_for(database_url, trusted_proxies=["127.0.0.0/8"]))
    try:
        statuses = await _guesses(app, 12)
    finally:
        await app.database.dispose()
    assert statuses == [401] * 12  # each client address its own (account, IP) counter


def test_client_ip_reads_forwarded_for_from_the_right_skipping_trusted_hops() -> None:
    p = TrustedProxies(["10.0.0.0/8", "::1"])
    assert p.client_ip("10.0.0.2", b"198.51.100.9, 203.0.113.7, 10.0.0.5") == "203.0.113.7"
    assert p.client_ip("::1", b"2001:db8::1") == "2001:db8::1"
    assert p.client_ip("10.0.0.2", b"not-an-ip") == "10.0.0.2"
    assert p.client_ip("198.51.100.1", b"203.0.113.7") == "198.51.100.1"
    assert p.scheme("10.0.0.2", "http", b"https") == "https"
    assert p.scheme("198.51.100.1", "http", b"https") == "http"


def test_env_takes_a_comma_separated_list_and_refuses_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPER_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "127.0.0.1"]
    with pytest.raises(ConfigurationError, match="HYPER_TRUSTED_PROXIES"):
        TrustedProxies(["10.0.0.0/33"])


def test_hyper_serve_tells_uvicorn_to_trust_no_forwarded_headers(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    """``hyper serve`` run in-process, uvicorn.run replaced by a recorder of its options."""
    import signal

    import uvicorn
    from typer.testing import CliRunner

    from hyperdeliver.cli.main import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("HYPER_APP", "hyperdeliver.demo.teamboard.app:create_app")  # serve sets it: put back after
    monkeypatch.setenv("HYPER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HYPER_ENV", "test")
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        result = CliRunner().invoke(cli, ["serve"])
    finally:
        signal.signal(signal.SIGTERM, sigterm)  # serve's own handler, for after uvicorn's drain
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is False
    assert seen["forwarded_allow_ips"] == ""
    assert seen["server_header"] is False  # no "Server: uvicorn" to fingerprint
