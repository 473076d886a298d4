"""A compiled router: a dict hit for static paths, one regex per templated path."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..operations import Operation

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


class Router:
    def __init__(self) -> None:
        self.static: dict[str, dict[str, Operation]] = {}
        self.dynamic: list[tuple[re.Pattern[str], str, dict[str, Operation]]] = []
        self._templates: dict[str, dict[str, Operation]] = {}

    def add(self, op: Operation) -> None:
        methods = self._templates.get(op.path)
        if methods is None:
            methods = self._templates[op.path] = {}
            if "{" in op.path:
                pattern = "^" + _PARAM.sub(r"(?P<\1>[^/]+)", re.escape(op.path).replace(r"\{", "{").replace(r"\}", "}")) + "$"
                self.dynamic.append((re.compile(pattern), op.path, methods))
            else:
                self.static[op.path] = methods
        if op.method in methods:
            other = methods[op.method]
            raise ConfigurationError(f"{op.method} {op.path} is declared by both {other.qualname} and {op.qualname}")
        methods[op.method] = op

    def match(self, path: str) -> tuple[dict[str, Operation] | None, dict[str, str]]:
        """The operations at a path (by method) and the path's parameters."""
        hit = self.static.get(path)
        if hit is not None:
            return hit, {}
        for pattern, _tpl, methods in self.dynamic:
            m = pattern.match(path)
            if m is not None:
                return methods, m.groupdict()
        return None, {}
