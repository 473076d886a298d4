"""OpsPlugin: ``/healthz`` (the process answers), ``/readyz`` (database reachable and
migrations current, else 503), ``/metrics`` (Prometheus text). The per-request JSON
log line is written by the REST adapter (``hyperdeliver.access`` logger).

Each answers its exact path to ``GET`` and ``HEAD`` (no body) only: a subpath is a 404
and another method a 405 with ``Allow: GET, HEAD``, both problem+json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..http.problem import exception_handlers
from ..plugins import Mount, Plugin
from .metrics import Metrics

if TYPE_CHECKING:
    from ..app import App

Probe = Callable[[], Awaitable[tuple[int, bytes, str]]]
"""An ops endpoint's answer: ``(status, body, content type)``."""


def _route(path: str, probe: Probe) -> Route:
    """``probe`` served at exactly ``path`` to GET and HEAD (a HEAD's body left out, its
    Content-Length kept)."""

    async def endpoint(request: Request) -> Response:
        status, body, content_type = await probe()
        headers = {"content-type": content_type, "content-length": str(len(body)), "cache-control": "no-store"}
        return Response(b"" if request.method == "HEAD" else body, status, headers)

    return Route(path, endpoint, methods=["GET"])


class OpsPlugin(Plugin):
    name = "ops"

    def setup(self, app: App) -> None:
        self.app = app
        rec = app.usage  # the usage plugin is set up before this one
        self.metrics = m = Metrics(pending=rec.pending_stats if rec is not None else None)
        m.add_pool(app.database.pool_status)
        if rec is None:
            app.controller.observers.append(m.calls.observe)
        else:  # the recorder already keeps every call: the request metrics are read from it
            rec.stats_sinks.append(m.calls.add_stats)
            rec.drop_sinks.append(m.calls.observe)
            m.add_usage(rec.counters)
            rec.flush_sinks.append(m.flush.observe)

    def mounts(self) -> list[Mount]:
        # One Starlette app, mounted at each path: the REST adapter hands a mount every
        # path under its prefix, and routing turns a subpath (404) or method (405) away.
        ops = Starlette(
            routes=[_route("/healthz", self.healthz), _route("/readyz", self.readyz), _route("/metrics", self.metrics_endpoint)],
            exception_handlers=dict(exception_handlers("no endpoint at")),
        )
        ops.router.redirect_slashes = False  # /healthz/ is no endpoint (a probe does not follow redirects)
        return [(path, ops) for path in ("/healthz", "/readyz", "/metrics")]

    async def healthz(self) -> tuple[int, bytes, str]:
        return 200, b'{"status":"ok"}', "application/json"

    async def readyz(self) -> tuple[int, bytes, str]:
        from ..db.migrate import is_current

        db = await self.app.database.ping()
        migrations = db and await is_current(self.app)
        ok = db and migrations
        body = orjson.dumps({"status": "ok" if ok else "unavailable", "database": db, "migrations_current": migrations})
        return 200 if ok else 503, body, "application/json"

    async def metrics_endpoint(self) -> tuple[int, bytes, str]:
        return 200, self.metrics.render(), CONTENT_TYPE_LATEST
