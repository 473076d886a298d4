"""The front of every HTTP call, written once: the request id, the client's address,
the caller (authenticated once per request), and the access-log line.

The REST endpoints, the GraphQL endpoint and the dashboard's pages start and end
here; what they do in between is hand the call to the front controller
(:meth:`hyperdeliver.controller.FrontController.runner`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from time import monotonic, perf_counter
from typing import TYPE_CHECKING, Any

import orjson

from ..auth.request import NOBODY, RequestAuth, authenticate_request
from .messages import request_id

if TYPE_CHECKING:
    from ..app import App
    from ..types import Scope

__all__ = ["access_log", "answers_over_https", "authenticate", "cached_caller", "client_ip", "is_https", "request_id"]

log = logging.getLogger("hyperdeliver.access")

Headers = Mapping[bytes, bytes]
"""A request's headers by lower-case name, a repeated one keeping its last value (``dict(scope["headers"])``)."""


def cached_caller(verified: Mapping[bytes, tuple[Any, float]], headers: Headers) -> RequestAuth | None:
    """The caller when no await is needed: nobody (no credentials at all), or a Bearer
    header verified within ``token_cache_ttl`` (``app.auth.verified_headers``); None
    when :func:`authenticate` must ask the database."""
    authorization = headers.get(b"authorization")
    if authorization is not None:
        hit = verified.get(authorization)
        return hit[0] if hit is not None and hit[1] > monotonic() else None  # type: ignore[no-any-return]
    return NOBODY if headers.get(b"cookie") is None else None


async def authenticate(app: App, headers: Headers, *, unsafe: bool, csrf: bytes | None = None) -> RequestAuth:
    """The one authentication of an HTTP request: a Bearer API token, else the session
    cookie (see :func:`~hyperdeliver.auth.request.authenticate_request`). ``unsafe`` asks
    for the CSRF check, of the ``X-CSRF-Token`` header or of ``csrf`` (a form's field)."""
    auth = cached_caller(app.auth.verified_headers, headers)
    if auth is None:
        sent = csrf if csrf is not None else headers.get(b"x-csrf-token")
        auth = await authenticate_request(app, headers.get(b"authorization"), headers.get(b"cookie"), sent, unsafe=unsafe)
    return auth


def client_ip(app: App, scope: Scope, headers: Headers) -> str:
    """The caller's address: the peer's, or ``X-Forwarded-For``'s when the peer is a trusted proxy."""
    client = scope.get("client")
    ip: str = client[0] if client else ""
    if app.proxies.networks:
        ip = app.proxies.client_ip(ip, headers.get(b"x-forwarded-for"))
    return ip


def is_https(app: App, scope: Scope, headers: Headers) -> bool:
    """Whether the client's connection is HTTPS: the request's scheme, or ``X-Forwarded-Proto``
    when the peer is a trusted proxy (a TLS-terminating ingress)."""
    scheme: str = scope.get("scheme", "http")
    if scheme != "https" and app.proxies.networks:
        client = scope.get("client")
        scheme = app.proxies.scheme(client[0] if client else "", scheme, headers.get(b"x-forwarded-proto"))
    return scheme == "https"


def answers_over_https(app: App, scope: Scope, headers: Headers) -> bool:
    """Whether the answer gets the HTTPS set of security headers: asked only when HSTS is
    on (otherwise both sets are the same, and no proxy header is read)."""
    return app.security_headers.hsts and is_https(app, scope, headers)


def access_log(rid: str, method: str, path: str, operation: str | None, interface: str, status: int, start: float, user: int | None) -> None:
    """One access-log line, as JSON, on the ``hyperdeliver.access`` logger (when it logs INFO)."""
    if log.isEnabledFor(logging.INFO):
        line = {
            "request_id": rid,
            "method": method,
            "path": path,
            "operation": operation,
            "interface": interface,
            "status": status,
            "ms": round((perf_counter() - start) * 1000, 3),
            "user": user,
        }
        log.info(orjson.dumps(line).decode())
