"""A precompiled executor for the plain documents clients send most, with graphql-core's results.

graphql-core's ``execute`` is general (fragments, directives, abstract types, deferred
delivery) and costs more than the operation behind a field. Most documents are
plain: one operation whose selections are fields, without fragments or directives.
For those, :func:`compile_plan` builds a :class:`Plan` once (the document is cached
by its text), and :meth:`Plan.execute` runs it:

- variables and arguments are coerced by graphql-core's own ``get_variable_values``
  and ``get_argument_values`` (same values, same errors);
- root fields call the same resolvers (:mod:`.resolvers`), concurrently for a query,
  one after another for a mutation;
- values are completed as the spec's "Value Completion" says (non-null checks,
  lists, leaf serialization, null propagation to the nearest nullable field), with
  graphql-core's messages, locations and paths.

Anything else (fragments, ``@skip``/``@include``, introspection fields, a response
key selected twice) gets no plan and runs through graphql-core.
``tests/graphql/test_graphql_fastpath.py`` runs a corpus of documents through both and
compares the answers.

The coercion helpers are graphql-core 3.3's (``get_variable_values`` returning
``VariableValues``), so ``pyproject.toml`` pins graphql-core to 3.3; with another
version this module does not import (an ImportError naming the pip line) rather than
quietly sending every document down the slower path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import graphql
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_object_type,
    located_error,
)
from graphql.pyutils import inspect

try:
    from graphql import VariableValues, get_argument_values, get_variable_values
except ImportError as exc:  # pragma: no cover - the pin keeps graphql-core at 3.3
    raise ImportError(
        f"hyperdeliver's GraphQL needs graphql-core 3.3 (installed: {graphql.__version__}): pip install 'graphql-core>=3.3,<3.4'"
    ) from exc


class _Info:
    """The part of ``GraphQLResolveInfo`` the operation resolvers read."""

    __slots__ = ("context", "field_name")

    def __init__(self, context: Any, field_name: str) -> None:
        self.context = context
        self.field_name = field_name


class FieldPlan:
    """One selected field: its definition, its response key and its own selections."""

    __slots__ = ("key", "name", "node", "definition", "type", "resolve", "children", "typename")

    def __init__(self, key: str, node: FieldNode, definition: Any, children: list[FieldPlan] | None, typename: str | None) -> None:
        self.key = key
        self.name = node.name.value
        self.node = node
        self.definition = definition
        self.type: GraphQLOutputType | None = definition.type if definition is not None else None
        self.resolve: Callable[..., Any] | None = definition.resolve if definition is not None else None
        self.children = children
        self.typename = typename
        """For ``__typename``: the parent type's name."""


