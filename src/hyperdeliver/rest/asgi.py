"""The REST adapter: the operations as Starlette routes, the plugins' apps as mounts.

Every operation path is one :class:`~starlette.routing.Route` serving the methods its
operations declare (HEAD where GET); every plugin's app is mounted at its prefix; all of
them in one Starlette app, whose exception-handler table
(:func:`~hyperdeliver.http.problem.exception_handlers`) answers a path no route serves
(404) and a method a route does not serve (405, ``Allow``) as problem+json. Starlette
matches the path and converts its parameters; the endpoint
(:mod:`~hyperdeliver.rest.endpoint`), built once per operation, does the rest.

The order of the routes is what decides: static paths first, then templated ones in the
order they were declared, then the mounts, the longest prefix first. So a static path
wins over a template that also matches it, and an operation's path over a mount.

:attr:`RestAdapter.static_endpoints` is an index in front of the router, built from its
routes: per static path, the endpoint of each method the route serves. The App looks a
request up there first and calls the endpoint itself, without Starlette's middleware,
route walk (a regex per route) and Request: on ``POST /items`` that is most of what
keeps the hot path ahead of Starlette by hand (bench/http_instructions.py). It holds
only what Starlette would pick itself (a route is indexed only when no earlier route
matches its path), and whatever it misses (a templated path, a method the path does not
serve, a path under a mount's prefix, nothing at all) Starlette decides.
:attr:`RestAdapter.static_apps` does the same for the plugins' apps at their exact
prefix (``/graphql``, ``/healthz``): they are called without the REST router around them.
A templated path (``/projects/{project_id}/tasks``) is matched by Starlette's own
:meth:`Route.matches <starlette.routing.Route.matches>` over the templated routes only
(:meth:`RestAdapter.dispatch`), again without the middleware and the walk over every
route: in-process, a trivial ``GET /things/{thing_id}`` costs ~164k instructions through
the whole Starlette app, ~94k this way (~82k with the hand-written router it replaces).
The router decides a path no template serves in full.

Example:
    >>> from hyperdeliver import App, Settings
    >>> app = App("demo", settings=Settings(env="test", database_url="sqlite://"), plugins=[])
    >>> [route.path for route in app.rest.router.routes]
    ['/auth/login', '/auth/logout', '/auth/me', '/auth/password', '/auth/tokens', '/auth/tokens/{token_id}']
    >>> sorted(app.rest.static_endpoints["/auth/me"]), "/auth/tokens/{token_id}" in app.rest.static_endpoints
    (['GET', 'HEAD'], False)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, Mount, Route

from ..errors import ConfigurationError
from ..http.front import answers_over_https
from ..http.problem import exception_handlers
from ..types import ASGIApp, Receive, Scope, Send
from .endpoint import Endpoint, rest_endpoint

if TYPE_CHECKING:
    from ..app import App
    from ..operations import Operation


class OperationsAt:
    """The ASGI app of one operation path, a :class:`~starlette.routing.Route`'s endpoint:
    the endpoint of the request's method (HEAD: GET's), with the path parameters
    Starlette matched. The route has turned other methods away (405) already."""

    __slots__ = ("path", "operations", "endpoints")

    def __init__(self, path: str) -> None:
        self.path = path
        self.operations: dict[str, Operation] = {}
        self.endpoints: dict[str, Endpoint] = {}
        """By method, as declared: HEAD is GET's."""

    def endpoint(self, method: str) -> Endpoint:
        return self.endpoints["GET" if method == "HEAD" else method]

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # The endpoint's own coroutine, not one more around it.
        return self.endpoint(scope["method"])(scope, receive, send, scope["path_params"])


class PluginApp:
    """A plugin's app as mounted: its answers get the security headers (through
    :meth:`SecurityHeaders.wrap <hyperdeliver.http.security_headers.SecurityHeaders.wrap>`),
    and it is handed the root path the server sent, not the one :class:`~starlette.routing.Mount`
    sets: the plugins' apps route on whole paths (a plugin knows its own prefix)."""

    __slots__ = ("app", "hyper")

    def __init__(self, app: ASGIApp, hyper: App) -> None:
        self.app = app
        self.hyper = hyper

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if "app_root_path" in scope:  # set by a Mount, with the server's root path
            scope["root_path"] = scope["app_root_path"]
        return self.app(scope, receive, self.hyper.security_headers.wrap(send, answers_over_https(self.hyper, scope, dict(scope["headers"]))))


