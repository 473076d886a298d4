"""GraphQL from the same operations: schema, limits, the ``/graphql`` endpoint, GraphiQL.

- :mod:`.types`: Pydantic and Python types to GraphQL types
- :mod:`.schema`: ``Query``/``Mutation`` root fields from the operation registry
- :mod:`.resolvers`: each root field through the front controller
- :mod:`.limits`: depth, aliases, tokens, introspection
- :mod:`.asgi`: GraphQL over HTTP; :mod:`.graphiql`: the dev IDE page
- :mod:`.plugin`: :class:`GraphQLPlugin`, one of the default plugins
"""

from __future__ import annotations

from .limits import Limits
from .plugin import GraphQLPlugin
from .schema import build_schema, print_sdl, schema_for

__all__ = ["GraphQLPlugin", "Limits", "build_schema", "print_sdl", "schema_for"]
