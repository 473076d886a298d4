"""Python and Pydantic types to GraphQL types: one declaration, no second set of types.

Input models become input object types, output models object types; nested models,
lists, optionals and enums follow; datetimes use the ``DateTime`` scalar (ISO 8601),
anything without a GraphQL counterpart the ``JSON`` scalar. Field names are camelCase;
class and field docstrings become descriptions.

Values cross the boundary in their JSON form: an output is dumped with Pydantic's
``mode="json"`` (the same bytes REST sends) before GraphQL serializes it, and an input
arrives with Python field names (``out_name``) for Pydantic to validate.

Example:
    >>> from pydantic import BaseModel
    >>> class PetOut(BaseModel):
    ...     '''A pet.'''
    ...     pet_name: str
    ...     age: int | None = None
    >>> from graphql import print_type
    >>> print(print_type(TypeMapper().output(PetOut)))
    \"\"\"A pet.\"\"\"
    type Pet {
      petName: String!
      age: Int
    }
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import enum
import inspect
import re
import textwrap
import types
import typing
import weakref
import uuid
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    ValueNode,
    value_from_ast_untyped,
)
from pydantic import BaseModel

from ..operations import is_model
from .names import camel


def _iso(value: Any) -> str:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"not a date/time: {value!r}")


def _string_literal(node: ValueNode, _variables: Any = None) -> Any:
    return getattr(node, "value", None)


DateTime = GraphQLScalarType(
    "DateTime",
    description="An ISO 8601 date and time with its UTC offset, e.g. 2026-01-31T09:30:00+00:00.",
    serialize=_iso,
    parse_value=str,
    parse_literal=_string_literal,
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339",
)
Date = GraphQLScalarType("Date", description="An ISO 8601 date, e.g. 2026-01-31.", serialize=_iso, parse_value=str, parse_literal=_string_literal)
Time = GraphQLScalarType("Time", description="An ISO 8601 time of day, e.g. 09:30:00.", serialize=_iso, parse_value=str, parse_literal=_string_literal)
JSON = GraphQLScalarType(
    "JSON",
    description="Any JSON value.",
    serialize=lambda v: v,
    parse_value=lambda v: v,
    parse_literal=value_from_ast_untyped,
)

SCALARS: dict[Any, GraphQLScalarType] = {
    bool: GraphQLBoolean,
    int: GraphQLInt,
    float: GraphQLFloat,
    str: GraphQLString,
    bytes: GraphQLString,
    decimal.Decimal: GraphQLString,
    uuid.UUID: GraphQLID,
    dt.datetime: DateTime,
    dt.date: Date,
    dt.time: Time,
}
_UNION_TYPES = (typing.Union, types.UnionType)
_NAME = re.compile(r"[^_a-zA-Z0-9]")


def field_docs(model: type) -> dict[str, str]:
    """Attribute docstrings of a class body (``x: int`` then ``\"\"\"doc\"\"\"``), by field name.

    Pydantic reads them only with ``use_attribute_docstrings``; GraphQL descriptions
    always use them. A class without source (built at runtime) has none.
    """
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if klass in (object, BaseModel) or klass.__module__.startswith("pydantic"):
            continue
        docs.update(_class_docs(klass))
    return docs


_CLASS_DOCS: weakref.WeakKeyDictionary[type, dict[str, str]] = weakref.WeakKeyDictionary()
"""Each class's own attribute docstrings, read once per process: reading a class's source
and parsing it costs milliseconds, and every app built (each test builds one) asks again."""


def _class_docs(klass: type) -> dict[str, str]:
    found = _CLASS_DOCS.get(klass)
    if found is not None:
        return found
    docs: dict[str, str] = {}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
    except (OSError, TypeError, SyntaxError):
        tree = ast.Module(body=[], type_ignores=[])
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node, after in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    _CLASS_DOCS[klass] = docs
    return docs


def _own_doc(tp: type) -> str | None:
    """The class's own docstring (not BaseModel's, not Enum's)."""
    doc = tp.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if doc else None


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """(inner type, nullable) for ``X | None``, ``Optional[X]``, ``Annotated[X, ...]``."""
    nullable = False
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in _UNION_TYPES:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != len(typing.get_args(tp)):
                nullable = True
            if len(args) == 1:
                tp = args[0]
                continue
            return tp, nullable  # a real union: JSON
        return tp, nullable


class TypeMapper:
    """Builds GraphQL types from Python annotations, each named type once."""

    def __init__(self) -> None:
        self._outputs: dict[Any, GraphQLObjectType] = {}
        self._inputs: dict[Any, GraphQLInputObjectType] = {}
        self._enums: dict[Any, GraphQLEnumType] = {}
        self._names: dict[str, Any] = {}

    def _name(self, tp: Any, base: str) -> str:
        base = _NAME.sub("_", base) or "Type"
        name, n = base, 2
        while name in self._names and self._names[name] is not tp:
            name, n = f"{base}{n}", n + 1
        self._names[name] = tp
        return name

    # -- annotations ---------------------------------------------------------------

    def output_type(self, annotation: Any) -> GraphQLOutputType:
        """The (non-null unless optional) output type of an annotation."""
        tp, nullable = _unwrap(annotation)
        inner: GraphQLOutputType
        origin = typing.get_origin(tp)
        if origin in (list, set, frozenset, tuple) and typing.get_args(tp):
            args = typing.get_args(tp)
            inner = GraphQLList(self.output_type(args[0]))
        elif is_model(tp):
            inner = self.output(tp)
        elif isinstance(tp, type) and issubclass(tp, enum.Enum):
            inner = self.enum(tp)
        else:
            inner = SCALARS.get(tp, JSON)
        return inner if nullable else GraphQLNonNull(inner)

    def input_type(self, annotation: Any, required: bool = True) -> GraphQLInputType:
        """The input type; non-null only when the value is required and not optional."""
        tp, nullable = _unwrap(annotation)
        inner: GraphQLInputType
        origin = typing.get_origin(tp)
        if origin in (list, set, frozenset, tuple) and typing.get_args(tp):
            inner = GraphQLList(self.input_type(typing.get_args(tp)[0]))
        elif is_model(tp):
            inner = self.input(tp)
        elif isinstance(tp, type) and issubclass(tp, enum.Enum):
            inner = self.enum(tp)
        else:
            inner = SCALARS.get(tp, JSON)
        return GraphQLNonNull(inner) if required and not nullable else inner

    # -- named types ---------------------------------------------------------------

    def output(self, model: type[BaseModel]) -> GraphQLObjectType:
        """An object type; ``TaskOut`` is named ``Task``. Self-references are fine (thunks)."""
        if model in self._outputs:
            return self._outputs[model]
        base = model.__name__.removesuffix("Out") if model.__name__ != "Out" else "Out"
        gql = GraphQLObjectType(
            self._name(model, base),
            fields=lambda: self._output_fields(model),
            description=_own_doc(model),
        )
        self._outputs[model] = gql
        return gql

    def _output_fields(self, model: type[BaseModel]) -> dict[str, GraphQLField]:
        fields: dict[str, GraphQLField] = {}
        docs = field_docs(model)
        for name, info in model.model_fields.items():
            fields[camel(name)] = GraphQLField(
                self.output_type(info.annotation),
                resolve=_getter(name),
                description=info.description or docs.get(name),
                deprecation_reason="deprecated" if info.deprecated else None,
            )
        for name, computed in model.model_computed_fields.items():
            fields[camel(name)] = GraphQLField(
                self.output_type(computed.return_type), resolve=_getter(name), description=computed.description
            )
        return fields

    def input(self, model: type[BaseModel]) -> GraphQLInputObjectType:
        """An input object type; ``TaskIn`` is named ``TaskInput``, ``TaskUpdate`` ``TaskUpdateInput``."""
        if model in self._inputs:
            return self._inputs[model]
        base = model.__name__
        base = base[:-2] + "Input" if base.endswith("In") else base if base.endswith("Input") else base + "Input"
        gql = GraphQLInputObjectType(
            self._name(("input", model), base),
            fields=lambda: self._input_fields(model),
            description=_own_doc(model),
        )
        self._inputs[model] = gql
        return gql

    def _input_fields(self, model: type[BaseModel]) -> dict[str, GraphQLInputField]:
        fields: dict[str, GraphQLInputField] = {}
        docs = field_docs(model)
        for name, info in model.model_fields.items():
            fields[camel(name)] = GraphQLInputField(
                self.input_type(info.annotation, required=info.is_required()),
                description=info.description or docs.get(name),
                # Pydantic validates by the Python name unless the field has an alias.
                out_name=info.validation_alias if isinstance(info.validation_alias, str) else (info.alias or name),
            )
        return fields

    def enum(self, tp: type[enum.Enum]) -> GraphQLEnumType:
        """Enum members by name; the value travels (what Pydantic dumps and validates)."""
        if tp in self._enums:
            return self._enums[tp]
        values = {_NAME.sub("_", m.name): GraphQLEnumValue(m.value) for m in tp}
        gql = GraphQLEnumType(self._name(tp, tp.__name__), values, description=_own_doc(tp))
        self._enums[tp] = gql
        return gql

    def argument(self, annotation: Any, required: bool, python_name: str, description: str | None = None) -> GraphQLArgument:
        return GraphQLArgument(self.input_type(annotation, required), description=description, out_name=python_name)


def _getter(key: str) -> Any:
    def resolve(source: Any, _info: Any) -> Any:
        return source.get(key) if isinstance(source, dict) else getattr(source, key, None)

    return resolve
