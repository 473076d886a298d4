"""Every HyperError maps onto one GraphQL ``extensions.code`` and keeps its HTTP status."""

from __future__ import annotations

import pytest

from hyperdeliver import errors as e
from hyperdeliver.graphql.errors import code_for, graphql_error


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (e.BadRequest(), "BAD_REQUEST"),
        (e.Unauthorized(), "UNAUTHENTICATED"),
        (e.Forbidden(), "FORBIDDEN"),
        (e.NotFound(), "NOT_FOUND"),
        (e.Conflict(), "CONFLICT"),
        (e.Gone(), "GONE"),
        (e.ValidationFailed([{"loc": ["data", "due_at"], "field": "data.due_at", "msg": "bad", "type": "x"}]), "BAD_USER_INPUT"),
        (e.TooManyRequests(), "TOO_MANY_REQUESTS"),
        (e.ServerError(), "INTERNAL_SERVER_ERROR"),
    ],
)
def test_codes(exc: e.HyperError, code: str) -> None:
    formatted = graphql_error(exc, dev=False).formatted
    assert formatted["message"] == exc.detail
    assert formatted["extensions"]["code"] == code
    assert formatted["extensions"]["status"] == exc.status


def test_validation_paths_use_graphql_names() -> None:
    err = graphql_error(e.ValidationFailed([{"loc": ["data", "due_at", 0], "field": "data.due_at.0", "msg": "m", "type": "t"}]), dev=False)
    assert err.extensions is not None
    assert err.extensions["errors"] == [{"loc": ["data", "dueAt", 0], "field": "data.dueAt.0", "msg": "m", "type": "t"}]


def test_unknown_statuses_keep_their_class() -> None:
    assert code_for(418) == "BAD_REQUEST"
    assert code_for(502) == "INTERNAL_SERVER_ERROR"


def test_a_database_down_is_service_unavailable_in_a_field_as_in_the_request() -> None:
    from hyperdeliver.errors import ServiceUnavailable

    assert graphql_error(ServiceUnavailable(), dev=False).formatted["extensions"] == {"code": "SERVICE_UNAVAILABLE", "status": 503}
