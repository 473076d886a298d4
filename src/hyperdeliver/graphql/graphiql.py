"""GraphiQL, the in-browser GraphQL IDE, served at ``GET /graphql`` in dev mode.

The JavaScript is vendored in ``static/``, with each package's LICENSE beside it;
nothing is loaded from a CDN. graphiql 5 ships no UMD build, so these are:

- graphiql 3.9.0: ``graphiql.min.js``, ``graphiql.min.css`` (``GRAPHIQL-LICENSE``)
- react 18.3.1: ``umd/react.production.min.js`` (``REACT-LICENSE``)
- react-dom 18.3.1: ``umd/react-dom.production.min.js`` (``REACT-DOM-LICENSE``)

To refresh: ``npm pack graphiql@3 react@18 react-dom@18`` in a scratch folder and copy
those files. The page sends the ``hd_csrf`` cookie back as ``X-CSRF-Token`` so
mutations work after a login.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from ..app import App

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} GraphQL</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
<link rel="stylesheet" href="{prefix}/static/graphiql.min.css"></head>
<body><div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="graphiql-config">{config}</script>
<script src="{prefix}/static/react.production.min.js"></script>
<script src="{prefix}/static/react-dom.production.min.js"></script>
<script src="{prefix}/static/graphiql.min.js"></script>
<script src="{prefix}/static/graphiql-init.js"></script>
</body></html>"""
"""No inline script: the configuration is a JSON data block that ``graphiql-init.js`` reads."""

STATIC: dict[str, str] = {
    "graphiql.min.css": "text/css; charset=utf-8",
    "graphiql.min.js": "application/javascript; charset=utf-8",
    "react.production.min.js": "application/javascript; charset=utf-8",
    "react-dom.production.min.js": "application/javascript; charset=utf-8",
    "graphiql-init.js": "application/javascript; charset=utf-8",
}
"""The vendored files served under ``/graphql/static/`` (in dev mode), with their content types."""


def page(title: str, prefix: str, csrf_cookie: str) -> bytes:
    """The GraphiQL HTML page for an endpoint at ``prefix``."""
    config = json.dumps({"endpoint": prefix, "csrf_cookie": csrf_cookie}).replace("<", "\\u003c")
    return PAGE.format(title=html.escape(title), prefix=prefix, config=config).encode()


def static_files(prefix: str, app: App) -> Route:
    """The route of ``{prefix}/static/{name}``: a vendored file, in dev mode only (``app.settings.dev``,
    read per request); any other name, or any name outside dev mode, a 404
    (problem+json, through the exception-handler table)."""

    async def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        content_type = STATIC.get(name)
        if content_type is None or not app.settings.dev:
            raise HTTPException(404)
        data = resources.files("hyperdeliver.graphql").joinpath("static", name).read_bytes()
        return Response(data, headers={"content-type": content_type, "cache-control": "public, max-age=86400"})

    return Route(prefix + "/static/{name}", static_file)
