"""The REST adapter's ASGI entry: route, authenticate, hand over to the front controller.

This is the request hot path, so it is plain ASGI: one header scan, a dict hit for the
route, and one pass through :class:`~hyperdeliver.controller.FrontController`.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import TYPE_CHECKING, Any

import orjson

from ..auth.principal import ANONYMOUS
from ..auth.request import authenticate_cached, authenticate_request
from ..context import Context
from ..errors import HyperError, MethodNotAllowed, NotFound, UnsupportedMediaType, ValidationFailed
from ..operations import rest_errors
from ..types import ASGIApp, Receive, Scope, Send
from .http import BODY_LIMIT, JSON, ClientDisconnected, is_json, parse_query, read_body, scan_headers, send_problem, server_error
from .http import request_id as new_request_id
from .router import Router

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("hyperdeliver.access")
errlog = logging.getLogger("hyperdeliver.error")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_QUERY: dict[str, list[str]] = {}
"""The query of an operation without query parameters (never written to)."""


class RestAdapter:
    """Serves every operation at its declared method and path."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.router = Router()
        self.mounts: list[tuple[str, ASGIApp]] = []

    def receive_operation(self, op: Any) -> None:
        self.router.add(op)

    def mount(self, prefix: str, asgi: ASGIApp) -> None:
        self.mounts.append((prefix.rstrip("/") or "/", asgi))
        self.mounts.sort(key=lambda m: -len(m[0]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route, then the whole request in this one coroutine (each nested coroutine
        would cost a frame per request)."""
        path: str = scope["path"]
        methods = self.router.static.get(path)
        path_values: dict[str, str] = {}
        if methods is None:
            methods, path_values = self.router.match(path)
            if methods is None:
                for prefix, sub in self.mounts:
                    if path == prefix or path.startswith(prefix + "/") or prefix == "/":
                        await sub(scope, receive, send)
                        return
                await send_problem(send, NotFound(f"no operation at {path}"), path)
                return
        method: str = scope["method"]
        op = methods.get("GET" if method == "HEAD" else method)
        if op is None:
            allow = ", ".join(sorted(methods))
            await send_problem(send, MethodNotAllowed(f"{method} is not served at {path}; use {allow}", headers={"Allow": allow}), path)
            return
        app = self.app
        logged = app.settings.access_log
        start = perf_counter() if logged else 0.0
        authorization, cookie, csrf_header, request_id, content_type, _accept = scan_headers(scope["headers"])
        rid = new_request_id(request_id)
        client = scope.get("client")
        ctx = Context(app, rid, ANONYMOUS, "rest", op, client[0] if client else "")
        status = 500
        try:
            auth = authenticate_cached(app, authorization, cookie)
            if auth is None:
                auth = await authenticate_request(app, authorization, cookie, csrf_header, unsafe=method not in SAFE_METHODS)
            ctx.principal, ctx.cookies, ctx.auth_error, ctx.csrf_error = auth
            body: bytes | None = None
            if op.body is not None:
                if content_type is not None and not content_type.startswith(JSON) and not is_json(content_type):
                    raise UnsupportedMediaType(f"send JSON (Content-Type: application/json), not {content_type.decode('latin-1')}")
                message = await receive()
                body = message.get("body", b"")
                if message["type"] != "http.request" or message.get("more_body", False) or len(body) > BODY_LIMIT:
                    body = await read_body(receive, first=message)  # streamed, too large, or gone
            query = parse_query(scope["query_string"]) if op.query_params else NO_QUERY
            result = await app.controller.call(op, ctx, op.validate_rest, path_values, query, body)
            status = ctx.status or op.status
            if op.output_adapter is None or status == 204:
                payload = b""
                headers = [(b"x-request-id", rid.encode("latin-1"))]
            else:
                payload = b"" if method == "HEAD" else op.dump_json(result)
                headers = [(b"x-request-id", rid.encode("latin-1")), (b"content-type", JSON), (b"content-length", str(len(payload)).encode())]
            if ctx.response_headers:
                headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ctx.response_headers]
            if ctx.set_cookies:
                headers += [(b"set-cookie", c.encode("latin-1")) for c in ctx.set_cookies]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
        except HyperError as exc:
            status = exc.status
            if isinstance(exc, ValidationFailed) and exc.in_params:
                exc = rest_errors(exc, op)
            extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ctx.response_headers]
            await send_problem(send, exc, path, rid, extra)
        except ClientDisconnected:
            status = 499
        except Exception as exc:
            status = 500
            errlog.exception("unhandled error in %s (request %s)", op.qualname, rid)
            await send_problem(send, server_error(exc, app.settings.dev), path, rid)
        if logged and log.isEnabledFor(logging.INFO):
            log.info(
                orjson.dumps(
                    {
                        "request_id": rid,
                        "method": method,
                        "path": path,
                        "operation": op.qualname,
                        "status": status,
                        "ms": round((perf_counter() - start) * 1000, 3),
                        "user": ctx.principal.user_id,
                    }
                ).decode()
            )
