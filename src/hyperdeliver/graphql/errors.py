"""The GraphQL renderer of errors: the one mapping's answer (:func:`hyperdeliver.error_map.error_for`)
as a GraphQL error with ``extensions.code``.

The HTTP status a REST client would see maps onto the code GraphQL clients expect
(Apollo's names where they exist), and travels as ``extensions.status`` too, so one
operation answers the same way through both adapters.

Example:
    >>> from hyperdeliver.errors import NotFound
    >>> graphql_error(NotFound("no task 7"), dev=False).formatted["extensions"]
    {'code': 'NOT_FOUND', 'status': 404}
    >>> graphql_error(RuntimeError("secret"), dev=False).formatted["message"]
    'an unexpected error occurred; the request id is in the logs'
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from ..error_map import error_for
from ..errors import ValidationFailed
from .names import camel

CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    410: "GONE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "BAD_USER_INPUT",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

# Request-level codes: the request is refused before any resolver runs.
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
MAX_TOKENS = "MAX_TOKENS_EXCEEDED"
MAX_DEPTH = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES = "MAX_ALIASES_EXCEEDED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
BATCHING_DISABLED = "BATCHING_DISABLED"


def code_for(status: int) -> str:
    """``404`` -> ``"NOT_FOUND"``; an unknown status keeps its class (4xx: BAD_REQUEST)."""
    return CODES.get(status) or ("BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")


def graphql_fields(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Field errors with GraphQL names: ``["data", "assignee_id"]`` -> ``["data", "assigneeId"]``."""
    out = []
    for err in errors:
        loc = [camel(p) if isinstance(p, str) else p for p in err["loc"]]
        out.append({**err, "loc": loc, "field": ".".join(str(p) for p in loc)})
    return out


def graphql_error(exc: BaseException, dev: bool) -> GraphQLError:
    """The GraphQL error for any exception a field's call raised (see :func:`error_for`)."""
    err = error_for(exc, dev)
    extensions: dict[str, Any] = {"code": code_for(err.status), "status": err.status}
    if isinstance(err, ValidationFailed):
        extensions["errors"] = graphql_fields(err.errors)
    elif dev and "traceback" in err.extra:
        extensions["traceback"] = err.extra["traceback"]
    return GraphQLError(err.detail, extensions=extensions)


def request_error(message: str, code: str) -> dict[str, Any]:
    """A formatted error for a refused request (no resolver ran)."""
    return {"message": message, "extensions": {"code": code}}
