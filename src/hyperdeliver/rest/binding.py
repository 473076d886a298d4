"""How an operation's arguments arrive over HTTP and its result leaves: REST's binding.

Path values and query strings arrive as text (``"7"``), the body as JSON bytes; errors
name where the bad value was (``path.task_id``, ``query.limit``, ``body.title``). The
result leaves as JSON bytes. :func:`rest_validator` and :func:`json_dumper` are built
once per operation, when its endpoint is; the endpoint calls what they return on every
request.

Example:
    >>> from pydantic import BaseModel
    >>> from hyperdeliver import PUBLIC, Feature
    >>> class Item(BaseModel):
    ...     name: str
    >>> f = Feature("shop", owner="ada@example.com")
    >>> @f.mutation("POST /lists/{list_id}/items", roles=PUBLIC)
    ... async def add_item(ctx, list_id: int, data: Item, notify: bool = False) -> Item:
    ...     return data
    >>> validate = rest_validator(f.operations["add_item"])
    >>> validate({"list_id": "7"}, {"notify": ["yes"]}, b'{"name": "tea"}')
    {'list_id': 7, 'notify': True, 'data': Item(name='tea')}
    >>> json_dumper(f.operations["add_item"])(Item(name="tea"))
    b'{"name":"tea"}'
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import SchemaSerializer, SchemaValidator

from ..errors import ValidationFailed, field_errors
from ..operations import is_model, unstorable

if TYPE_CHECKING:
    from ..operations import Operation

RestValidator = Callable[[dict[str, str], dict[str, Any], "bytes | None"], dict[str, Any]]
"""``validate(path_values, query, body) -> kwargs``, or a ValidationFailed."""


def rest_validator(op: Operation) -> RestValidator:
    """``op``'s raw HTTP input (path values, the parsed query, the body's bytes) as its
    handler's keyword arguments, or a ValidationFailed naming every bad field at once.

    The usual shapes (no path or query parameters, with or without a JSON body) get just
    the part they need, with the same answers and errors.
    """
    read_body = _body_reader(op)
    params_model = op.params_model
    if params_model is None:
        return read_body or _no_arguments
    query_params = op.query_params
    list_params = {p.name for p in query_params if _is_list(p.annotation)}

    def validate(path_values: dict[str, str], query: dict[str, Any], body: bytes | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        raw = dict(path_values)
        for p in query_params:
            if p.name in query:
                v = query[p.name]
                raw[p.name] = v if p.name in list_params else v[-1]
        try:
            values = params_model.model_validate(raw).__dict__
        except ValidationError as exc:
            errors += [_relocate(e, op) for e in field_errors(exc)]
        else:
            errors += [_relocate(e, op) for e in unstorable(values)]
            kwargs.update(values)
        if read_body is not None:
            try:
                kwargs.update(read_body(path_values, query, body))
            except ValidationFailed as exc:
                errors += exc.errors
        if errors:
            raise ValidationFailed(errors)
        return kwargs

    return validate


def json_dumper(op: Operation) -> Callable[[Any], bytes]:
    """``op``'s result as JSON bytes, in one call: a result that already is the output
    model (the usual case) goes straight to pydantic's serializer. An operation without output has
    nothing to write: its endpoint never calls this."""
    # pydantic-core's serializer called directly: the TypeAdapter method's keyword
    # plumbing costs as much as serializing a small model.
    to_json = _core(op.output_adapter, "serializer", "to_json")
    if to_json is None:
        return _no_output
    output, to_output = op.output, op.to_output

    def dump_json(result: Any) -> bytes:
        return to_json(to_output(result))  # type: ignore[no-any-return]

    if not is_model(output):
        return dump_json

    def dump(result: Any) -> bytes:
        return to_json(result if result.__class__ is output else to_output(result))  # type: ignore[no-any-return]

    return dump


def rest_errors(exc: ValidationFailed, op: Operation) -> ValidationFailed:
    """A handler's :meth:`ValidationFailed.on` errors as REST names fields: the body
    parameter's name becomes ``body``, a path or query parameter gets ``path.``/``query.``
    (as :func:`rest_validator` reports them). Other errors are left as they are."""
    if not exc.in_params:
        return exc
    errors = []
    for err in exc.errors:
        loc = err["loc"]
        if op.body is not None and loc and loc[0] == op.body.name:
            err = _at(err, ["body", *loc[1:]])
        elif loc and any(p.name == loc[0] for p in (*op.path_params, *op.query_params)):
            err = _relocate(err, op)
        errors.append(err)
    fields = ", ".join(e["field"] for e in errors)
    out = ValidationFailed(errors, f"{fields}: {errors[0]['msg']}" if len(errors) == 1 else None)
    out.headers = exc.headers
    return out


def _body_reader(op: Operation) -> RestValidator | None:
    """The JSON body's part of :func:`rest_validator`: ``{name: value}`` or a
    ValidationFailed at ``body``; None for an operation without a body."""
    body = op.body
    # pydantic-core's validator called directly, as for the serializer above.
    validate_json = _core(op.body_adapter, "validator", "validate_json")
    if body is None or validate_json is None:
        return None
    name, required, default = body.name, body.required, body.default

    def read_body(path_values: dict[str, str], query: dict[str, Any], raw: bytes | None) -> dict[str, Any]:
        if not raw:
            if required:
                raise ValidationFailed([{"loc": ["body"], "field": "body", "msg": "A JSON body is required", "type": "missing"}])
            return {name: default}
        try:
            value = validate_json(raw)
        except ValidationError as exc:
            errors = field_errors(exc, ("body",))
        else:
            # JSON can carry a NUL only escaped (jiter refuses raw control characters and
            # lone surrogates itself): one C-level search decides whether to look further.
            if b"\\u0000" not in raw or not (errors := unstorable(value, ("body",))):
                return {name: value}
        raise ValidationFailed(errors)

    return read_body


def _no_arguments(path_values: dict[str, str], query: dict[str, Any], body: bytes | None) -> dict[str, Any]:
    """The keyword arguments of an operation that takes none."""
    return {}


def _no_output(result: Any) -> bytes:
    raise TypeError("this operation declares no output: there is nothing to write")


def _core(adapter: TypeAdapter[Any] | None, part: str, method: str) -> Callable[..., Any] | None:
    """``adapter.validator.validate_json`` (or the serializer's ``to_json``) when pydantic
    has built it, else the adapter's own method (a schema still waiting for a forward ref)."""
    if adapter is None:
        return None
    core = getattr(adapter, part, None)
    if isinstance(core, (SchemaValidator, SchemaSerializer)):
        return getattr(core, method)  # type: ignore[no-any-return]
    return getattr(adapter, "validate_json" if part == "validator" else "dump_json")  # type: ignore[no-any-return]


def _at(err: dict[str, Any], loc: list[Any]) -> dict[str, Any]:
    """``err`` at ``loc``, its dotted ``field`` to match."""
    return {**err, "loc": loc, "field": ".".join(str(p) for p in loc)}


def _relocate(err: dict[str, Any], op: Operation) -> dict[str, Any]:
    name = err["loc"][0] if err["loc"] else ""
    where = "path" if any(p.name == name for p in op.path_params) else "query"
    return _at(err, [where, *err["loc"]])


def _is_list(tp: Any) -> bool:
    """Whether a query parameter takes every value its name is given (``?tag=a&tag=b``)."""
    origin = typing.get_origin(tp)
    if origin in (list, set, frozenset, tuple):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(tp) if a is not type(None))
    return False
