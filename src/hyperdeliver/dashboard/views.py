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
from time import perf_counter
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

import jinja2
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..auth.principal import ANONYMOUS
from ..context import Context
from ..error_map import error_for
from ..errors import Forbidden, HyperError, NotFound, Unauthorized
from ..features import Feature
from ..http.front import access_log, authenticate, client_ip, request_id
from ..http.problem import ProblemResponse, exception_handlers
from ..lifecycle.states import LIFECYCLES
from ..lifecycle.store import LifecycleError
from ..operations import Operation
from ..roles import PUBLIC
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


NO_FORM: dict[str, str] = {}
"""The fields of a page that takes no form (never written to)."""

PageHandler = Callable[[Context, Request, dict[str, str]], Awaitable[Response]]
"""A page: ``(ctx, request, posted form fields) -> response``; the caller is ``ctx.principal``."""

DASHBOARD = Feature("hyper_dashboard", owner="hyperdeliver", summary="The product dashboard at /_hyper")
"""The feature the dashboard's pages belong to (not one of the app's: not in OpenAPI,
GraphQL or the usage figures, see :meth:`~hyperdeliver.usage.recorder.UsageRecorder.observe`)."""


def _arguments(request: Request, form: dict[str, str]) -> dict[str, Any]:
    """A page's handler arguments: the request and its posted form."""
    return {"request": request, "form": form}