class RestAdapter:
    """Serves every operation at its declared method and path, and the plugins' mounts."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.endpoints: dict[Operation, Endpoint] = {}
        self.paths: dict[str, OperationsAt] = {}
        """The operations by path, in the order the paths were declared."""
        self.sub_apps: list[tuple[str, ASGIApp]] = []
        """The mounted ASGI apps by prefix, the longest first."""
        self.static_endpoints: dict[str, dict[str, Endpoint]] = {}
        """The index in front of the router: per static path, its endpoints by request
        method (HEAD too, where GET is served), built from the router's routes; what the
        App looks up before it hands a request to :meth:`dispatch`."""
        self.static_apps: dict[str, ASGIApp] = {}
        self.templated: list[tuple[re.Pattern[str], Route]] = []
        """The operations' templated routes with their compiled path (Starlette's), tried
        by :meth:`dispatch` before the whole router."""
        """The index's other half: the plugins' apps by their exact prefix (``/graphql``),
        served at every method, which :meth:`dispatch` looks up before :attr:`asgi`."""
        self._routes: dict[str, Route] = {}
        self._mounts: list[BaseRoute] = []
        self.asgi = Starlette(
            exception_handlers=dict(exception_handlers(
                "no operation at", headers=lambda scope: app.security_headers.over(answers_over_https(app, scope, dict(scope["headers"]))).api, head_in_allow=False
            ))
        )
        """The Starlette app that routes every request the index does not answer."""
        self.asgi.router.redirect_slashes = False  # /tasks/ is no operation: a 404, not a redirect
        self.router = self.asgi.router

    def receive_operation(self, op: Operation) -> None:
        at = self.paths.get(op.path)
        if at is None:
            at = self.paths[op.path] = OperationsAt(op.path)
        other = at.operations.get(op.method)
        if other is not None:
            raise ConfigurationError(f"{op.method} {op.path} is declared by both {other.qualname} and {op.qualname}")
        at.operations[op.method] = op
        at.endpoints[op.method] = self.endpoints[op] = rest_endpoint(self.app, op)
        self._routes[op.path] = Route(op.path, at, methods=sorted(at.operations), name=op.path)
        self._build()

    def mount(self, prefix: str, asgi: ASGIApp) -> None:
        prefix = prefix.rstrip("/") or "/"
        self.sub_apps.append((prefix, asgi))
        self.sub_apps.sort(key=lambda m: -len(m[0]))
        self._mounts = []
        seen: set[str] = set()
        for at, sub in self.sub_apps:
            if at in seen:  # the first one mounted at a prefix keeps it
                continue
            seen.add(at)
            wrapped = PluginApp(sub, self.app)
            if at != "/":
                self._mounts.append(Route(at, wrapped, name=at))  # the prefix itself: a Mount matches only under it
            self._mounts.append(Mount("" if at == "/" else at, app=wrapped))
        self._build()

    def _build(self) -> None:
        """The router's routes (static paths, templated ones, mounts) and the indexes built
        from them: a route with a static path is indexed unless an earlier route matches
        its path too (Starlette would try that one first)."""
        static = [r for r in self._routes.values() if not r.param_convertors]
        templated = [r for r in self._routes.values() if r.param_convertors]
        routes: list[BaseRoute] = [*static, *templated, *self._mounts]
        self.router.routes = routes
        endpoints: dict[str, dict[str, Endpoint]] = {}
        apps: dict[str, ASGIApp] = {}
        for i, route in enumerate(routes):
            if not isinstance(route, Route) or route.param_convertors:
                continue
            if any(isinstance(r, (Route, Mount)) and r.path_regex.match(route.path) for r in routes[:i]):
                continue
            if isinstance(route.endpoint, OperationsAt):
                endpoints[route.path] = {method: route.endpoint.endpoint(method) for method in route.methods or ()}
            elif isinstance(route.endpoint, PluginApp) and route.methods is None:
                apps[route.path] = route.endpoint
        self.static_endpoints = endpoints
        self.static_apps = apps
        # The templated routes in the router's order (all of them before the mounts): the
        # first that matches in full is the one Starlette's walk would pick, since every
        # route before them is static and a static route of the same path that serves the
        # method is in the index already.
        self.templated = [(r.path_regex, r) for r in templated]

    def dispatch(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """A request :attr:`static_endpoints` does not answer: a plugin's app at its exact
        prefix (:attr:`static_apps`, ``/graphql``), an operation at a templated path that
        Starlette's :meth:`Route.matches <starlette.routing.Route.matches>` accepts in full
        (path, parameters, method), else whatever Starlette's router decides."""
        path = scope["path"]
        app = self.static_apps.get(path)
        if app is not None:
            return app(scope, receive, send)
        for regex, route in self.templated:
            if regex.match(path) is not None:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    return route.app(scope, receive, send)
        return self.asgi(scope, receive, send)
