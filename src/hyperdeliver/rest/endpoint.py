"""One operation's REST endpoint, built once at start-up: the request hot path.

:func:`rest_endpoint` turns an :class:`~hyperdeliver.operations.Operation` into an ASGI
coroutine function (plus the route's path values) that reads the headers, authenticates,
reads the body, hands over to :meth:`FrontController.call
<hyperdeliver.controller.FrontController.call>`, and writes the response or the
problem+json error.

What the operation's declaration decides (does it take a body, query parameters, an
output; is it a write) is settled here, once, and bound in the closure: at ~30,000
requests a second per core, each ``op.body`` looked up per request is measurable (see
``bench/http_bench.py``). What may change while the app runs (the handler, the
settings) is read per request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

import orjson

from ..auth.principal import ANONYMOUS
from ..context import Context
from ..error_map import error_for
from ..errors import HyperError, UnsupportedMediaType, ValidationFailed
from ..http.front import access_log, answers_over_https, authenticate, cached_caller, client_ip
from ..http.messages import BODY_LIMIT, JSON, ClientDisconnected, is_json, parse_query, read_body, request_id
from ..http.problem import ProblemResponse
from ..types import Receive, Scope, Send
from .binding import json_dumper, rest_errors, rest_validator

if TYPE_CHECKING:
    from ..app import App
    from ..operations import Operation

Endpoint = Callable[[Scope, Receive, Send, dict[str, str]], Awaitable[None]]
"""``endpoint(scope, receive, send, path_values)``: an operation served over HTTP."""

errlog = logging.getLogger("hyperdeliver.error")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_QUERY: dict[str, list[str]] = {}
"""The query of an operation without query parameters (never written to)."""


def rest_endpoint(app: App, op: Operation) -> Endpoint:
    """``op`` served over HTTP: the request's headers, body and query in, JSON or
    problem+json out, with the front controller in between."""
    run = app.controller.runner(op)
    validate = rest_validator(op)
    dump_json = json_dumper(op)
    verified = app.auth.verified_headers  # cleared, never replaced
    unsafe = op.method not in SAFE_METHODS  # a GET operation also answers HEAD, which is safe too
    answers_head = op.method == "GET"
    takes_body = op.body is not None
    takes_query = bool(op.query_params)
    no_output = op.output_adapter is None
    qualname = op.qualname
    headers_sets = app.security_headers  # computed once, appended as is: api on errors, data on a success
    record = app.controller.record

    async def endpoint(scope: Scope, receive: Receive, send: Send, path_values: dict[str, str]) -> None:
        logged = app.settings.access_log  # read per request: a test or a shell may change it
        start = perf_counter() if logged else 0.0
        headers = dict(scope["headers"])  # built in C; a repeated header keeps its last value
        rid = request_id(headers.get(b"x-request-id"))
        ip = client_ip(app, scope, headers)
        ctx = Context(app, rid, ANONYMOUS, "rest", op, ip)
        security = headers_sets.over(answers_over_https(app, scope, headers))
        status = 500
        ran = False  # once the pipeline runs, it counts the call itself
        try:
            auth = cached_caller(verified, headers)  # no await for nobody, or a token verified within token_cache_ttl
            if auth is None:
                auth = await authenticate(app, headers, unsafe=unsafe)
            ctx.principal, ctx.cookies, ctx.auth_error, ctx.csrf_error = auth
            body: bytes | None = None
            if takes_body:
                content_type = headers.get(b"content-type")
                if content_type is not None and not content_type.startswith(JSON) and not is_json(content_type):
                    raise UnsupportedMediaType(f"send JSON (Content-Type: application/json), not {content_type.decode('latin-1')}")
                message = await receive()
                body = message.get("body", b"")
                if message["type"] != "http.request" or message.get("more_body", False) or len(body) > BODY_LIMIT:
                    body = await read_body(receive, first=message)  # streamed, too large, or gone
            query = parse_query(scope["query_string"]) if takes_query else NO_QUERY
            ran = True
            result = await run(ctx, validate, path_values, query, body)
            status = ctx.status or op.status
            if no_output or status == 204:
                payload = b""
                out = [(b"x-request-id", rid.encode("latin-1")), *security.data]
            else:
                payload = b"" if answers_head and scope["method"] == "HEAD" else dump_json(result)
                out = [(b"x-request-id", rid.encode("latin-1")), (b"content-type", JSON), (b"content-length", str(len(payload)).encode()), *security.data]
            if ctx.response_headers:
                out += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ctx.response_headers]
            if ctx.set_cookies:
                out += [(b"set-cookie", c.encode("latin-1")) for c in ctx.set_cookies]
            await send({"type": "http.response.start", "status": status, "headers": out})
            await send({"type": "http.response.body", "body": payload})
        except HyperError as exc:
            status = exc.status
            if isinstance(exc, ValidationFailed) and exc.in_params:
                exc = rest_errors(exc, op)
            extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ctx.response_headers]
            await ProblemResponse(exc, scope["path"], rid, extra + security.api)(scope, receive, send)
        except ClientDisconnected:
            status = 499
        except Exception as exc:
            err = error_for(exc, app.settings.dev)
            status = err.status
            if status == 500:
                errlog.exception("unhandled error in %s (request %s)", qualname, rid)
            else:
                errlog.warning("%s in %s (request %s): %s", err.title, qualname, rid, err.detail)
            await ProblemResponse(err, scope["path"], rid, security.api)(scope, receive, send)
        if not ran:  # refused before the pipeline (authentication, body): counted all the same
            record(op, ctx, status, perf_counter() - start if logged else 0.0)
        if logged:
            access_log(rid, scope["method"], scope["path"], qualname, "rest", status, start, ctx.principal.user_id)

    return endpoint
