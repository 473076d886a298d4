"""Limits on a GraphQL document, checked before any resolver runs.

- tokens: ``graphql.parse(max_tokens=...)`` stops reading a huge document early;
- depth: the deepest field selection of an operation, fragments followed
  (introspection fields ``__schema``/``__type`` are left to graphql-core's own
  ``MaxIntrospectionDepthRule``);
- aliases: aliased fields in the whole document;
- introspection: ``__schema`` and ``__type`` refused when turned off (``__typename``
  stays, clients need it).

Each limit is a setting (``graphql_max_tokens``, ``graphql_max_depth``,
``graphql_max_aliases``, ``graphql_introspection``) and each refusal carries its own
``extensions.code``.

Example:
    >>> from graphql import parse
    >>> from hyperdeliver.graphql.schema import build_schema
    >>> from hyperdeliver import Feature, PUBLIC
    >>> f = Feature("f", owner="x")
    >>> @f.query("GET /n", roles=PUBLIC)
    ... async def n(ctx) -> int:
    ...     return 1
    >>> limits = Limits(max_depth=5, max_aliases=1, max_tokens=100, introspection=False)
    >>> [e.extensions["code"] for e in limits.check(build_schema(f.operations.values()), "{ a: n b: n }")]
    ['MAX_ALIASES_EXCEEDED']
"""

from __future__ import annotations

import re

from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    parse,
    specified_rules,
    validate,
)

from .errors import INTROSPECTION_DISABLED, MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, PARSE_FAILED, VALIDATION_FAILED


@dataclass(frozen=True)
class Limits:
    """What one GraphQL document may ask for."""

    max_depth: int = 10
    """Deepest field nesting of an operation (a root field is depth 1)."""
    max_aliases: int = 15
    """Aliased fields in the whole document."""
    max_tokens: int = 2000
    """Lexical tokens in the document, enforced by the parser."""
    introspection: bool = True
    """Whether ``__schema`` and ``__type`` may be queried."""
    suggestions: bool = True
    """Whether errors keep graphql-core's "Did you mean ...?" hints (they name fields)."""

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """Limits from ``Settings``; introspection defaults to off in production only."""
        introspection = settings.graphql_introspection
        if introspection is None:
            introspection = settings.env != "production"
        suggestions = settings.graphql_suggestions
        if suggestions is None:
            suggestions = settings.env != "production"
        return cls(settings.graphql_max_depth, settings.graphql_max_aliases, settings.graphql_max_tokens, introspection, suggestions)

    def rules(self) -> list[type[ASTValidationRule]]:
        extra: list[type[ValidationRule]] = [depth_rule(self.max_depth), alias_rule(self.max_aliases)]
        if not self.introspection:
            extra.append(NoIntrospection)
        return [*specified_rules, *extra]

    def parse(self, source: str) -> DocumentNode:
        """Parse, or raise GraphQLError with code MAX_TOKENS_EXCEEDED / GRAPHQL_PARSE_FAILED."""
        try:
            return parse(source, max_tokens=self.max_tokens)
        except GraphQLError as exc:
            too_long = "tokens" in exc.message and "Parsing aborted" in exc.message
            exc.extensions = {"code": MAX_TOKENS if too_long else PARSE_FAILED}
            raise

    def check(self, schema: GraphQLSchema, source: str) -> list[GraphQLError]:
        """Every refusal for ``source`` (empty when it may run)."""
        try:
            document = self.parse(source)
        except GraphQLError as exc:
            return [exc]
        return self.validate(schema, document)

    def validate(self, schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
        errors = validate(schema, document, self.rules())
        for err in errors:
            if not err.extensions:
                err.extensions = {"code": VALIDATION_FAILED}
            if not self.suggestions:
                err.message = without_suggestions(err.message)
        return errors


_SUGGESTION = re.compile(r" Did you mean .*\?$", re.DOTALL)


def without_suggestions(message: str) -> str:
    """``message`` without graphql-core's trailing "Did you mean ...?" (which names
    fields, types and values: the schema that turned-off introspection hides).

    >>> without_suggestions("Cannot query field 'nme' on type 'Task'. Did you mean 'name'?")
    "Cannot query field 'nme' on type 'Task'."
    """
    return _SUGGESTION.sub("", message)


class NoIntrospection(ValidationRule):
    """Refuses ``__schema`` and ``__type``."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "introspection is turned off (HYPER_GRAPHQL_INTROSPECTION)",
                    node,
                    extensions={"code": INTROSPECTION_DISABLED},
                )
            )


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """A rule refusing operations nested deeper than ``max_depth`` fields."""

    class MaxDepth(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragment_depths: dict[str, int] = {}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            depth = self.depth(node.selection_set, set())
            if depth > max_depth:
                name = f" {node.name.value}" if node.name else ""
                self.report_error(
                    GraphQLError(
                        f"the operation{name} is {depth} fields deep; the limit is {max_depth} (HYPER_GRAPHQL_MAX_DEPTH)",
                        node,
                        extensions={"code": MAX_DEPTH},
                    )
                )

        def depth(self, selection_set: SelectionSetNode | None, visiting: set[str]) -> int:
            """The depth below a selection set; a fragment's depth is computed once."""
            if selection_set is None:
                return 0
            deepest = 0
            for sel in selection_set.selections:
                if isinstance(sel, FieldNode):
                    if sel.name.value.startswith("__"):
                        continue
                    d = 1 + self.depth(sel.selection_set, visiting)
                elif isinstance(sel, InlineFragmentNode):
                    d = self.depth(sel.selection_set, visiting)
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    if name in self.fragment_depths:
                        d = self.fragment_depths[name]
                    elif name in visiting:
                        continue  # a cycle: NoFragmentCyclesRule reports it
                    else:
                        fragment = self.context.get_fragment(name)
                        d = self.depth(fragment.selection_set, visiting | {name}) if fragment else 0
                        self.fragment_depths[name] = d
                else:  # pragma: no cover - no other selection kinds
                    continue
                deepest = max(deepest, d)
            return deepest

    return MaxDepth


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    """A rule refusing documents with more than ``max_aliases`` aliased fields."""

    class MaxAliases(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            if node.alias is not None:
                self.count += 1

        def leave_document(self, node: DocumentNode, *_args: Any) -> None:
            if self.count > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"the document has {self.count} aliases; the limit is {max_aliases} (HYPER_GRAPHQL_MAX_ALIASES)",
                        extensions={"code": MAX_ALIASES},
                    )
                )

    return MaxAliases
