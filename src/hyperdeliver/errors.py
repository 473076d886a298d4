"""The exception tree. Every error a client sees leaves as RFC 9457 problem+json.

HyperError                 base; carries status, a stable ``type`` slug, title, detail
├── BadRequest             400
├── Unauthorized           401 (not logged in, bad credentials)
├── Forbidden              403 (logged in, lacks a role; or CSRF failure)
├── NotFound               404
├── MethodNotAllowed       405
├── Conflict               409
├── Gone                   410 (a removed feature)
├── PayloadTooLarge        413
├── UnsupportedMediaType   415
├── ValidationFailed       422, with field errors
├── TooManyRequests        429
├── ServerError            500
└── ServiceUnavailable     503 (the database cannot be reached; ``Retry-After``)
ConfigurationError         a programmer's mistake found at start-up (not an HTTP error)
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://hyperdeliver.dev/problems/"


class HyperError(Exception):
    """An error with an HTTP status, turned into problem+json by the front controller."""

    status: int = 500
    code: str = "server-error"
    title: str = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.detail)

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.code

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(HyperError):
    """400: the request cannot be understood (a bad value outside validation)."""

    status, code, title = 400, "bad-request", "Bad Request"


class Unauthorized(HyperError):
    """401: no valid login or API token."""

    status, code, title = 401, "unauthenticated", "Unauthorized"


class Forbidden(HyperError):
    """403: logged in but lacking a role, or a cookie-authenticated write without its CSRF token."""

    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(HyperError):
    """404: no such route, entity, or a feature flagged off for this caller."""

    status, code, title = 404, "not-found", "Not Found"


class MethodNotAllowed(HyperError):
    """405: the path exists but not with this method (the ``Allow`` header lists them)."""

    status, code, title = 405, "method-not-allowed", "Method Not Allowed"


class Conflict(HyperError):
    """409: the write conflicts with the current state (a duplicate, say)."""

    status, code, title = 409, "conflict", "Conflict"


class Gone(HyperError):
    """410: the feature was removed."""

    status, code, title = 410, "gone", "Gone"


class PayloadTooLarge(HyperError):
    """413: the body is larger than the limit."""

    status, code, title = 413, "payload-too-large", "Content Too Large"


class UnsupportedMediaType(HyperError):
    """415: the body is not JSON."""

    status, code, title = 415, "unsupported-media-type", "Unsupported Media Type"


class ValidationFailed(HyperError):
    """422: the input failed validation; ``errors`` lists each field's problem."""

    status, code, title = 422, "validation-failed", "Unprocessable Content"

    in_params = False
    """Whether ``errors`` name fields by the operation's parameters (``data.assignee_id``),
    as :meth:`on` does; each adapter then puts them where its callers see them (REST:
    ``body.assignee_id``, ``path.task_id``)."""

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        self.errors = errors
        super().__init__(detail or "The input is not valid.", extra={"errors": errors})

    @classmethod
    def on(cls, field: str, msg: str, type: str = "value_error") -> ValidationFailed:
        """A handler's 422 for one field its checks refused, named as the handler's
        parameters name it: ``raise ValidationFailed.on("data.assignee_id", "no user 7")``.

        >>> ValidationFailed.on("data.tags.0", "unknown tag").errors[0]["loc"]
        ['data', 'tags', 0]
        """
        loc: list[str | int] = [int(p) if p.isdigit() else p for p in field.split(".")]
        exc = cls([{"loc": loc, "field": field, "msg": msg, "type": type}], f"{field}: {msg}")
        exc.in_params = True
        return exc


class TooManyRequests(HyperError):
    """429: slow down (``Retry-After`` says how long)."""

    status, code, title = 429, "too-many-requests", "Too Many Requests"


class ServerError(HyperError):
    """500: an unexpected error; details only in dev mode."""

    status, code, title = 500, "server-error", "Internal Server Error"


class ServiceUnavailable(HyperError):
    """503: a dependency (the database) cannot be reached; ``Retry-After`` says when to try again."""

    status, code, title = 503, "service-unavailable", "Service Unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail or "the database is unavailable; try again shortly", headers={"Retry-After": str(retry_after)})


class ConfigurationError(Exception):
    """A mistake in how the app is declared, reported at start-up with what to change."""


def first_line(value: object) -> str:
    """The first non-empty line of ``str(value)``: drivers, SQLAlchemy and pydantic append
    more lines (the SQL, a docs link) to their errors' text. Empty when there is none.

    >>> first_line(ValueError("\\nno such table: hd_users\\n[SQL: SELECT 1]"))
    'no such table: hd_users'
    """
    for line in str(value).splitlines():
        if line.strip():
            return line.strip()
    return ""


def field_errors(exc: Any, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """Turn a Pydantic ``ValidationError`` into stable, JSON-safe field errors."""
    out = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = list(prefix) + [p for p in err["loc"]]
        out.append({"loc": loc, "field": ".".join(str(p) for p in loc), "msg": err["msg"], "type": err["type"]})
    return out
