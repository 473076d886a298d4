"""The GraphQL schema, built from the operation registry: ``Query`` and ``Mutation`` root fields.

Every ``@feature.query`` is a ``Query`` field and every ``@feature.mutation`` a
``Mutation`` field, named :func:`~.names.field_name` (camelCase). Path and query parameters
are arguments; the body model is one input-object argument named like the handler's
parameter (usually ``data``). An operation without output returns ``Boolean``
(``true``). Root fields are nullable so a refused field does not null its siblings.

Example:
    >>> from hyperdeliver import Feature, PUBLIC
    >>> hello = Feature("hello", owner="ada@example.com")
    >>> @hello.query("GET /hello", roles=PUBLIC)
    ... async def say_hello(ctx, name: str = "world") -> str:
    ...     '''Greets someone.'''
    ...     return f"hello {name}"
    >>> print(print_sdl(build_schema(hello.operations.values())))
    type Query {
      \"\"\"Greets someone.\"\"\"
      sayHello(name: String): String
    }
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from graphql import GraphQLBoolean, GraphQLField, GraphQLNonNull, GraphQLObjectType, GraphQLOutputType, GraphQLSchema, print_schema

from .names import camel, field_name
from .resolvers import resolver_for
from .types import TypeMapper

if TYPE_CHECKING:
    from ..app import App
    from ..operations import Operation


def field_for(op: Operation, types: TypeMapper) -> GraphQLField:
    """The root field of one operation."""
    args = {}
    for p in op.path_params + op.query_params:
        args[camel(p.name)] = types.argument(
            p.annotation, required=p.location == "path" or p.required, python_name=p.name
        )
    if op.body is not None:
        args[camel(op.body.name)] = types.argument(op.body.annotation, required=op.body.required, python_name=op.body.name)
    out: GraphQLOutputType
    if op.output is None:
        out = GraphQLBoolean
    else:
        out = types.output_type(op.output)
        if isinstance(out, GraphQLNonNull):
            out = out.of_type
    deprecated = getattr(op.feature, "lifecycle", "") == "deprecated"
    return GraphQLField(
        out,
        args=args,
        resolve=resolver_for(op),
        description=op.description or op.summary,
        deprecation_reason=f"the feature {op.feature.name} is deprecated" if deprecated else None,
    )


def build_schema(operations: Iterable[Operation]) -> GraphQLSchema:
    """One schema for these operations; types shared between operations are built once."""
    types = TypeMapper()
    queries: dict[str, GraphQLField] = {}
    mutations: dict[str, GraphQLField] = {}
    for op in operations:
        (queries if op.kind == "query" else mutations)[field_name(op)] = field_for(op, types)
    if not queries:
        # A schema needs a Query type with a field.
        queries["ok"] = GraphQLField(GraphQLBoolean, resolve=lambda *_: True, description="Always true.")
    return GraphQLSchema(
        query=GraphQLObjectType("Query", queries),
        mutation=GraphQLObjectType("Mutation", mutations) if mutations else None,
    )


def schema_for(app: App) -> GraphQLSchema:
    """The app's schema: the GraphQL plugin's, or one built from ``app.operations``."""
    from .plugin import GraphQLPlugin

    try:
        return app.plugin(GraphQLPlugin).schema
    except LookupError:
        return build_schema(app.operations)


def print_sdl(schema: GraphQLSchema) -> str:
    """The schema in the GraphQL schema definition language."""
    return print_schema(schema)
