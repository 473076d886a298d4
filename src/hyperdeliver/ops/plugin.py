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

from ..errors import MethodNotAllowed, NotFound
from ..http.problem import ProblemResponse
from .metrics import Metrics

if TYPE_CHECKING:
    from ..app import App
    from ..types import ASGIApp, Receive, Scope, Send

Probe = Callable[[], Awaitable[tuple[int, bytes, str]]]
"""An ops endpoint's answer: ``(status, body, content type)``."""

ALLOW = "GET, HEAD"


def _endpoint(path: str, probe: Probe) -> ASGIApp:
    """The ASGI app serving ``probe`` at exactly ``path`` to GET and HEAD.

    The REST adapter hands a mount every path under its prefix, so subpaths are
    turned away here.
    """

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != path:
            await ProblemResponse(NotFound(f"no endpoint at {scope['path']}"), scope["path"])(scope, receive, send)
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            exc = MethodNotAllowed(f"{method} is not served at {path}; use {ALLOW}", headers={"Allow": ALLOW})
            await ProblemResponse(exc, path)(scope, receive, send)
            return
        status, body, content_type = await probe()
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    return endpoint


class OpsPlugin:
    name = "ops"

    def setup(self, app: App) -> None:
        self.app = app
        rec = app.state.get("usage")  # the usage plugin is set up before this one
        self.metrics = m = Metrics(pending=rec.pending_stats if rec is not None else None)
        app.state["metrics"] = m
        m.add_pool(app.database.pool_status)
        if rec is None:
            app.controller.observers.append(m.calls.observe)
        else:  # the recorder already keeps every call: the request metrics are read from it
            rec.stats_sinks.append(m.calls.add_stats)
            rec.drop_sinks.append(m.calls.observe)
            m.add_usage(rec.counters)
            app.state["flush_observer"] = m.flush.observe
        app.rest.mount("/healthz", _endpoint("/healthz", self.healthz))
        app.rest.mount("/readyz", _endpoint("/readyz", self.readyz))
        app.rest.mount("/metrics", _endpoint("/metrics", self.metrics_endpoint))

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