class Plan:
    """A compiled operation. ``execute`` returns the formatted result, like ``ExecutionResult.formatted``."""

    __slots__ = ("schema", "operation", "root_type", "fields", "mutation")

    def __init__(self, schema: GraphQLSchema, operation: OperationDefinitionNode, root_type: GraphQLObjectType, fields: list[FieldPlan]) -> None:
        self.schema = schema
        self.operation = operation
        self.root_type = root_type
        self.fields = fields
        self.mutation = operation.operation == OperationType.MUTATION

    async def execute(self, context: Any, variables: dict[str, Any] | None) -> dict[str, Any]:
        coerced = get_variable_values(self.schema, self.operation.variable_definitions or (), variables or {})
        if not isinstance(coerced, VariableValues):
            return {"data": None, "errors": [e.formatted for e in coerced]}
        errors: list[GraphQLError] = []
        data: dict[str, Any] = {}
        if self.mutation or len(self.fields) == 1:
            # Mutations one after another; a single field needs no gather either.
            for f in self.fields:
                data[f.key] = await self._root_field(f, context, coerced, errors)
        else:
            values = await asyncio.gather(*(self._root_field(f, context, coerced, errors) for f in self.fields))
            data = {f.key: v for f, v in zip(self.fields, values)}
        out: dict[str, Any] = {"data": data}
        if errors:
            out["errors"] = [e.formatted for e in errors]
        return out

    async def _root_field(self, f: FieldPlan, context: Any, variables: Any, errors: list[GraphQLError]) -> Any:
        if f.typename is not None:
            return f.typename
        path: list[str | int] = [f.key]
        try:
            args = get_argument_values(f.definition, f.node, variables)
            assert f.resolve is not None
            result = await f.resolve(None, _Info(context, f.name), **args)
            return self._complete(f, f.type, result, path, self.root_type.name, errors)  # type: ignore[arg-type]
        except Exception as raw:
            # Root fields are nullable (compile_plan checks): the error stops here.
            errors.append(located_error(raw, [f.node], path))
            return None

    def _complete(
        self, f: FieldPlan, rtype: GraphQLOutputType, value: Any, path: list[str | int], parent: str, errors: list[GraphQLError]
    ) -> Any:
        """Complete ``value`` for ``rtype``; raises where graphql-core raises (non-null)."""
        if isinstance(rtype, GraphQLNonNull):
            completed = self._complete(f, rtype.of_type, value, path, parent, errors)
            if completed is None:
                raise TypeError(f"Cannot return null for non-nullable field {parent}.{f.name}.")
            return completed
        if value is None or value is Undefined:
            return None
        if isinstance(rtype, GraphQLList):
            item_type = rtype.of_type
            items = []
            for i, item in enumerate(value):
                item_path = [*path, i]
                try:
                    items.append(self._complete(f, item_type, item, item_path, parent, errors))
                except Exception as raw:
                    error = located_error(raw, [f.node], item_path)
                    if isinstance(item_type, GraphQLNonNull):
                        raise error from None
                    errors.append(error)
                    items.append(None)
            return items
        if is_leaf_type(rtype):
            coerced = rtype.serialize(value)  # type: ignore[union-attr]
            if coerced is Undefined or coerced is None:
                raise TypeError(
                    f"Expected `{inspect(rtype)}.coerce_output_value({inspect(value)})` to return non-nullable value, returned: {inspect(coerced)}"
                )
            return coerced
        assert f.children is not None and isinstance(rtype, GraphQLObjectType)
        out: dict[str, Any] = {}
        for child in f.children:
            if child.typename is not None:
                out[child.key] = child.typename
                continue
            child_path = [*path, child.key]
            try:
                assert child.resolve is not None and child.type is not None
                out[child.key] = self._complete(child, child.type, child.resolve(value, None), child_path, rtype.name, errors)
            except Exception as raw:
                error = located_error(raw, [child.node], child_path)
                if isinstance(child.type, GraphQLNonNull):
                    raise error from None
                errors.append(error)
                out[child.key] = None
        return out


def compile_plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan | None:
    """A plan for a validated document, or None when it needs graphql-core's executor."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != len(document.definitions):
        return None  # fragments
    if operation_name is None:
        if len(operations) != 1:
            return None
        operation = operations[0]
    else:
        named = [o for o in operations if o.name is not None and o.name.value == operation_name]
        if len(named) != 1:
            return None
        operation = named[0]
    if operation.directives:
        return None
    if operation.operation == OperationType.QUERY:
        root = schema.query_type
    elif operation.operation == OperationType.MUTATION:
        root = schema.mutation_type
    else:
        return None
    if root is None:
        return None
    fields = _fields(root, operation.selection_set.selections, root_level=True)
    if fields is None:
        return None
    return Plan(schema, operation, root, fields)


def _fields(parent: GraphQLObjectType, selections: Any, root_level: bool = False) -> list[FieldPlan] | None:
    plans: list[FieldPlan] = []
    keys: set[str] = set()
    for sel in selections:
        if not isinstance(sel, FieldNode) or sel.directives:
            return None
        key = sel.alias.value if sel.alias else sel.name.value
        if key in keys:
            return None  # graphql-core merges repeated keys; leave that to it
        keys.add(key)
        name = sel.name.value
        if name == "__typename":
            plans.append(FieldPlan(key, sel, None, None, parent.name))
            continue
        if name.startswith("__"):
            return None  # introspection
        definition = parent.fields.get(name)
        if definition is None or definition.resolve is None or (definition.args and not root_level):
            return None
        if root_level and isinstance(definition.type, GraphQLNonNull):
            return None
        named = get_named_type(definition.type)
        children = None
        if is_object_type(named):
            if sel.selection_set is None:
                return None
            children = _fields(named, sel.selection_set.selections)  # type: ignore[arg-type]
            if children is None:
                return None
        elif not is_leaf_type(named):
            return None  # interfaces, unions
        plans.append(FieldPlan(key, sel, definition, children, None))
    return plans
