"""OpenAPI 3.1 from the operation registry, served at ``/openapi.json``, docs at ``/docs``
(a small Starlette app: :class:`OpenAPIPlugin`)."""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..http.problem import exception_handlers
from ..http.security_headers import TOOL_CSP
from ..operations import Operation, bounded_int
from ..plugins import Mount, Plugin

if TYPE_CHECKING:
    from ..app import App

REF = "#/components/schemas/{model}"
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "field": {"type": "string"},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status"],
}


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}


def _problem(description: str, status: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in (429, 503):
        out["headers"] = _RETRY_AFTER
    return out


def error_statuses(op: Operation) -> dict[int, str]:
    """Every error status ``op`` can answer, with why: what the front controller and the
    adapters produce for its shape, plus the ones it declares in ``opt["responses"]``.

    >>> from hyperdeliver import Feature, PUBLIC
    >>> f = Feature("f", owner="o@x.dev")
    >>> @f.query("GET /things/{thing_id}", roles={"member"})
    ... async def thing(ctx, thing_id: int) -> int: ...
    >>> sorted(error_statuses(thing.operation))
    [401, 403, 404, 410, 422, 503]
    """
    roles = sorted(op.roles or ())
    out: dict[int, str] = {
        401: "Not logged in, or the API token is invalid or revoked" if not op.public else "The API token sent is invalid or revoked",
    }
    if not op.public:
        out[403] = f"Lacks every one of the roles {roles}" + (", or a cookie-authenticated write without its CSRF token" if op.kind == "mutation" else "")
    elif op.kind == "mutation":
        out[403] = "A cookie-authenticated write without its CSRF token"
    out[404] = "No such entity, or the feature is turned off for the caller"
    if op.kind == "mutation":
        out[409] = "The change conflicts with the stored data (a unique or foreign-key constraint)"
    out[410] = "The feature was removed"
    if op.body is not None:
        out[413] = "The body is larger than the limit (10 MiB)"
        out[415] = "The body is not JSON (send Content-Type: application/json)"
    if op.params or op.body is not None:
        out[422] = "The input is not valid; `errors` lists the fields"
    out[503] = "The database is unavailable; try again after Retry-After seconds"
    for status, description in (op.opt.get("responses") or {}).items():
        out[int(status)] = description
    return dict(sorted(out.items()))


NO_NUL = "^[^\\u0000]*$"
"""What every free-form string input states: no NUL (refused with a 422, see
:func:`~hyperdeliver.operations.unstorable`; JSON cannot carry a lone surrogate)."""


def storable_strings(schema: Any) -> None:
    """Add :data:`NO_NUL` to every string schema in ``schema`` that has no pattern,
    format or fixed values of its own (in place)."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
            schema["pattern"] = NO_NUL
        for value in schema.values():
            storable_strings(value)
    elif isinstance(schema, list):
        for value in schema:
            storable_strings(value)


def build_openapi(app: App) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every operation of ``app``."""
    inputs: list[tuple[Any, Any, TypeAdapter[Any]]] = []
    for op in app.operations:
        if op.body_adapter is not None:
            inputs.append(((op.qualname, "body"), "validation", op.body_adapter))
        if op.output_adapter is not None:
            inputs.append(((op.qualname, "out"), "serialization", op.output_adapter))
        for p in op.path_params + op.query_params:
            inputs.append(((op.qualname, "param", p.name), "validation", TypeAdapter(bounded_int(p.annotation))))
    mapping, defs = TypeAdapter.json_schemas(inputs, ref_template=REF) if inputs else ({}, {})
    schemas = dict(defs.get("$defs", {}))
    for value in [*schemas.values(), *mapping.values()]:
        storable_strings(value)
    schemas["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for op in app.operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, mapping)
    return {
        "openapi": "3.1.0",
        "info": {"title": app.name, "version": app.settings.release or "0.0.0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token from POST /auth/tokens"},
                "session": {"type": "apiKey", "in": "cookie", "name": app.settings.session_cookie},
            },
        },
        "tags": [{"name": f.name, "description": f"{f.summary} (owner: {f.owner})"} for f in app.features.values()],
    }


def _operation(op: Operation, mapping: dict[Any, Any]) -> dict[str, Any]:
    roles = sorted(op.roles or ())
    out: dict[str, Any] = {
        "operationId": op.qualname,
        "summary": op.summary,
        "description": op.description,
        "tags": [op.feature.name],
        "x-roles": roles,
        "x-owner": op.feature.owner,
    }
    params = []
    for p in op.path_params + op.query_params:
        param: dict[str, Any] = {
            "name": p.name,
            "in": p.location,
            "required": p.location == "path" or p.required,
            "schema": mapping[((op.qualname, "param", p.name), "validation")],
        }
        params.append(param)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body.required,
            "content": {"application/json": {"schema": mapping[((op.qualname, "body"), "validation")]}},
        }
    ok: dict[str, Any] = {"description": "Success"}
    if op.output_adapter is not None and op.status != 204:
        ok["content"] = {"application/json": {"schema": mapping[((op.qualname, "out"), "serialization")]}}
    responses: dict[str, Any] = {str(op.status): ok}
    for status, description in error_statuses(op).items():
        responses[str(status)] = _problem(description, status)
    if not op.public:
        out["security"] = [{"bearer": []}, {"session": []}]
    out["responses"] = responses
    return out


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script type="application/json" id="docs-config">{config}</script>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/docs-init.js"></script>
</body></html>"""
"""No inline script: ``docs-init.js`` reads the configuration from the JSON data block."""

STATIC = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "application/javascript", "docs-init.js": "application/javascript"}
"""The vendored files served under ``/docs/static/``, with their content types (nothing else there is)."""


class OpenAPIPlugin(Plugin):
    """Serves ``/openapi.json`` and an interactive Swagger UI page at ``/docs``: a small
    Starlette app (GET and HEAD; another path under ``/docs`` a 404, another method a
    405, both problem+json through :func:`~hyperdeliver.http.problem.exception_handlers`),
    mounted at both prefixes."""

    name = "openapi"

    def setup(self, app: App) -> None:
        self.app = app
        self._doc: bytes | None = None
        self.asgi = Starlette(
            routes=[
                Route("/openapi.json", self.serve_document),
                Route("/docs", self.serve_docs),
                Route("/docs/", self.serve_docs),
                Route("/docs/static/{name}", self.serve_static),
            ],
            exception_handlers=dict(exception_handlers("no page at")),
        )
        self.asgi.router.redirect_slashes = False  # /openapi.json/ is no page (a 404, not a redirect)

    def mounts(self) -> list[Mount]:
        return [("/openapi.json", self.asgi), ("/docs", self.asgi)]

    async def serve_document(self, request: Request) -> Response:
        if self._doc is None:
            self._doc = orjson.dumps(build_openapi(self.app))
        return Response(self._doc, media_type="application/json")

    async def serve_docs(self, request: Request) -> Response:
        config = orjson.dumps({"url": "/openapi.json", "csrf_cookie": self.app.settings.csrf_cookie}).decode().replace("<", "\\u003c")
        html = DOCS_HTML.format(title=escape(self.app.name), config=config)
        return HTMLResponse(html, headers={"content-security-policy": TOOL_CSP.decode()})

    async def serve_static(self, request: Request) -> Response:
        name = request.path_params["name"]
        content_type = STATIC.get(name)
        if content_type is None:
            raise HTTPException(404)  # the table answers it: "no page at /docs/static/..."
        data = resources.files("hyperdeliver.rest").joinpath("static", name).read_bytes()
        return Response(data, headers={"content-type": content_type, "cache-control": "public, max-age=86400"})
