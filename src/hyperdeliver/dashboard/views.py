"""The dashboard's pages: a small Starlette app mounted at ``/_hyper`` on the app's REST adapter.

Pages need the ``admin`` role (``settings.dashboard_role``): an anonymous visitor gets
the login page, another user a 403 page. Forms post with the session's CSRF token in a
hidden field (an API token in ``Authorization`` needs none). A path with no page, a
method a page does not serve and a missing static file answer problem+json (404, or
405 with ``Allow``), as the REST adapter does; an unknown feature's page stays HTML.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

import jinja2
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..auth.principal import Principal
from ..auth.request import authenticate_request, csrf_error
from ..error_map import error_for
from ..errors import HyperError, NotFound
from ..http.problem import ProblemResponse, http_error
from ..lifecycle.states import LIFECYCLES
from ..lifecycle.store import LifecycleError
from ..rest.http import request_id
from ..roles import allows
from . import data

if TYPE_CHECKING:
    from ..app import App
    from ..lifecycle.store import LifecycleStore

errlog = logging.getLogger("hyperdeliver.error")

SaveForm = Callable[["LifecycleStore", str, dict[str, str], str], Awaitable[None]]
"""Applies a feature page's posted form: ``(store, feature, fields, by)``; raises LifecycleError."""

STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _static_dir() -> Path:
    return Path(str(resources.files("hyperdeliver.dashboard"))) / "static"


def fmt_pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.1%}"


def fmt_num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def fmt_ms(value: Any) -> str:
    return "–" if value is None else f"{float(value):,.0f} ms"


def fmt_when(value: Any) -> str:
    if value is None or value == "":
        return "never"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        when: datetime = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def fmt_trend(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)):
        return f"{float(value):+.0%}"
    return str(value)


