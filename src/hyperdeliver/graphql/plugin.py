"""The GraphQL plugin: receives every operation and serves them at ``/graphql``.

It is in :func:`hyperdeliver.assembly.default_plugins`, so every app has a GraphQL
endpoint next to REST, from the same declarations.

Example:
    >>> from hyperdeliver import App, Feature, PUBLIC, Settings
    >>> f = Feature("hello", owner="ada@example.com")
    >>> @f.query("GET /hello", roles=PUBLIC)
    ... async def hello(ctx) -> str:
    ...     return "hi"
    >>> app = App("demo", features=[f], settings=Settings(env="test", database_url="sqlite://"))
    >>> "hello: String" in app.plugin(GraphQLPlugin).sdl()
    True
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.routing import Route

from ..errors import ConfigurationError
from ..http.problem import exception_handlers
from ..plugins import Mount, Plugin
from ..types import Receive, Scope, Send
from . import graphiql
from .asgi import GraphQLEndpoint
from .limits import Limits
from .names import field_name
from .schema import build_schema, print_sdl

if TYPE_CHECKING:
    from ..app import App
    from ..operations import Operation


class GraphQLPlugin(Plugin):
    """Builds the schema from the received operations and mounts the endpoint.

    Args:
        path: where the endpoint is served (``/graphql``).
        fast_path: run plain documents through the compiled executor of
            :mod:`hyperdeliver.graphql.fastpath` (the same answers, cheaper); False runs
            every document through graphql-core's executor.
    """

    name = "graphql"

    def __init__(self, path: str = "/graphql", *, fast_path: bool = True) -> None:
        self.path = path.rstrip("/") or "/graphql"
        self.fast_path = fast_path
        self.operations: list[Operation] = []
        self._fields: dict[str, Operation] = {}
        self._schema: GraphQLSchema | None = None

    def setup(self, app: App) -> None:
        self.app = app
        self.limits = Limits.from_settings(app.settings)
        self.endpoint = GraphQLEndpoint(self)
        # The endpoint answers every method itself (405 as a GraphQL error); any other path
        # under the prefix is a 404 problem, like a GraphiQL file outside dev mode.
        self.asgi = Starlette(
            routes=[Route(self.path, self.endpoint), Route(self.path + "/", self.endpoint), graphiql.static_files(self.path, app)],
            exception_handlers=dict(exception_handlers("no page at")),
        )
        self.asgi.router.redirect_slashes = False
        self._own_paths = frozenset({self.path, self.path + "/"})

    def mounts(self) -> list[Mount]:
        return [(self.path, self.serve)]

    def serve(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """What is mounted at the plugin's path: a request for the path itself goes straight
        to the endpoint (the hot path, no router around it); :attr:`asgi` routes the rest
        (GraphiQL's files, 404s)."""
        if scope["path"] in self._own_paths:
            return self.endpoint(scope, receive, send)
        return self.asgi(scope, receive, send)

    def receive_operation(self, op: Operation) -> None:
        name = field_name(op)
        other = self._fields.get(name)
        if other is not None:
            raise ConfigurationError(f"hd.E003 operations {other.qualname} and {op.qualname} are both the GraphQL field {name!r}: rename one")
        self._fields[name] = op
        self.operations.append(op)
        self._schema = None

    @property
    def schema(self) -> GraphQLSchema:
        """The schema of every operation received so far (built on first use)."""
        if self._schema is None:
            self._schema = build_schema(self.operations)
        return self._schema

    def sdl(self) -> str:
        """The schema in SDL, as ``hyper graphql sdl`` prints it."""
        return print_sdl(self.schema)

    async def startup(self, app: App) -> None:
        # Build now so a type that cannot be mapped fails at start, not on a request.
        assert self.schema is not None
