"""Operation: one typed handler, declared once, served by every adapter (REST, GraphQL).

An operation is built from the handler's signature: the first parameter is the
:class:`~hyperdeliver.context.Context`; a parameter named in the route's ``{braces}``
is a path parameter; a Pydantic model parameter of a mutation is the JSON body;
every other parameter is a query-string parameter. The return annotation is the
output model.

How a transport carries the arguments and the result is its adapter's business:
:mod:`hyperdeliver.rest.binding` (path, query and JSON body in; JSON bytes out) and
:mod:`hyperdeliver.graphql` (camelCase names; Python values out). :class:`Invocable` is
what the front controller calls: an :class:`Operation` or a background
:class:`~hyperdeliver.tasks.Task`.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Protocol, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from .errors import ConfigurationError, ValidationFailed, field_errors
from .roles import requirement

if TYPE_CHECKING:
    from .features import Feature
    from .scopes import ScopeCheck

Handler = Callable[..., Awaitable[Any]]
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


class Invocable(Protocol):
    """What the front controller calls, its gates check and its observers count: an
    :class:`Operation` (REST, GraphQL) or a :class:`~hyperdeliver.tasks.Task` (jobs).

    The controller reads the declaration once per callable, then per call awaits
    :attr:`handler` with the keyword arguments :meth:`validate_args` (or an adapter's own
    parser) returned. Read-only here: the app, not the controller, sets them.
    """

    @property
    def feature(self) -> Feature: ...

    @property
    def kind(self) -> str:
        """``"query"``, ``"mutation"``, ``"page"`` (a dashboard page) or ``"task"``."""

    @property
    def name(self) -> str: ...

    @property
    def qualname(self) -> str:
        """``"<feature>.<name>"``: unique in an app."""

    @property
    def summary(self) -> str: ...

    @property
    def roles(self) -> frozenset[str] | None: ...

    @property
    def requirement(self) -> frozenset[str] | None:
        """What a caller must hold (:func:`~hyperdeliver.roles.requirement` of :attr:`roles`)."""

    @property
    def status(self) -> int:
        """The status of a successful call unless the handler sets ``ctx.status``."""

    @property
    def handler(self) -> Handler: ...

    @property
    def scope(self) -> str | None: ...

    @property
    def scope_check(self) -> ScopeCheck | None:
        """The scope check the app builds from :attr:`scope` (None: not scoped)."""

    def validate_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Already-decoded arguments (Python names) as the handler's keyword arguments,
        or a :class:`~hyperdeliver.errors.ValidationFailed`."""


@dataclass(eq=False)
class Param:
    name: str
    annotation: Any
    default: Any
    location: str  # "path" | "query" | "body"

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(eq=False)
class Operation:
    """A declared operation. Inspectable: adapters, ``hyper routes`` and tests read it."""

    feature: Feature
    kind: str  # "query" | "mutation" | "page" (a dashboard page, see hyperdeliver.dashboard.views)
    name: str
    method: str
    path: str
    roles: frozenset[str] | None
    handler: Handler
    summary: str
    description: str
    status: int
    params: list[Param]
    output: Any
    tags: tuple[str, ...] = ()
    opt: dict[str, Any] = field(default_factory=dict)
    scope: str | None = None
    """The scope its roles are held in (``"workspace"``); None: global roles."""
    scope_at: Any = None
    """Which argument names the scope (a name or a :class:`~hyperdeliver.Lookup`); None: found from the scope's declaration."""

    def __post_init__(self) -> None:
        self.path_params = [p for p in self.params if p.location == "path"]
        self.query_params = [p for p in self.params if p.location == "query"]
        bodies = [p for p in self.params if p.location == "body"]
        self.body: Param | None = bodies[0] if bodies else None
        self.qualname = f"{self.feature.name}.{self.name}"
        # Path and query values arrive as strings; one model validates them together
        # in lax mode, so "7" becomes 7 and bad values become field errors.
        simple = self.path_params + self.query_params
        self.params_model: type[BaseModel] | None = None
        if simple:
            fields: dict[str, Any] = {
                p.name: (bounded_int(p.annotation), ... if p.required else p.default) for p in simple
            }
            self.params_model = create_model(f"{self.name}_params", **fields)
        self.body_adapter = TypeAdapter(self.body.annotation) if self.body else None
        self.output_adapter = TypeAdapter(self.output) if self.output is not None else None
        self._output_is_model = is_model(self.output)
        self.public = self.roles is not None and "public" in self.roles
        self.requirement = requirement(self.roles) if self.roles is not None else None
        """What the front controller checks (:func:`~hyperdeliver.roles.requirement`)."""
        self.scope_check: ScopeCheck | None = None
        """The :class:`~hyperdeliver.scopes.ScopeCheck` the app builds for a scoped operation (read per call)."""

    # -- validation -----------------------------------------------------------------

    def validate_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Validate already-decoded arguments (GraphQL, jobs); keys are Python names."""
        kwargs: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        if self.params_model is not None:
            raw = {p.name: args[p.name] for p in self.path_params + self.query_params if p.name in args}
            try:
                values = self.params_model.model_validate(raw).__dict__
            except ValidationError as exc:
                errors += field_errors(exc)
            else:
                errors += unstorable(values)
                kwargs.update(values)
        if self.body is not None and self.body_adapter is not None:
            if self.body.name in args and args[self.body.name] is not None:
                try:
                    kwargs[self.body.name] = value = self.body_adapter.validate_python(args[self.body.name])
                except ValidationError as exc:
                    errors += field_errors(exc, (self.body.name,))
                else:
                    errors += unstorable(value, (self.body.name,))
            elif self.body.required:
                errors.append({"loc": [self.body.name], "field": self.body.name, "msg": "Field required", "type": "missing"})
        if errors:
            raise ValidationFailed(errors)
        return kwargs

    # -- output ---------------------------------------------------------------------

    def to_output(self, result: Any) -> Any:
        """Coerce a handler result (model, ORM row, dict) into the declared output type."""
        if self.output_adapter is None or result is None:
            return result
        if self._output_is_model and isinstance(result, self.output):
            return result
        return self.output_adapter.validate_python(result, from_attributes=True)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""What no database column stores as text: NUL (PostgreSQL refuses it; SQLite cuts C
strings at it) and lone surrogates (not encodable as UTF-8)."""
UNSTORABLE_MSG = "contains a character the database cannot store (NUL or a lone surrogate)"


