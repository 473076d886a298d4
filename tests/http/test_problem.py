"""The HTTP renderer of errors: problem+json, and the exception-handler table of the framework's Starlette apps."""

from __future__ import annotations

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hyperdeliver.errors import Conflict, ServiceUnavailable
from hyperdeliver.http.problem import ProblemResponse, exception_handlers


def test_a_problem_carries_the_errors_headers_the_request_id_and_the_extra_headers() -> None:
    r = ProblemResponse(ServiceUnavailable(), "/tasks", "rid-7", [(b"x-frame-options", b"DENY")])
    assert r.status_code == 503
    assert orjson.loads(r.body) == {
        "type": "https://hyperdeliver.dev/problems/service-unavailable",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "the database is unavailable; try again shortly",
        "instance": "/tasks",
        "request_id": "rid-7",
    }
    assert r.headers["retry-after"] == "5" and r.headers["x-request-id"] == "rid-7" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-type"] == "application/problem+json" and r.headers["content-length"] == str(len(r.body))


async def test_the_table_answers_routing_errors_and_raised_hyper_errors_as_problems() -> None:
    async def clash(request: Request) -> Response:
        raise Conflict("taken")

    app = Starlette(routes=[Route("/clash", clash, methods=["POST"])], exception_handlers=dict(exception_handlers("nothing at")))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/clash")
        assert (r.status_code, r.json()["detail"], r.headers["content-type"]) == (409, "taken", "application/problem+json")
        r = await c.get("/clash")
        assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["detail"] == "GET is not served at /clash; use POST"
        r = await c.get("/elsewhere")
        assert r.status_code == 404 and r.json()["detail"] == "nothing at /elsewhere"
