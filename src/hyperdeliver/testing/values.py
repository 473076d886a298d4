"""Plausible inputs for an operation: path, query and body values its validation accepts.

The permission matrix calls every operation as every caller. A call the framework lets
through should reach the handler, not stop at validation, so each required parameter
and each required body field gets a value that satisfies its declared type and
constraints (lengths, bounds, formats, enums), read from the JSON Schema pydantic
derives from the declaration. Optional fields are left out: their defaults apply.
Values are deterministic (the same on every run): ids are 1, strings ``"example"``
(cut or padded to the allowed length), numbers the smallest allowed.

Example:
    >>> from pydantic import BaseModel, Field
    >>> class InvoiceIn(BaseModel):
    ...     customer_email: str = Field(json_schema_extra={"format": "email"})
    ...     amount_cents: int = Field(ge=100)
    ...     currency: str = Field(pattern="^[A-Z]{3}$")
    ...     note: str = ""
    >>> from_schema(InvoiceIn.model_json_schema())
    {'customer_email': 'user@example.com', 'amount_cents': 100, 'currency': 'AAA'}
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..operations import Operation

TEXT = "example"
FORMATS: dict[str, Any] = {
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/example",
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "duration": "P1D",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
    "binary": "ZXhhbXBsZQ==",
    "base64": "ZXhhbXBsZQ==",
    "password": "correct-horse-battery",
    "json-string": "{}",
}
"""A value for each string format pydantic emits."""
PATTERN_TRIES = ("a", "A", "1", "aaa", "AAA", "abc", "ABC", "123", "a1", "example", "example-1", "EXAMPLE", "x" * 8, "0" * 8)


class Unfillable(ValueError):
    """No plausible value could be made for a schema (an unusual pattern, say)."""


def for_operation(op: Operation) -> tuple[dict[str, str], dict[str, str], Any]:
    """(path values, query values, JSON body or None) a call of ``op`` validates with."""
    path: dict[str, str] = {}
    query: dict[str, str] = {}
    if op.params_model is not None:
        schema = op.params_model.model_json_schema()
        values = from_schema(schema)
        required = set(schema.get("required", ()))
        for p in op.path_params:
            path[p.name] = _as_text(values.get(p.name, 1))
        for p in op.query_params:
            if p.name in required:
                value = values[p.name]
                query[p.name] = _as_text(value[0] if isinstance(value, list) and value else value)
    body: Any = None
    if op.body is not None and op.body_adapter is not None:
        body = from_schema(op.body_adapter.json_schema())
    return path, query, body


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def from_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None, name: str = "") -> Any:
    """A value valid against ``schema`` (pydantic's JSON Schema: ``$ref`` into ``$defs``,
    ``anyOf``, enums, string formats and patterns, numeric bounds, array and object
    shapes); only the required properties of objects. ``name`` is the property's name: a
    string named like an email, a URL or a password gets one."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return from_schema(options[0], defs, name)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(defs[part["$ref"].rsplit("/", 1)[-1]] if "$ref" in part else part)
        return from_schema(merged, defs, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "string":
        return _string(schema, name)
    if kind == "integer":
        return int(_number(schema, 1))
    if kind == "number":
        return float(_number(schema, 1.0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        items = schema.get("items", {})
        return [from_schema(items, defs, name) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: from_schema(props.get(key, {}), defs, key) for key in schema.get("required", ())}
    return TEXT  # an unconstrained value (Any): any JSON will do


def _number(schema: dict[str, Any], default: float) -> float:
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + (1 if schema.get("type") == "integer" else 0.5)
    high = schema.get("maximum")
    if "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - (1 if schema.get("type") == "integer" else 0.5)
    value = default
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high if low is None or high >= low else low
    step = schema.get("multipleOf")
    if step:
        value = step * max(1, -(-value // step)) if value > 0 else 0
    return value


def _string(schema: dict[str, Any], name: str = "") -> str:
    fmt = schema.get("format") or _format_named(name)
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    if fmt in FORMATS and low <= len(FORMATS[fmt]) <= (high if high is not None else 10**9) and "pattern" not in schema:
        return str(FORMATS[fmt])
    pattern = schema.get("pattern")
    if pattern is not None:
        rx = re.compile(pattern)
        fits = lambda c: rx.search(c) is not None and low <= len(c) <= (high if high is not None else len(c))  # noqa: E731
        try:
            made = _from_regex(pattern)
        except (Unfillable, re.error):
            made = None
        for candidate in ([made] if made is not None else []) + [t for text in PATTERN_TRIES for t in (text, _fit(text, low, high))]:
            if fits(candidate):
                return candidate
        raise Unfillable(f"no plausible value for the pattern {pattern!r}")
    return _fit(TEXT, low, high)


def _from_regex(pattern: str) -> str:
    """The shortest string of a simple regular expression's language: literals, classes,
    repeats at their minimum, the first branch; anchors and lookarounds ignored."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    def emit(items: Any) -> str:
        out = []
        for op, arg in items:
            if op is c.LITERAL:
                out.append(chr(arg))
            elif op is c.ANY:
                out.append("a")
            elif op is c.IN:
                out.append(_first_of(arg, c))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                least, _most, sub = arg
                out.append(emit(sub) * least)
            elif op is c.SUBPATTERN:
                out.append(emit(arg[-1]))
            elif op is getattr(c, "ATOMIC_GROUP", None):
                out.append(emit(arg))
            elif op is c.BRANCH:
                out.append(emit(arg[1][0]))
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                continue
            else:
                raise Unfillable(f"cannot make a value for {op} in {pattern!r}")
        return "".join(out)

    return emit(_parser.parse(pattern))


def _first_of(items: Any, c: Any) -> str:
    """A character of a class ``[...]``: its first literal, range start or category."""
    negated = False
    for op, arg in items:
        if op is c.NEGATE:
            negated = True
        elif negated:
            break
        elif op is c.LITERAL:
            return chr(arg)
        elif op is c.RANGE:
            return chr(arg[0])
        elif op is c.CATEGORY:
            return {c.CATEGORY_DIGIT: "1", c.CATEGORY_SPACE: " ", c.CATEGORY_WORD: "a"}.get(arg, "a")
    return "a" if not negated else "\u00e9"  # a negated class: something rarely excluded


def _format_named(name: str) -> str | None:
    """The format a property's name suggests: ``email``, ``homepage_url``, ``password``."""
    name = name.lower()
    for hint, fmt in (("email", "email"), ("url", "uri"), ("password", "password")):
        if name == hint or name.endswith("_" + hint):
            return fmt
    return None


def _fit(text: str, low: int, high: int | None) -> str:
    if len(text) < low:
        text = (text * (low // len(text) + 1))[:low]
    if high is not None:
        text = text[: int(high)]
    return text
