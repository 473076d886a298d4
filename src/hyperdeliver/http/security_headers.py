"""Security headers on every response: computed once from the settings, appended as is.

Every answer (JSON, problem+json, a 404, the dashboard's pages, /docs, GraphiQL) carries:

- ``X-Content-Type-Options: nosniff``: a browser never guesses a type from content
- ``Referrer-Policy``: ``no-referrer`` on data, ``strict-origin-when-cross-origin`` on
  pages: no paths or queries leak to other sites
- ``X-Frame-Options: DENY`` (and on pages CSP ``frame-ancestors 'none'``): never in a frame
- ``Content-Security-Policy`` on HTML pages: scripts, styles, images and fetches from the
  app's own origin only, no inline script (the pages' scripts are vendored files), no
  plugins, no ``<base>``. Data answers (JSON, problem+json) carry no CSP: with
  ``nosniff`` a browser never renders them as a document, and each header is paid for
  on every request
- ``Strict-Transport-Security`` in production (``hsts_max_age``; 0 sends none), on an
  answer over HTTPS only: the request's scheme, or a trusted proxy's
  ``X-Forwarded-Proto`` (RFC 6797 §7.2: never over plain HTTP, where a browser ignores it)

An operation's successful JSON answer (the hot path) carries ``nosniff`` and HSTS only,
unless ``security_headers_on_data`` is set: Referrer-Policy and frame denial protect
documents a browser renders, which JSON served with ``nosniff`` never is.

The REST hot path adds the precomputed list to the headers it builds anyway (no work
per request beyond a list extend); mounted apps (dashboard, GraphQL, docs, ops) get
theirs through :meth:`SecurityHeaders.wrap`, which picks the HTML policy for
``text/html`` answers and leaves alone a header the answer set itself.

Example:
    >>> from hyperdeliver import Settings
    >>> h = SecurityHeaders(Settings(env="production", database_url="sqlite://"))
    >>> dict(h.api)[b"strict-transport-security"]
    b'max-age=31536000'
    >>> [name for name, _ in h.data], [name for name, _ in h.over(https=False).data]
    ([b'x-content-type-options', b'strict-transport-security'], [b'x-content-type-options'])
    >>> b"script-src 'self'" in dict(h.html)[b"content-security-policy"]
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ..types import Message, Send

if TYPE_CHECKING:
    from ..settings import Settings

Headers = list[tuple[bytes, bytes]]

HTML_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
TOOL_CSP = HTML_CSP.replace(b"style-src 'self'", b"style-src 'self' 'unsafe-inline'")
"""For /docs and GraphiQL: their vendored React components set inline styles; scripts stay 'self' only."""


class HeaderSet(NamedTuple):
    """The security headers of one kind of connection (HTTPS or plain HTTP)."""

    api: Headers
    """Every non-HTML answer but an operation's success: problems, 404s, /metrics."""
    data: Headers
    """An operation's successful JSON answer."""
    html: Headers
    """HTML pages (the dashboard)."""
    tool: Headers
    """/docs and GraphiQL (their CSP allows inline styles)."""


class SecurityHeaders:
    """The headers the answers of one app carry: :attr:`data` on an operation's successful
    JSON, :attr:`api` on every other non-HTML answer (problems, 404s, /metrics), :attr:`html`
    on pages; these are what an HTTPS answer carries, and :attr:`http` is the same without
    ``Strict-Transport-Security``, which an answer over plain HTTP must not carry (RFC 6797
    §7.2; Django and Rails send it on secure requests only). Which one a request gets is
    :func:`~hyperdeliver.http.front.is_https`'s answer."""

    __slots__ = ("api", "data", "html", "tool", "names", "https", "http", "hsts")

    def __init__(self, settings: Settings) -> None:
        on = settings.security_headers
        hsts: Headers = []
        if on and settings.env == "production" and settings.hsts_max_age > 0:
            value = f"max-age={settings.hsts_max_age}" + ("; includeSubDomains" if settings.hsts_include_subdomains else "")
            hsts = [(b"strict-transport-security", value.encode())]
        self.https = _header_set(settings, hsts)
        self.http = _header_set(settings, [])
        self.hsts = bool(hsts)
        """Whether an HTTPS answer carries more than a plain one (HSTS is on)."""
        self.api, self.data, self.html, self.tool = self.https
        self.names = frozenset(name for name, _ in self.html)

    def over(self, https: bool) -> HeaderSet:
        """The set for an answer over HTTPS (``https``) or plain HTTP."""
        return self.https if https else self.http

    def for_response(self, headers: Headers, https: bool = True) -> Headers:
        """The ones ``headers`` (an answer's own) lack, the HTML set for an HTML answer."""
        own = {name.lower() for name, _ in headers}
        html = any(name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers)
        chosen = self.over(https)
        return [h for h in (chosen.html if html else chosen.api) if h[0] not in own]

    def wrap(self, send: Send, https: bool = True) -> Send:
        """``send`` adding the headers to the answer's start (for mounted apps)."""
        if not self.names:
            return send

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                message = {**message, "headers": headers + self.for_response(headers, https)}
            await send(message)

        return send_with_headers


def _header_set(settings: Settings, hsts: Headers) -> HeaderSet:
    on = settings.security_headers
    # Each header costs uvicorn's serializer a Python loop turn and two regex scans on
    # every request (~5,000 instructions, bench/http_instructions.py): a successful JSON
    # answer, the hot path, carries only what protects data (nosniff, HSTS) unless
    # ``security_headers_on_data`` asks for the whole set there too.
    api: Headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        *hsts,
    ] if on else []
    html_common: Headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        *hsts,
    ] if on else []
    data: Headers = api if settings.security_headers_on_data else [(b"x-content-type-options", b"nosniff"), *hsts] if on else []
    html = html_common + ([(b"content-security-policy", HTML_CSP)] if on else [])
    tool = html_common + ([(b"content-security-policy", TOOL_CSP)] if on else [])
    return HeaderSet(api, data, html, tool)
