"""OpsPlugin: ``/healthz`` (the process answers), ``/readyz`` (database reachable and
migrations current, else 503), ``/metrics`` (Prometheus text). The per-request JSON
log line is written by the REST adapter (``hyperdeliver.access`` logger)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import Metrics

if TYPE_CHECKING:
    from ..app import App
    from ..types import Receive, Scope, Send


async def _send(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


class OpsPlugin:
    name = "ops"

    def setup(self, app: App) -> None:
        self.app = app
        rec = app.state.get("usage")  # the usage plugin is set up before this one
        self.metrics = m = Metrics(pending=rec.pending_stats if rec is not None else None)
        app.state["metrics"] = m
        if rec is None:
            app.controller.observers.append(m.calls.observe)
        else:  # the recorder already keeps every call: the request metrics are read from it
            rec.stats_sinks.append(m.calls.add_stats)
            rec.drop_sinks.append(m.calls.observe)
            m.add_usage(rec.counters)
            app.state["flush_observer"] = m.flush.observe
        app.rest.mount("/healthz", self.healthz)
        app.rest.mount("/readyz", self.readyz)
        app.rest.mount("/metrics", self.metrics_endpoint)

    async def healthz(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _send(send, 200, b'{"status":"ok"}', "application/json")

    async def readyz(self, scope: Scope, receive: Receive, send: Send) -> None:
        from ..db.migrate import is_current

        db = await self.app.database.ping()
        migrations = db and await is_current(self.app)
        ok = db and migrations
        body = orjson.dumps({"status": "ok" if ok else "unavailable", "database": db, "migrations_current": migrations})
        await _send(send, 200 if ok else 503, body, "application/json")

    async def metrics_endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _send(send, 200, self.metrics.render(), CONTENT_TYPE_LATEST)