class Dashboard:
    """The ASGI app behind ``/_hyper``: each page an operation of kind ``"page"``, run by
    the front controller (lifecycle gate, role and CSRF checks, metrics) like any other."""

    def __init__(self, app: App, prefix: str = "/_hyper", role: str = "admin") -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.role = role
        self.env = _environment()
        self.pages: dict[str, Operation] = {}
        """The pages by name, as operations."""
        p, page = self.prefix, self._page
        admin, public = frozenset({role}), frozenset({PUBLIC})
        # A Starlette app, not a bare Router: inside one, routing raises HTTPException for
        # 404 and 405 (a bare Router answers text/plain), which the table turns into problem+json.
        self.asgi = Starlette(
            routes=[
                page("root", "GET", p, self.root, public),
                page("overview", "GET", p + "/", self.overview_page, admin),
                page("login", "GET", p + "/login", self.login_page, public),
                page("features", "GET", p + "/features", self.features_page, admin),
                page("feature", "GET", p + "/features/{name}", self.feature_page, admin),
                page("lifecycle", "POST", p + "/features/{name}/lifecycle", self.lifecycle_post, admin, form=True),
                page("flag", "POST", p + "/features/{name}/flag", self.flag_post, admin, form=True),
                page("sunset", "GET", p + "/sunset", self.sunset_page, admin),
                page("jobs", "GET", p + "/jobs", self.jobs_page, admin),
                page("delivery", "GET", p + "/delivery", self.delivery_page, admin),
                page("releases", "POST", p + "/api/releases", self.releases_api, frozenset({role, app.settings.deploy_role}), api=True),
                Route(p + "/static/{file}", self.static),
            ],
            exception_handlers={**exception_handlers("no dashboard page at"), Exception: self.server_error},
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

    def _page(self, name: str, method: str, path: str, handler: PageHandler, roles: frozenset[str], *, form: bool = False, api: bool = False) -> Route:
        """The route of one page: the HTTP front (request id, the caller, the form), then
        the front controller runs the page's operation.

        A page answers a refusal as a browser expects it (401: the login page, 403: the
        forbidden page); ``api`` pages, and every other error, answer problem+json.
        """
        app = self.app

        async def handle(ctx: Context, request: Request, form: dict[str, str]) -> Response:
            response = await handler(ctx, request, form)
            ctx.status = response.status_code
            return response

        op = self.pages[name] = Operation(
            feature=DASHBOARD, kind="page", name=f"{name}_page", method=method, path=path, roles=roles, handler=handle,
            summary="", description="", status=200, params=[], output=None,
        )
        run = app.controller.runner(op)
        unsafe = method == "POST"

        async def endpoint(request: Request) -> Response:
            logged = app.settings.access_log
            start = perf_counter()
            scope = request.scope
            headers = dict(scope["headers"])
            rid = request_id(headers.get(b"x-request-id"))
            ctx = Context(app, rid, ANONYMOUS, "dashboard", op, client_ip(app, scope, headers))
            ran = False
            try:
                fields = await self.form(request) if form else NO_FORM
                sent = fields.get("csrf_token", "").encode() if form else None
                ctx.principal, ctx.cookies, ctx.auth_error, ctx.csrf_error = await authenticate(app, headers, unsafe=unsafe, csrf=sent)
                ran = True
                response: Response = await run(ctx, _arguments, request, fields)
            except (Unauthorized, Forbidden) as exc:
                response = ProblemResponse(exc, request.url.path, rid) if api else self.refused(request, ctx, exc)
            except HyperError as exc:
                response = ProblemResponse(exc, request.url.path, rid)
            except Exception as exc:
                err = error_for(exc, app.settings.dev)
                if err.status == 500:
                    errlog.exception("unhandled error in dashboard page %s (request %s)", request.url.path, rid)
                response = ProblemResponse(err, request.url.path, rid)
            if not isinstance(response, ProblemResponse):  # which has it already
                response.raw_headers.append((b"x-request-id", rid.encode("latin-1")))
            if not ran:  # refused before the pipeline (the database down): counted all the same
                app.controller.record(op, ctx, response.status_code, perf_counter() - start)
            if logged:
                access_log(rid, request.method, request.url.path, op.qualname, "dashboard", response.status_code, start, ctx.principal.user_id)
            return response

        return Route(path, endpoint, methods=[method])

    # -- helpers ----------------------------------------------------------------------

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

    def refused(self, request: Request, ctx: Context, exc: HyperError) -> Response:
        """A page's answer to the controller's refusal: a visitor who is not logged in goes
        to the login page (and back after), another gets the 403 page (why: a role, or CSRF)."""
        if isinstance(exc, Unauthorized):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{self.prefix}/login?next={quote(target)}", status_code=303)
        reason = "csrf" if ctx.csrf_error is not None and exc.detail == ctx.csrf_error else ""
        return self.render("forbidden.html", status=403, principal=ctx.principal, role=self.role, reason=reason)

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form's fields (the last value of each; ``_roles`` joins every ``roles``)."""
        body = (await request.body()).decode("utf-8", "replace")
        fields = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        fields["_roles"] = ",".join(parse_qs(body).get("roles", []))
        return fields

    # -- pages --------------------------------------------------------------------------

    async def root(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        return RedirectResponse(self.prefix + "/", status_code=308)

    async def login_page(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        nxt = request.query_params.get("next", self.prefix + "/")
        if not nxt.startswith(self.prefix):  # no open redirect
            nxt = self.prefix + "/"
        return self.render("login.html", next=nxt, csrf_cookie=self.app.settings.csrf_cookie)

    async def overview_page(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        ov = await data.overview(self.app)
        rel = await data.releases(self.app) or []
        return self.render("overview.html", principal=ctx.principal, page="overview", overview=ov, releases=rel)

    async def features_page(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        rows, has_usage = await data.feature_rows(self.app)
        return self.render("features.html", principal=ctx.principal, page="features", rows=rows, has_usage=has_usage)

    async def feature_page(
        self, ctx: Context, request: Request, form: dict[str, str], message: str = "", error: str = "", status: int = 200
    ) -> Response:
        principal = ctx.principal
        name = request.path_params["name"]
        feature = self.app.features.get(name)
        if feature is None:
            return self.render("notfound.html", status=404, principal=principal, what=f"feature {name!r}")
        store = self.app.lifecycle
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

    async def lifecycle_post(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        return await self.feature_form(ctx, request, form, "lifecycle", _save_lifecycle)

    async def flag_post(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        return await self.feature_form(ctx, request, form, "flag", _save_flag)

    async def feature_form(self, ctx: Context, request: Request, form: dict[str, str], saved: str, save: SaveForm) -> Response:
        """A form posted from a feature's page (the controller checked the role and CSRF):
        ``save``, back to the page.

        A :class:`LifecycleError` shows the page again with its message (400); otherwise
        the answer redirects (303) to the page with ``?saved=<saved>``.
        """
        principal = ctx.principal
        name = request.path_params["name"]
        store = self.app.lifecycle
        if store is None:  # the page offers no form without the lifecycle plugin
            return await self.feature_page(ctx, request, form, error="this app has no lifecycle plugin", status=400)
        try:
            await save(store, name, form, principal.email or f"user {principal.user_id}")
        except LifecycleError as exc:
            return await self.feature_page(ctx, request, form, error=str(exc), status=400)
        return RedirectResponse(f"{self.prefix}/features/{quote(name)}?saved={saved}", status_code=303)

    async def sunset_page(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        found = await data.candidates(self.app)
        return self.render(
            "sunset.html", principal=ctx.principal, page="sunset", candidates=found, grace_days=self.app.settings.sunset_grace_days
        )

    async def jobs_page(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        info = await data.jobs(self.app)
        return self.render("jobs.html", principal=ctx.principal, page="jobs", info=info)

    async def delivery_page(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        env = request.query_params.get("env") or None
        try:
            days = int(request.query_params.get("days", "28"))
        except ValueError:
            days = 28
        info = await data.delivery(self.app, env, days)
        return self.render("delivery.html", principal=ctx.principal, page="delivery", info=info)

    async def releases_api(self, ctx: Context, request: Request, form: dict[str, str]) -> Response:
        """``POST /_hyper/api/releases`` (the dashboard's role or ``deploy_role``): see :mod:`hyperdeliver.delivery.api`."""
        from ..delivery import api

        body = api.parse(request.headers.get("content-type", ""), await request.body())
        stored, new = await api.record(self.app, body)
        return Response(orjson.dumps(stored), status_code=201 if new else 200, media_type="application/json")

    async def static(self, request: Request) -> Response:
        name = request.path_params["file"]
        path = _static_dir() / name
        kind = STATIC_TYPES.get(path.suffix)
        if kind is None or "/" in name or name.startswith(".") or not path.is_file():
            raise NotFound(f"no static file {name!r}")
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