def unstorable(value: Any, loc: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    r"""A field error for every string in ``value`` (a model, dict, list, or a dict of
    parameters at the top) holding NUL or a lone surrogate, refused before a database
    sees it (asyncpg would raise ``CharacterNotInRepertoireError``: a 500).

    >>> unstorable({"name": "a\x00b", "tags": ["ok", "\ud800"]}, ("body",))[1]["field"]
    'body.tags.1'
    """
    found: list[dict[str, Any]] = []
    _walk(value, list(loc), found)
    return found


def _walk(value: Any, loc: list[str | int], found: list[dict[str, Any]]) -> None:
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            found.append({"loc": loc, "field": ".".join(str(p) for p in loc), "msg": UNSTORABLE_MSG, "type": "string_unstorable"})
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name), [*loc, name], found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, [*loc, key], found)
            _walk(item, [*loc, key], found)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            _walk(item, [*loc, i], found)


INT64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""An ``int`` path or query parameter: what a database column can hold (a larger one is a
422, not a driver's overflow error in the handler)."""


def bounded_int(annotation: Any) -> Any:
    """``annotation`` with ``int`` (alone, optional, or in a list) bounded to 64 bits.

    >>> bounded_int(int) is INT64, bounded_int(str) is str
    (True, True)
    >>> bounded_int(int | None) == (INT64 | None), bounded_int(list[int]) == list[INT64]
    (True, True)
    """
    if annotation is int:
        return INT64
    args = get_args(annotation)
    if int in args:
        if get_origin(annotation) is list:
            return list[INT64]  # type: ignore[valid-type]
        if type(None) in args and len(args) == 2:
            return INT64 | None
    return annotation


def parse_route(route: str) -> tuple[str, str]:
    """``"POST /items"`` -> ``("POST", "/items")``."""
    parts = route.split()
    if len(parts) != 2 or parts[0].upper() not in _METHODS or not parts[1].startswith("/"):
        raise ConfigurationError(f"route {route!r} must look like 'GET /things/{{thing_id}}'")
    return parts[0].upper(), parts[1]


def build_operation(
    feature: Feature,
    kind: str,
    route: str,
    handler: Handler,
    *,
    roles: frozenset[str] | None,
    name: str | None = None,
    status: int | None = None,
    summary: str | None = None,
    tags: tuple[str, ...] = (),
    opt: dict[str, Any] | None = None,
    scope: str | None = None,
    scope_at: Any = None,
) -> Operation:
    if not inspect.iscoroutinefunction(handler):
        raise ConfigurationError(f"{feature.name}.{handler.__name__}: handlers must be 'async def'")
    method, path = parse_route(route)
    if kind == "query" and method != "GET":
        raise ConfigurationError(f"{feature.name}.{handler.__name__}: a query is served as GET, not {method}")
    if kind == "mutation" and method == "GET":
        raise ConfigurationError(f"{feature.name}.{handler.__name__}: a mutation cannot be GET; use @feature.query")
    hints = typing.get_type_hints(handler, include_extras=True)
    sig = inspect.signature(handler)
    path_names = set(_PARAM.findall(path))
    params: list[Param] = []
    ps = list(sig.parameters.values())
    if not ps:
        raise ConfigurationError(f"{feature.name}.{handler.__name__}: the first parameter must be the Context")
    for p in ps[1:]:
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise ConfigurationError(f"{feature.name}.{handler.__name__}: *args/**kwargs are not supported")
        ann = hints.get(p.name, Any)
        if p.name in path_names:
            loc = "path"
        elif is_model(ann) and kind == "mutation":
            loc = "body"
        else:
            loc = "query"
        params.append(Param(p.name, ann, p.default, loc))
    missing = path_names - {p.name for p in params if p.location == "path"}
    if missing:
        raise ConfigurationError(f"{feature.name}.{handler.__name__}: route names {sorted(missing)} but the handler has no such parameter")
    if sum(1 for p in params if p.location == "body") > 1:
        raise ConfigurationError(f"{feature.name}.{handler.__name__}: at most one body model per operation")
    output = hints.get("return", None)
    if output is type(None):
        output = None
    doc = inspect.getdoc(handler) or ""
    first = doc.split("\n\n", 1)[0].strip()
    default_status = 201 if method == "POST" else 200
    if output is None:
        default_status = 204
    return Operation(
        feature=feature,
        kind=kind,
        name=name or handler.__name__,
        method=method,
        path=path,
        roles=roles,
        handler=handler,
        summary=summary or first or handler.__name__.replace("_", " "),
        description=doc,
        status=status or default_status,
        params=params,
        output=output,
        tags=tags,
        opt=opt or {},
        scope=scope,
        scope_at=scope_at,
    )