def fmt_cell(value: Any, key: str = "") -> str:
    """A table cell of unknown shape: rates as percentages, times as UTC, numbers grouped."""
    if value is None:
        return "–"
    if isinstance(value, (datetime, date)):
        return fmt_when(value)
    if isinstance(value, float) and "rate" in key:
        return f"{value:+.1%}" if key.endswith("delta") else f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:+,.1f}" if key.endswith("delta") or key.endswith("delta_ms") else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:+,}" if key.endswith("delta") else f"{value:,}"
    return str(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hyperdeliver.dashboard", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(pct=fmt_pct, num=fmt_num, ms=fmt_ms, when=fmt_when, trend=fmt_trend, cell=fmt_cell)
    env.filters["json"] = lambda v: orjson.dumps(v, default=str).decode().replace("</", "<\\/")
    return env


class Dashboard:
    """The ASGI app behind ``/_hyper``."""

    def __init__(self, app: App, prefix: str = "/_hyper", role: str = "admin") -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.role = role
        self.need = frozenset({role})
        """What the role check (:func:`~hyperdeliver.roles.allows`) asks of a page's caller."""
        self.env = _environment()
        p = self.prefix
        # A Starlette app, not a bare Router: inside one, routing raises HTTPException for
        # 404 and 405 (a bare Router answers text/plain), which the handlers turn into problem+json.
        self.asgi = Starlette(
            routes=[
                Route(p, self.root),
                Route(p + "/", self.overview_page),
                Route(p + "/login", self.login_page),
                Route(p + "/features", self.features_page),
                Route(p + "/features/{name}", self.feature_page),
                Route(p + "/features/{name}/lifecycle", self.lifecycle_post, methods=["POST"]),
                Route(p + "/features/{name}/flag", self.flag_post, methods=["POST"]),
                Route(p + "/sunset", self.sunset_page),
                Route(p + "/jobs", self.jobs_page),
                Route(p + "/delivery", self.delivery_page),
                Route(p + "/api/releases", self.releases_api, methods=["POST"]),
                Route(p + "/static/{file}", self.static),
            ],
            exception_handlers={HTTPException: self.http_error, Exception: self.server_error},
        )
        self.router = self.asgi.router

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.asgi(scope, receive, send)
        except Exception:
            # Starlette has answered (server_error below) and re-raises for the server to
            # log; logged here instead, once, with the request id the answer carries.
            rid = scope.get("hd_request_id") or request_id(dict(scope.get("headers") or ()).get(b"x-request-id"))
            errlog.exception("unhandled error in dashboard page %s (request %s)", scope.get("path"), rid)

    # -- helpers ----------------------------------------------------------------------

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return ProblemResponse(http_error(exc, request.method, request.url.path, "no dashboard page at"), request.url.path)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        # Starlette's ServerErrorMiddleware sends this, then re-raises to __call__.
        rid = request.scope["hd_request_id"] = request_id(request.headers.get("x-request-id", "").encode("latin-1") or None)
        return ProblemResponse(error_for(exc, self.app.settings.dev), request.url.path, rid)

    def render(self, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("prefix", self.prefix)
        ctx.setdefault("app_name", self.app.name)
        ctx.setdefault("principal", None)
        ctx.setdefault("page", "")
        html = self.env.get_template(f"hyperdeliver/dashboard/{name}").render(**ctx)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    async def who(self, request: Request) -> Principal:
        h = request.headers
        auth = await authenticate_request(
            self.app,
            h.get("authorization", "").encode("latin-1") or None,
            h.get("cookie", "").encode("latin-1") or None,
            None,
            unsafe=False,
        )
        return auth.principal

    async def guard(self, request: Request) -> Principal | Response:
        """The admin calling, or the response to send instead (login page, 403 page)."""
        principal = await self.who(request)
        if not principal.authenticated:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{self.prefix}/login?next={quote(target)}", status_code=303)
        if not allows(self.need, principal.effective_roles):
            return self.render("forbidden.html", status=403, principal=principal, role=self.role)
        return principal

    async def form(self, request: Request, principal: Principal) -> dict[str, str] | Response:
        """The posted form, after its CSRF check (403 page when it fails)."""
        body = (await request.body()).decode("utf-8", "replace")
        fields = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        fields["_roles"] = ",".join(parse_qs(body).get("roles", []))
        if principal.via == "session":
            if csrf_error(principal, fields.get("csrf_token", "").encode()) is not None:
                return self.render("forbidden.html", status=403, principal=principal, role=self.role, reason="csrf")
        return fields

    # -- pages --------------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        return RedirectResponse(self.prefix + "/", status_code=308)

    async def login_page(self, request: Request) -> Response:
        nxt = request.query_params.get("next", self.prefix + "/")
        if not nxt.startswith(self.prefix):  # no open redirect
            nxt = self.prefix + "/"
        return self.render("login.html", next=nxt, csrf_cookie=self.app.settings.csrf_cookie)

    async def overview_page(self, request: Request) -> Response:
        principal = await self.guard(request)
        if isinstance(principal, Response):
            return principal
        ov = await data.overview(self.app)
        rel = await data.releases(self.app) or []
        return self.render("overview.html", principal=principal, page="overview", overview=ov, releases=rel)

    async def features_page(self, request: Request) -> Response:
        principal = await self.guard(request)
        if isinstance(principal, Response):
            return principal
        rows, has_usage = await data.feature_rows(self.app)
        return self.render("features.html", principal=principal, page="features", rows=rows, has_usage=has_usage)

    async def feature_page(self, request: Request, message: str = "", error: str = "", status: int = 200) -> Response:
        principal = await self.guard(request)
        if isinstance(principal, Response):
            return principal
        name = request.path_params["name"]
        feature = self.app.features.get(name)
        if feature is None:
            return self.render("notfound.html", status=404, principal=principal, what=f"feature {name!r}")
        store = self.app.state.get("lifecycle")
        state = store.states.get(name) if store is not None else None
        detail = await data.feature_detail(self.app, name)
        rel = await data.releases(self.app) or []
        return self.render(
            "feature.html",
            status=status,
            principal=principal,
            page="features",
            feature=feature,
            state=state,
            detail=detail,
            releases=rel,
            lifecycles=LIFECYCLES,
            roles=sorted(self.app.role_hierarchy.names),
            editable=name != "auth" and store is not None,
            message=message or request.query_params.get("saved", ""),
            error=error,
            csrf_token=principal.csrf_token or "",
        )

    async def lifecycle_post(self, request: Request) -> Response:
        return await self.feature_form(request, "lifecycle", _save_lifecycle)

    async def flag_post(self, request: Request) -> Response:
        return await self.feature_form(request, "flag", _save_flag)

    async def feature_form(self, request: Request, saved: str, save: SaveForm) -> Response:
        """A form posted from a feature's page: admin and CSRF checks, ``save``, back to the page.

        A :class:`LifecycleError` shows the page again with its message (400); otherwise
        the answer redirects (303) to the page with ``?saved=<saved>``.
        """
        principal = await self.guard(request)
        if isinstance(principal, Response):
            return principal
        fields = await self.form(request, principal)
        if isinstance(fields, Response):
            return fields
        name = request.path_params["name"]
        try:
            await save(self.app.state["lifecycle"], name, fields, principal.email or f"user {principal.user_id}")
        except LifecycleError as exc:
            return await self.feature_page(request, error=str(exc), status=400)
        return RedirectResponse(f"{self.prefix}/features/{quote(name)}?saved={saved}", status_code=303)

    async def sunset_page(self, request: Request) -> Response:
        principal = await self.guard(request)
        if isinstance(principal, Response):
            return principal
        found = await data.candidates(self.app)
        return self.render(
            "sunset.html", principal=principal, page="sunset", candidates=found, grace_days=self.app.settings.sunset_grace_days
        )

    async def jobs_page(self, request: Request) -> Response:
        principal = await self.guard(request)
        if isinstance(principal, Response):
            return principal
        info = await data.jobs(self.app)
        return self.render("jobs.html", principal=principal, page="jobs", info=info)

    async def delivery_page(self, request: Request) -> Response:
        principal = await self.guard(request)
        if isinstance(principal, Response):
            return principal
        env = request.query_params.get("env") or None
        try:
            days = int(request.query_params.get("days", "28"))
        except ValueError:
            days = 28
        info = await data.delivery(self.app, env, days)
        return self.render("delivery.html", principal=principal, page="delivery", info=info)

    async def releases_api(self, request: Request) -> Response:
        """``POST /_hyper/api/releases``: see :mod:`hyperdeliver.delivery.api`."""
        from ..delivery import api

        h = request.headers
        auth = await authenticate_request(
            self.app,
            h.get("authorization", "").encode("latin-1") or None,
            h.get("cookie", "").encode("latin-1") or None,
            h.get("x-csrf-token", "").encode("latin-1") or None,
            unsafe=True,
        )
        try:
            api.authorize(auth.principal, auth.auth_error, auth.csrf_error, (self.role, self.app.settings.deploy_role))
            body = api.parse(h.get("content-type", ""), await request.body())
            stored, new = await api.record(self.app, body)
        except HyperError as exc:
            return ProblemResponse(exc, request.url.path)
        return Response(orjson.dumps(stored), status_code=201 if new else 200, media_type="application/json")

    async def static(self, request: Request) -> Response:
        name = request.path_params["file"]
        path = _static_dir() / name
        kind = STATIC_TYPES.get(path.suffix)
        if kind is None or "/" in name or name.startswith(".") or not path.is_file():
            return ProblemResponse(NotFound(f"no static file {name!r}"), request.url.path)
        return Response(path.read_bytes(), media_type=kind, headers={"Cache-Control": "public, max-age=3600"})


# -- the feature page's forms: (store, feature, posted fields, who) -> the change ------------


async def _save_lifecycle(store: LifecycleStore, name: str, fields: dict[str, str], by: str) -> None:
    await store.set_lifecycle(
        name, fields.get("lifecycle") or None, sunset=fields.get("sunset", ""), link=fields.get("link", ""), by=by
    )


async def _save_flag(store: LifecycleStore, name: str, fields: dict[str, str], by: str) -> None:
    mode = fields.get("mode", "")
    try:
        pct = int(fields.get("percentage") or 100)
    except ValueError:
        raise LifecycleError(f"bad percentage {fields.get('percentage')!r}: use 0 to 100") from None
    if mode == "none":
        await store.clear_flag(name)
    elif mode in ("on", "off"):
        await store.set_flag(name, enabled=mode == "on", percentage=pct, roles=fields["_roles"], by=by)
    else:
        raise LifecycleError(f"unknown flag mode {mode!r}: none, on or off")
