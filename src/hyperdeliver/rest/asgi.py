"""The REST adapter: routes a request to its operation's endpoint.

Routing is synchronous (a dict hit for a static path, one regex per templated path);
the endpoint (:mod:`~hyperdeliver.rest.endpoint`), built once per operation, does the
rest. :meth:`RestAdapter.resolve` is what :class:`~hyperdeliver.app.App` calls, so a
request runs in as few coroutines as there are steps that wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import MethodNotAllowed, NotFound
from ..http.problem import ProblemResponse
from ..types import ASGIApp, Receive, Scope, Send
from .endpoint import Endpoint, rest_endpoint
from .router import Router

if TYPE_CHECKING:
    from ..app import App
    from ..operations import Operation

NO_PATH_VALUES: dict[str, str] = {}
"""The path values of a static route (never written to)."""


class RestAdapter:
    """Serves every operation at its declared method and path, and the plugins' mounts."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.router = Router()
        self.endpoints: dict[Operation, Endpoint] = {}
        self.static_endpoints: dict[str, dict[str, Endpoint]] = {}
        """Per static path, its endpoints by request method (HEAD too, where GET is served):
        what the App looks up before :meth:`resolve`."""
        self.sub_apps: list[tuple[str, ASGIApp]] = []
        """The mounted ASGI apps by prefix, the longest first."""
        self._mounted: dict[str, Endpoint] = {}
        self._not_found = _not_found(app.security_headers.api)

    def receive_operation(self, op: Operation) -> None:
        self.router.add(op)
        endpoint = self.endpoints[op] = rest_endpoint(self.app, op)
        if op.path in self.router.static:
            methods = self.static_endpoints.setdefault(op.path, {})
            methods[op.method] = endpoint
            if op.method == "GET":
                methods["HEAD"] = endpoint

    def mount(self, prefix: str, asgi: ASGIApp) -> None:
        prefix = prefix.rstrip("/") or "/"
        self.sub_apps.append((prefix, asgi))
        self._mounted.setdefault(prefix, _mounted(asgi, self.app.security_headers.wrap))
        self.sub_apps.sort(key=lambda m: -len(m[0]))

    def resolve(self, path: str, method: str) -> tuple[Endpoint, dict[str, str]]:
        """The endpoint that answers ``method path`` (an operation's, a mounted app's,
        or a 404/405 problem) and the path's values. The App looks a static path up in
        :attr:`static_endpoints` first and comes here for the rest."""
        methods = self.router.static.get(path)
        path_values = NO_PATH_VALUES
        if methods is None:
            methods, path_values = self.router.match(path)
            if methods is None:
                for prefix, _sub in self.sub_apps:
                    if path == prefix or path.startswith(prefix + "/") or prefix == "/":
                        return self._mounted[prefix], NO_PATH_VALUES
                return self._not_found, NO_PATH_VALUES
        op = methods.get("GET" if method == "HEAD" else method)
        if op is None:
            return _not_allowed(methods, self.app.security_headers.api), NO_PATH_VALUES
        return self.endpoints[op], path_values

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint, path_values = self.resolve(scope["path"], scope["method"])  # the App's static lookup is only a shortcut
        await endpoint(scope, receive, send, path_values)


def _mounted(sub: ASGIApp, wrap: Callable[[Send], Send]) -> Endpoint:
    def endpoint(scope: Scope, receive: Receive, send: Send, path_values: dict[str, str]) -> Any:
        # The mounted app's own coroutine, not one more around it; its answers get the
        # security headers through the wrapped send.
        return sub(scope, receive, wrap(send))

    return endpoint


def _not_found(security: list[tuple[bytes, bytes]]) -> Endpoint:
    async def endpoint(scope: Scope, receive: Receive, send: Send, path_values: dict[str, str]) -> None:
        path = scope["path"]
        await ProblemResponse(NotFound(f"no operation at {path}"), path, headers=security)(scope, receive, send)

    return endpoint


def _not_allowed(methods: dict[str, Operation], security: list[tuple[bytes, bytes]]) -> Endpoint:
    async def endpoint(scope: Scope, receive: Receive, send: Send, path_values: dict[str, str]) -> None:
        allow = ", ".join(sorted(methods))
        method, path = scope["method"], scope["path"]
        exc = MethodNotAllowed(f"{method} is not served at {path}; use {allow}", headers={"Allow": allow})
        await ProblemResponse(exc, path, headers=security)(scope, receive, send)

    return endpoint
