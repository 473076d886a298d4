"""Root-field resolvers: each field is one call through the front controller.

The request is authenticated once (:class:`RequestState`); every root field then gets
its own :class:`~hyperdeliver.context.Context` with ``interface="graphql"`` and goes
through :meth:`FrontController.call`: gate, role check, CSRF for mutations, validation,
the handler in its own unit of work, usage observers. A refused field is ``null`` with
an error; its siblings still resolve.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..auth.principal import ANONYMOUS, Principal
from ..context import Context
from ..errors import HyperError
from .errors import graphql_error

if TYPE_CHECKING:
    from graphql import GraphQLResolveInfo

    from ..app import App
    from ..operations import Operation

errlog = logging.getLogger("hyperdeliver.error")


class RequestState:
    """One GraphQL HTTP request: who called, and what the fields add to the response."""

    __slots__ = ("app", "request_id", "principal", "auth_error", "csrf_error", "client_ip", "cookies", "headers", "set_cookies", "fields", "scope_cache")

    def __init__(self, app: App, request_id: str, client_ip: str = "") -> None:
        self.app = app
        self.request_id = request_id
        self.client_ip = client_ip
        self.principal: Principal = ANONYMOUS
        self.auth_error: str | None = None
        self.csrf_error: str | None = None
        self.cookies: Mapping[str, str] = {}
        self.headers: list[tuple[str, str]] = []
        self.set_cookies: list[str] = []
        self.fields: list[str] = []
        """The operations the request called, in order (for the access log)."""
        self.scope_cache: dict[Any, Any] = {}
        """The caller's scoped roles, loaded once per request whatever the number of fields."""

    def context_for(self, op: Operation) -> Context:
        ctx = Context(self.app, self.request_id, self.principal, "graphql", op, self.client_ip, self.cookies)
        ctx.auth_error = self.auth_error
        ctx.csrf_error = self.csrf_error
        ctx._scope_cache = self.scope_cache
        return ctx

    def collect(self, ctx: Context) -> None:
        """Keep a field's response headers and cookies (e.g. a login's Set-Cookie)."""
        for h in ctx.response_headers:
            if h not in self.headers:
                self.headers.append(h)
        self.set_cookies.extend(ctx.set_cookies)


def resolver_for(op: Operation) -> Callable[..., Awaitable[Any]]:
    """The resolver of ``op``'s root field. Arguments arrive with their Python names."""
    output = op.output_adapter
    to_output = op.to_output

    async def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        state: RequestState = info.context
        state.fields.append(op.qualname)
        ctx = state.context_for(op)
        dev = state.app.settings.dev
        try:
            result = await state.app.controller.call(op, ctx, op.validate_args, args)
            # GraphQL completes the fields from plain values: JSON's, as REST writes them.
            return output.dump_python(to_output(result), mode="json") if output is not None else True
        except HyperError as exc:
            raise graphql_error(exc, dev) from None
        except Exception as exc:
            errlog.exception("unhandled error in %s (request %s, graphql)", op.qualname, state.request_id)
            raise graphql_error(exc, dev) from None
        finally:
            state.collect(ctx)

    resolve.__name__ = f"resolve_{op.name}"
    return resolve
