"""The ``/graphql`` endpoint: GraphQL over HTTP, POST JSON and GET for queries.

A request is parsed and checked against the limits first (tokens, depth, aliases,
introspection, batching): a refused request answers 400 and no resolver runs. Then the
caller is authenticated once, and the operation executes; each root field goes through
the front controller (see :mod:`hyperdeliver.graphql.resolvers`).

Statuses: 200 with ``data`` (and ``errors`` for refused fields) once execution starts;
400 for a request that cannot run; 405 for a mutation sent by GET (queries only) and
for other methods; 415 for a body that is not JSON or GraphQL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from inspect import isawaitable
from types import CoroutineType
from typing import TYPE_CHECKING, Any, TypeGuard

import orjson
from graphql import DocumentNode, ExecutionResult, GraphQLError, OperationType, execute, get_operation_ast

from ..error_map import error_for
from ..errors import HyperError
from ..http.front import access_log, authenticate, client_ip, request_id
from ..http.messages import JSON, ClientDisconnected, is_json, media_type, parse_query, read_body, send_bytes
from ..types import Receive, Scope, Send
from ..http.security_headers import TOOL_CSP
from . import graphiql
from .fastpath import Plan, compile_plan
from .limits import without_suggestions
from .errors import BATCHING_DISABLED, PARSE_FAILED, graphql_error, request_error
from .resolvers import RequestState

if TYPE_CHECKING:
    from .plugin import GraphQLPlugin

errlog = logging.getLogger("hyperdeliver.error")
_CACHE_SIZE = 512
"""Documents (and plans) kept, by source text; the cache empties when full."""
_CACHEABLE = 20_000
"""Longer sources are parsed every time rather than kept in memory."""


class BadGraphQLRequest(Exception):
    """A request that cannot run: answered with ``status`` and one error."""

    def __init__(
        self,
        message: str,
        code: str,
        status: int = 400,
        headers: list[tuple[bytes, bytes]] | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.errors = errors or [request_error(message, code)]
        self.status = status
        self.headers = headers or []


class GraphQLEndpoint:
    """The ASGI app that answers at the plugin's path (``/graphql`` and ``/graphql/``;
    :class:`~hyperdeliver.graphql.plugin.GraphQLPlugin` routes it there)."""

    def __init__(self, plugin: GraphQLPlugin) -> None:
        self.plugin = plugin
        self.prefix = plugin.path
        # Parsed and validated documents by source text: a client repeats the same few.
        self._documents: dict[str, DocumentNode | list[GraphQLError]] = {}
        self._plans: dict[tuple[str, str | None], Plan | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.plugin.app
        start = time.perf_counter()
        method: str = scope["method"]
        headers = dict(scope["headers"])  # a repeated header keeps its last value
        content_type, accept = headers.get(b"content-type"), headers.get(b"accept")
        rid = request_id(headers.get(b"x-request-id"))
        ip = client_ip(app, scope, headers)
        state = RequestState(app, rid, ip)
        base_headers = [(b"x-request-id", rid.encode("latin-1"))]
        status = 200
        try:
            if method == "GET" and app.settings.dev and accept is not None and b"text/html" in accept and not scope["query_string"]:
                html = graphiql.page(app.name, self.prefix, app.settings.csrf_cookie)
                await send_bytes(send, 200, html, b"text/html; charset=utf-8", [*base_headers, (b"content-security-policy", TOOL_CSP)])
                return
            payload = await self._payload(method, scope, receive, content_type)
            auth = await authenticate(app, headers, unsafe=method == "POST")
            state.principal, state.cookies, state.auth_error, state.csrf_error = auth
            if isinstance(payload, list):
                body: Any = [await self._run_batched(state, p, method) for p in payload]
            else:
                body = await self._run_one(state, payload, method)
        except BadGraphQLRequest as exc:
            status = exc.status
            await send_bytes(send, status, orjson.dumps({"errors": exc.errors}), JSON, base_headers + exc.headers)
            self._log(state, method, status, start)
            return
        except ClientDisconnected:
            return
        except Exception as exc:  # the database down (authentication needs it), or a bug in the adapter itself
            err = error_for(exc, app.settings.dev)
            status = err.status
            if status == 500:
                errlog.exception("unhandled error in the GraphQL endpoint (request %s)", rid)
            retry = [(b"retry-after", v.encode())] if (v := err.headers.get("Retry-After")) else []
            await send_bytes(send, status, orjson.dumps({"errors": [graphql_error(err, app.settings.dev).formatted]}), JSON, base_headers + retry)
            self._log(state, method, status, start)
            return
        out = base_headers
        for k, v in state.headers:
            out.append((k.lower().encode("latin-1"), v.encode("latin-1")))
        for c in state.set_cookies:
            out.append((b"set-cookie", c.encode("latin-1")))
        await send_bytes(send, status, orjson.dumps(body), JSON, out)
        self._log(state, method, status, start)

    # -- request parsing -----------------------------------------------------------

    async def _payload(self, method: str, scope: Scope, receive: Receive, content_type: bytes | None) -> Any:
        """The request's ``{query, variables, operationName}`` (a list when batched)."""
        if method == "GET":
            params = parse_query(scope["query_string"])
            payload: dict[str, Any] = {k: v[-1] for k, v in params.items()}
            if "variables" in payload:
                raw = payload["variables"]
                payload["variables"] = _json(raw.encode(), "variables") if raw else None
            if "extensions" in payload:
                payload.pop("extensions")
            return payload
        if method != "POST":
            raise BadGraphQLRequest(f"{method} is not served at {self.prefix}; use POST (or GET for queries)", "METHOD_NOT_ALLOWED", 405, [(b"allow", b"GET, POST")])
        try:
            raw = await read_body(receive)
        except HyperError as exc:
            raise BadGraphQLRequest(exc.detail, "PAYLOAD_TOO_LARGE", exc.status) from None
        ctype = media_type(content_type or JSON)
        if ctype == b"application/graphql":
            return {"query": raw.decode("utf-8", "replace")}
        if not is_json(ctype):
            raise BadGraphQLRequest(f"send JSON (Content-Type: application/json), not {ctype.decode('latin-1')}", "UNSUPPORTED_MEDIA_TYPE", 415)
        data = _json(raw, "the body")
        if isinstance(data, list):
            if not self.plugin.app.settings.graphql_batching:
                raise BadGraphQLRequest("batched requests are turned off (HYPER_GRAPHQL_BATCHING)", BATCHING_DISABLED)
            if not data or not all(isinstance(d, dict) for d in data):
                raise BadGraphQLRequest("a batch is a non-empty JSON array of request objects", "BAD_REQUEST")
            return data
        if not isinstance(data, dict):
            raise BadGraphQLRequest("the body must be a JSON object with a 'query'", "BAD_REQUEST")
        return data

    # -- execution -----------------------------------------------------------------

    def document(self, source: str) -> DocumentNode | list[GraphQLError]:
        """Parsed and validated (limits included), cached by source text."""
        found = self._documents.get(source)
        if found is None:
            limits = self.plugin.limits
            try:
                document = limits.parse(source)
            except GraphQLError as exc:
                found = [exc]
            else:
                errors = limits.validate(self.plugin.schema, document)
                found = errors or document
            if len(source) <= _CACHEABLE:  # a huge text is not worth keeping
                if len(self._documents) >= _CACHE_SIZE:
                    self._documents.clear()
                self._documents[source] = found
        return found

    async def _run_one(self, state: RequestState, payload: dict[str, Any], method: str) -> dict[str, Any]:
        query = payload.get("query")
        if not isinstance(query, str) or not query.strip():
            raise BadGraphQLRequest("send a GraphQL document as 'query'", PARSE_FAILED)
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise BadGraphQLRequest("'variables' must be a JSON object", "BAD_REQUEST")
        operation_name = payload.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise BadGraphQLRequest("'operationName' must be a string", "BAD_REQUEST")
        document = self.document(query)
        if isinstance(document, list):
            first = document[0]
            raise BadGraphQLRequest(first.message, "", errors=[e.formatted for e in document])
        if method == "GET":
            operation = get_operation_ast(document, operation_name)
            if operation is not None and operation.operation != OperationType.QUERY:
                raise BadGraphQLRequest(
                    f"a {operation.operation.value} must be sent with POST", "METHOD_NOT_ALLOWED", 405, [(b"allow", b"POST")]
                )
        plan = self.plan(query, document, operation_name) if self.plugin.fast_path else None
        if plan is not None:
            out = await plan.execute(state, variables)
        else:
            out = await self._execute(state, document, variables, operation_name)
        for err in out.get("errors", ()):
            # Errors without a code come from graphql-core: without a path, the request's
            # variables or operation name (the caller's input); with one, an output that
            # breaks the schema (an Int out of range: the server's fault).
            err.setdefault("extensions", {}).setdefault("code", "INTERNAL_SERVER_ERROR" if "path" in err else "BAD_USER_INPUT")
        return out

    def plan(self, source: str, document: DocumentNode, operation_name: str | None) -> Plan | None:
        """The compiled plan of a plain document (see :mod:`.fastpath`), cached."""
        key = (source, operation_name)
        try:
            return self._plans[key]
        except KeyError:
            pass
        plan = compile_plan(self.plugin.schema, document, operation_name)
        if len(source) <= _CACHEABLE:
            if len(self._plans) >= _CACHE_SIZE:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    async def _execute(
        self, state: RequestState, document: DocumentNode, variables: dict[str, Any] | None, operation_name: str | None
    ) -> dict[str, Any]:
        """Run through graphql-core's executor."""
        result = execute(
            self.plugin.schema,
            document,
            context_value=state,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=_is_awaitable,
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        if result.errors and not self.plugin.limits.suggestions:
            for err in result.errors:  # variable coercion names input fields and enum values too
                err.message = without_suggestions(err.message)
        return dict(result.formatted)

    async def _run_batched(self, state: RequestState, payload: dict[str, Any], method: str) -> dict[str, Any]:
        """One request of a batch: a refused one answers its errors, the others still run."""
        try:
            return await self._run_one(state, payload, method)
        except BadGraphQLRequest as exc:
            return {"errors": exc.errors}

    def _log(self, state: RequestState, method: str, status: int, start: float) -> None:
        if self.plugin.app.settings.access_log:
            access_log(state.request_id, method, self.prefix, ",".join(state.fields) or None, "graphql", status, start, state.principal.user_id)


_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})


def _is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's check, short-cut for the JSON values our field resolvers return."""
    kind = type(value)
    if kind in _PLAIN:
        return False
    return kind is CoroutineType or isawaitable(value)


def _json(raw: bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadGraphQLRequest(f"{what} is not valid JSON", "BAD_REQUEST") from None
