"""The HTTP renderer of errors: RFC 9457 ``application/problem+json``.

Every HTTP answer for an error is a :class:`ProblemResponse` of the one mapping's
:class:`~hyperdeliver.errors.HyperError` (:func:`hyperdeliver.error_map.error_for`), whoever
serves the path: an operation, the routers' 404/405 (through the one table,
:func:`exception_handlers`), the dashboard, ops, the docs.

Example:
    >>> from hyperdeliver.errors import NotFound
    >>> r = ProblemResponse(NotFound("no task 7"), "/tasks/7", "rid-1")
    >>> r.status_code, r.body
    (404, b'{"type":"https://hyperdeliver.dev/problems/not-found","title":"Not Found","status":404,"detail":"no task 7","instance":"/tasks/7","request_id":"rid-1"}')
    >>> r.headers["x-request-id"], r.headers["content-type"]
    ('rid-1', 'application/problem+json')
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import HyperError, MethodNotAllowed, NotFound
from ..types import Scope

PROBLEM = "application/problem+json"


class ProblemResponse(Response):
    """A :class:`HyperError` as problem+json: its status, its headers (``Allow``,
    ``Retry-After``, ``WWW-Authenticate``), the request id (in the body and as
    ``X-Request-ID``), then ``headers`` (the security headers, an operation's own)."""

    media_type = PROBLEM

    def __init__(
        self, exc: HyperError, instance: str | None = None, request_id: str | None = None, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        body = exc.problem(instance)
        if request_id:
            body["request_id"] = request_id
        self.status_code = exc.status
        self.background = None
        self.body = orjson.dumps(body)
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
        if request_id:
            raw.append((b"x-request-id", request_id.encode("latin-1")))
        raw += headers
        raw += [(b"content-type", b"application/problem+json"), (b"content-length", str(len(self.body)).encode())]
        self.raw_headers = raw


def http_error(exc: HTTPException, method: str, path: str, nothing_at: str = "no page at", *, head_in_allow: bool = True) -> HyperError:
    """The mapping of Starlette's routing errors: no route at the path (404, "``nothing_at``
    ``path``"), or not with this method (405, ``Allow`` sorted so it is stable; without
    ``HEAD`` when ``head_in_allow`` is False); any other status as is."""
    if exc.status_code == 404:
        return NotFound(f"{nothing_at} {path}")
    if exc.status_code == 405:
        methods = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()}
        if not head_in_allow:
            methods.discard("HEAD")
        allow = ", ".join(sorted(methods))
        return MethodNotAllowed(f"{method} is not served at {path}; use {allow}", headers={"Allow": allow})
    err = HyperError(exc.detail, headers=dict(exc.headers or {}))
    err.status, err.title = exc.status_code, HTTPStatus(exc.status_code).phrase
    err.code = err.title.lower().replace(" ", "-")
    return err


Handler = Callable[[Request, Any], Awaitable[Response]]


def exception_handlers(
    nothing_at: str = "no page at",
    *,
    headers: Sequence[tuple[bytes, bytes]] | Callable[[Scope], Sequence[tuple[bytes, bytes]]] = (),
    head_in_allow: bool = True,
) -> Mapping[Any, Handler]:
    """The exception-handler table of every Starlette app the framework serves (the REST
    router, the docs, GraphiQL's files, the dashboard, ops): Starlette's routing errors
    (:func:`http_error`) and any :class:`HyperError` a route raises, as problem+json.

    Args:
        nothing_at: how a 404 starts its detail (``"no operation at"``: REST's).
        headers: appended to every answer, or a function of the request's scope giving
            them (REST's security headers, HSTS over HTTPS only; a mounted app gets
            them through :meth:`SecurityHeaders.wrap <hyperdeliver.http.security_headers.SecurityHeaders.wrap>`).
        head_in_allow: False leaves ``HEAD`` out of a 405's ``Allow``: REST lists the
            methods its operations declare, and a GET operation answers HEAD without declaring it.
    """

    def extra(request: Request) -> Sequence[tuple[bytes, bytes]]:
        return headers(request.scope) if callable(headers) else headers

    async def routing_error(request: Request, exc: HTTPException) -> Response:
        path = request.url.path
        return ProblemResponse(http_error(exc, request.method, path, nothing_at, head_in_allow=head_in_allow), path, headers=extra(request))

    async def hyper_error(request: Request, exc: HyperError) -> Response:
        return ProblemResponse(exc, request.url.path, headers=extra(request))

    return {HTTPException: routing_error, HyperError: hyper_error}
