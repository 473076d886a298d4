"""Security headers on every response: computed once from the settings, appended as is.

Every answer (JSON, problem+json, a 404, the dashboard's pages, /docs, GraphiQL) carries:

- ``X-Content-Type-Options: nosniff``: a browser never guesses a type from content
- ``Referrer-Policy: strict-origin-when-cross-origin``: no paths or queries leak to other sites
- ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no page of the app in a frame
- ``Content-Security-Policy``: ``default-src 'none'`` for data (JSON has nothing to
  load); for HTML, scripts, styles, images and fetches from the app's own origin only,
  no inline script (the pages' scripts are vendored files), no plugins, no ``<base>``
- ``Strict-Transport-Security`` in production (``hsts_max_age``; 0 sends none)

The REST hot path adds the precomputed list to the headers it builds anyway (no work
per request beyond a list extend); mounted apps (dashboard, GraphQL, docs, ops) get
theirs through :meth:`SecurityHeaders.wrap`, which picks the HTML policy for
``text/html`` answers and leaves alone a header the answer set itself.

Example:
    >>> from hyperdeliver import Settings
    >>> h = SecurityHeaders(Settings(env="production", database_url="sqlite://"))
    >>> dict(h.api)[b"strict-transport-security"]
    b'max-age=31536000'
    >>> b"script-src 'self'" in dict(h.html)[b"content-security-policy"]
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..types import Message, Send

if TYPE_CHECKING:
    from ..settings import Settings

Headers = list[tuple[bytes, bytes]]

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
HTML_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
TOOL_CSP = HTML_CSP.replace(b"style-src 'self'", b"style-src 'self' 'unsafe-inline'")
"""For /docs and GraphiQL: their vendored React components set inline styles; scripts stay 'self' only."""


class SecurityHeaders:
    """The headers every answer of one app carries (:attr:`api` for data, :attr:`html` for pages)."""

    __slots__ = ("api", "html", "tool", "names")

    def __init__(self, settings: Settings) -> None:
        common: Headers = []
        if settings.security_headers:
            common = [
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"strict-origin-when-cross-origin"),
                (b"x-frame-options", b"DENY"),
            ]
            if settings.env == "production" and settings.hsts_max_age > 0:
                value = f"max-age={settings.hsts_max_age}" + ("; includeSubDomains" if settings.hsts_include_subdomains else "")
                common.append((b"strict-transport-security", value.encode()))
        on = settings.security_headers
        self.api: Headers = common + ([(b"content-security-policy", API_CSP)] if on else [])
        self.html: Headers = common + ([(b"content-security-policy", HTML_CSP)] if on else [])
        self.tool: Headers = common + ([(b"content-security-policy", TOOL_CSP)] if on else [])
        self.names = frozenset(name for name, _ in self.html)

    def for_response(self, headers: Headers) -> Headers:
        """The ones ``headers`` (an answer's own) lack, the HTML set for an HTML answer."""
        own = {name.lower() for name, _ in headers}
        html = any(name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers)
        return [h for h in (self.html if html else self.api) if h[0] not in own]

    def wrap(self, send: Send) -> Send:
        """``send`` adding the headers to the answer's start (for mounted apps)."""
        if not self.names:
            return send

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                message = {**message, "headers": headers + self.for_response(headers)}
            await send(message)

        return send_with_headers
