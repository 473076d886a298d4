"""OpenAPI 3.1 from the operation registry, served at ``/openapi.json``, docs at ``/docs``."""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import TypeAdapter

from ..operations import Operation
from ..types import Receive, Scope, Send
from .http import send_bytes
from .security_headers import TOOL_CSP

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


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def build_openapi(app: App) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every operation of ``app``."""
    inputs: list[tuple[Any, Any, TypeAdapter[Any]]] = []
    for op in app.operations:
        if op.body_adapter is not None:
            inputs.append(((op.qualname, "body"), "validation", op.body_adapter))
        if op.output_adapter is not None:
            inputs.append(((op.qualname, "out"), "serialization", op.output_adapter))
        for p in op.path_params + op.query_params:
            inputs.append(((op.qualname, "param", p.name), "validation", TypeAdapter(p.annotation)))
    mapping, defs = TypeAdapter.json_schemas(inputs, ref_template=REF) if inputs else ({}, {})
    schemas = dict(defs.get("$defs", {}))
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
    if not op.public:
        responses["401"] = _problem("Not logged in, or the API token is invalid")
        responses["403"] = _problem(f"Lacks every one of the roles {roles}")
        out["security"] = [{"bearer": []}, {"session": []}]
    if op.params or op.body:
        responses["422"] = _problem("The input is not valid; `errors` lists the fields")
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

_STATIC = {"swagger-ui.css": b"text/css", "swagger-ui-bundle.js": b"application/javascript", "docs-init.js": b"application/javascript"}


class OpenAPIPlugin:
    """Serves ``/openapi.json`` and an interactive Swagger UI page at ``/docs``."""

    name = "openapi"

    def setup(self, app: App) -> None:
        self.app = app
        self._doc: bytes | None = None
        app.rest.mount("/openapi.json", self.serve_document)
        app.rest.mount("/docs", self.serve_docs)

    async def serve_document(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._doc is None:
            self._doc = orjson.dumps(build_openapi(self.app))
        await send_bytes(send, 200, self._doc)

    async def serve_docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path in ("/docs", "/docs/"):
            config = orjson.dumps({"url": "/openapi.json", "csrf_cookie": self.app.settings.csrf_cookie}).decode().replace("<", "\\u003c")
            html = DOCS_HTML.format(title=escape(self.app.name), config=config).encode()
            await send_bytes(send, 200, html, b"text/html; charset=utf-8", [(b"content-security-policy", TOOL_CSP)])
            return
        name = path.rsplit("/", 1)[-1]
        if path.startswith("/docs/static/") and name in _STATIC:
            data = resources.files("hyperdeliver.rest").joinpath("static", name).read_bytes()
            await send_bytes(send, 200, data, _STATIC[name], [(b"cache-control", b"public, max-age=86400")])
            return
        from ..errors import NotFound
        from .http import send_problem

        await send_problem(send, NotFound(f"no page at {path}"), path)
