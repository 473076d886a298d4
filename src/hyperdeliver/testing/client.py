"""TestClient: httpx over ASGI with the app's lifespan, logins and CSRF handled."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ..app import App


class TestClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` bound to an app in-process.

    It runs the app's startup and shutdown, keeps cookies, and after :meth:`login`
    sends the CSRF token on unsafe methods like a browser page of the app would.
    ``client`` is the peer address the app sees (``(host, port)``, as an ASGI server
    reports it): a test of per-IP throttles or trusted proxies sets it.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: App,
        *,
        base_url: str = "https://testserver",
        csrf: bool = True,
        client: tuple[str, int] = ("127.0.0.1", 50000),
        **kw: Any,
    ) -> None:
        self.app = app
        self.csrf = csrf
        transport = httpx.ASGITransport(app=app, client=client)  # type: ignore[arg-type]
        super().__init__(transport=transport, base_url=base_url, **kw)

    async def __aenter__(self) -> TestClient:
        await super().__aenter__()
        await self.app.startup()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None = None, exc: BaseException | None = None, tb: TracebackType | None = None
    ) -> None:
        await self.app.shutdown()
        await super().__aexit__(exc_type, exc, tb)

    async def send(self, request: httpx.Request, **kw: Any) -> httpx.Response:  # type: ignore[override]
        if self.csrf and request.method not in ("GET", "HEAD", "OPTIONS") and "x-csrf-token" not in request.headers:
            token = self.cookies.get(self.app.settings.csrf_cookie)
            if token:
                request.headers["x-csrf-token"] = token
        return await super().send(request, **kw)

    async def login(self, email: str, password: str) -> httpx.Response:
        r = await self.post("/auth/login", json={"email": email, "password": password})
        r.raise_for_status()
        return r

    async def logout(self) -> httpx.Response:
        return await self.post("/auth/logout")
