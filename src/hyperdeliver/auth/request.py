"""Authenticate one HTTP request from its raw headers: a Bearer API token or the session cookie.

Shared by the REST and GraphQL adapters so both answer the same caller the same way.
It never raises: a bad token or a missing CSRF token is reported in the returned
:class:`RequestAuth`, and :meth:`FrontController.authorize` turns it into 401/403 for
the operations that need it (a public operation still answers).

Example:
    >>> import asyncio
    >>> asyncio.run(authenticate_request(None, None, None, None, unsafe=False)).principal.authenticated
    False
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from .principal import ANONYMOUS, NO_COOKIES, Principal

if TYPE_CHECKING:
    from ..app import App

INVALID_TOKEN = "the API token is invalid or revoked"
MISSING_CSRF = "missing or wrong X-CSRF-Token header for a cookie-authenticated request"


def parse_cookies(header: str) -> dict[str, str]:
    """A ``Cookie`` header's cookies by name (quotes around a value dropped).

    >>> parse_cookies('hd_session=abc; hd_csrf="x y"')
    {'hd_session': 'abc', 'hd_csrf': 'x y'}
    """
    out: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            out[name] = value.strip('"')
    return out


class RequestAuth(NamedTuple):
    principal: Principal
    cookies: Mapping[str, str]
    auth_error: str | None
    csrf_error: str | None


NOBODY = RequestAuth(ANONYMOUS, NO_COOKIES, None, None)
"""A request without credentials."""


async def authenticate_request(
    app: App | None,
    authorization: bytes | None,
    cookie: bytes | None,
    csrf_header: bytes | None,
    *,
    unsafe: bool,
) -> RequestAuth:
    """Who sent these headers. ``unsafe`` asks for the CSRF check of a cookie-authenticated write.

    A Bearer token wins over a cookie; a token is never subject to CSRF (a browser does
    not attach it on its own).
    """
    if authorization is not None:
        assert app is not None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        found: Principal | bool | None = None
        if scheme.lower() == "bearer":
            token = token.strip()
            found = app.auth.cached_token(token)
            if found is True:
                found = await app.auth.authenticate_token(token)
        if not found:
            return RequestAuth(ANONYMOUS, NO_COOKIES, INVALID_TOKEN, None)
        answer = RequestAuth(found, NO_COOKIES, None, None)  # type: ignore[arg-type]
        app.auth.remember_header(authorization, answer)
        return answer
    if cookie is None:
        return NOBODY
    assert app is not None
    cookies = parse_cookies(cookie.decode("latin-1"))
    sid = cookies.get(app.settings.session_cookie)
    if not sid:
        return RequestAuth(ANONYMOUS, cookies, None, None)
    found = await app.auth.authenticate_session(sid)
    if found is None:
        return RequestAuth(ANONYMOUS, cookies, None, None)
    return RequestAuth(found, cookies, None, csrf_error(found, csrf_header) if unsafe else None)


def csrf_error(principal: Principal, sent: bytes | None) -> str | None:
    """The one CSRF check, for a cookie-authenticated write: None when ``sent`` (the
    ``X-CSRF-Token`` header, or a form's ``csrf_token`` field) is the session's token,
    else why not. A Bearer token needs none (a browser does not attach it on its own).

    >>> csrf_error(Principal(user_id=1, csrf_token="abc"), b"abc"), csrf_error(Principal(user_id=1, csrf_token="abc"), None)
    (None, 'missing or wrong X-CSRF-Token header for a cookie-authenticated request')
    """
    token = principal.csrf_token
    if sent is not None and token is not None and hmac.compare_digest(sent, token.encode()):
        return None
    return MISSING_CSRF
