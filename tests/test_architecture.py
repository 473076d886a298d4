"""The layers of hyperdeliver and who may import whom (docs/architecture.md), held by an
ast walk over every module of ``src/hyperdeliver``.

Four rules, each checked on every ``import`` the source holds, at module level or
inside a function (a deferred import still couples two modules):

1. layers: a module imports only from its own layer or from the layers below it;
2. independence: the packages of an independent layer (the adapters) never import
   each other; what they share lives a layer below (``hyperdeliver.http``);
3. ``app.py`` names no adapter: adapters reach the App as plugins (``plugins.py``);
4. no cycles: the packages of the services layer may import each other, never in a cycle.

An import under ``if TYPE_CHECKING:`` never runs; it may name a type from any layer
but the tools (usually ``App``, the handle every plugin and service receives).

Every module must be placed: a new module outside :data:`LAYERS` fails the suite until
it is given a layer here and in the docs' table. :data:`KNOWN_VIOLATIONS` is today's
debt; an entry whose import is gone fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "hyperdeliver"
NOT_MODULES = ("scaffold/templates/",)
"""Files under the package that are data, not its modules (copied into new projects)."""


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]
    """Module or package names (relative to ``hyperdeliver``); a package covers its sub-modules."""
    independent: bool = False
    """Whether its packages must not import each other."""
    acyclic: bool = False
    """Whether its packages may import each other only without a cycle."""


LAYERS: tuple[Layer, ...] = (  # bottom first
    Layer("foundation", ("types", "errors", "clock", "settings", "roles", "background")),
    Layer("db", ("db",)),
    Layer("core", ("operations", "features", "tasks", "context", "controller", "scopes", "error_map", "plugins", "auth.principal")),
    Layer("services", ("auth", "jobs", "usage", "lifecycle", "delivery"), acyclic=True),
    Layer("http", ("http",)),
    Layer("adapters", ("rest", "graphql", "dashboard", "ops"), independent=True),
    Layer("app", ("", "app", "assembly")),
    Layer("tools", ("cli", "testing", "scaffold", "deploy", "demo")),
)
"""The most specific name wins (``auth.principal`` is core, the rest of ``auth`` a
service); ``""`` is the package itself (``hyperdeliver/__init__.py``) and only it."""

NO_ADAPTERS = ("app",)
"""Modules that must not import the adapters layer: the App is handed its adapters as plugins."""

KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}
"""Upward imports let through for now, ``(importer, imported)`` relative to ``hyperdeliver``,
each with why it is wrong. Empty since issue 19; an entry whose import is gone fails the test."""


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: Path
    line: int
    type_only: bool


def qualified(name: str) -> str:
    return f"{PACKAGE}.{name}" if name else PACKAGE


def relative(name: str) -> str:
    return name.removeprefix(PACKAGE).removeprefix(".")


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name (a package by its ``__init__``)."""
    found = {}
    base = SRC / PACKAGE
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(base).as_posix()
        if rel.startswith(NOT_MODULES):
            continue
        parts = [PACKAGE, *path.relative_to(base).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def type_checking_nodes(tree: ast.Module) -> set[int]:
    """The ids of the nodes inside ``if TYPE_CHECKING:`` blocks (not their ``else``)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else None
            if name == "TYPE_CHECKING":
                inside.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return inside


def imports_of(source: str, module: str, is_package: bool, known: set[str], path: Path = Path("?")) -> list[Import]:
    """The package's own modules that ``source`` (the module ``module``) imports.

    ``from X import name`` imports the module ``X.name`` when there is one, else ``X``.
    """
    tree = ast.parse(source)
    type_only = type_checking_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor.pop()
                anchor = anchor[: len(anchor) - (node.level - 1)]
                stem = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                stem = node.module or ""
            names = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem for a in node.names]
        else:
            continue
        for name in dict.fromkeys(names):
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                found.append(Import(module, name, path, node.lineno, id(node) in type_only))
    return found


@functools.cache
def all_imports() -> tuple[Import, ...]:
    mods = modules()
    known = set(mods)
    found = []
    for name, path in mods.items():
        found += imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known, path)
    return tuple(found)


def placement(module: str) -> tuple[int, str] | None:
    """``(layer index, entry)`` of a dotted module name: the most specific entry covering it."""
    best: tuple[int, str] | None = None
    for index, layer in enumerate(LAYERS):
        for entry in layer.modules:
            full = qualified(entry)
            if module == full or (entry and module.startswith(full + ".")):
                if best is None or len(entry) > len(best[1]):
                    best = (index, entry)
    return best


def broken_rule(imp: Import) -> str | None:
    """The rule ``imp`` breaks, said in one line, or None."""
    source, target = placement(imp.importer), placement(imp.imported)
    if source is None or target is None:
        return None  # reported by test_every_module_is_in_a_layer
    (low, entry), (high, target_entry) = source, target
    layer, other = LAYERS[low], LAYERS[high]
    if imp.type_only:
        if other.name == "tools" and layer.name != "tools":
            return f"a TYPE_CHECKING import may name any layer but tools; {layer.name} may not know {other.name}"
        return None
    if high > low:
        below = ", ".join(lay.name for lay in LAYERS[: low + 1])
        return f"{layer.name} may import only {below}; {other.name} is above it"
    if low == high and layer.independent and entry != target_entry:
        return f"the {layer.name} are independent: {entry} must not import {target_entry}; move what they share to a lower layer"
    if other.name == "adapters" and relative(imp.importer) in NO_ADAPTERS:
        return f"{relative(imp.importer)} must not import an adapter: adapters reach the App as plugins (plugins.py)"
    return None


def violations() -> dict[tuple[str, str], list[str]]:
    """Every import that breaks a rule, keyed ``(importer, imported)``, with its messages."""
    found: dict[tuple[str, str], list[str]] = {}
    for imp in sorted(all_imports(), key=lambda i: (i.importer, i.line)):
        rule = broken_rule(imp)
        if rule is not None:
            key = (relative(imp.importer), relative(imp.imported))
            where = f"{imp.path.relative_to(ROOT)}:{imp.line}"
            found.setdefault(key, []).append(f"{where}: {imp.importer} imports {imp.imported}: {rule}")
    return found


def test_every_module_is_in_a_layer() -> None:
    unplaced = [name for name in modules() if placement(name) is None]
    assert not unplaced, (
        f"modules in no layer: {unplaced}; add each to LAYERS in tests/test_architecture.py "
        "and to the table in docs/architecture.md"
    )


def test_no_module_imports_across_the_layers() -> None:
    new = [msg for key, msgs in sorted(violations().items()) if key not in KNOWN_VIOLATIONS for msg in msgs]
    assert not new, "imports that break the layering (docs/architecture.md):\n" + "\n".join(new)


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph ``edges`` as a path (its first node repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for nxt in sorted(edges.get(node, ())):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(edges):
        found = visit(start, [])
        if found:
            return found
    return None


def test_packages_of_an_acyclic_layer_import_each_other_without_cycles() -> None:
    for index, layer in enumerate(LAYERS):
        if not layer.acyclic:
            continue
        edges: dict[str, set[str]] = {}
        for imp in all_imports():
            source, target = placement(imp.importer), placement(imp.imported)
            if not imp.type_only and source and target and source[0] == target[0] == index and source[1] != target[1]:
                edges.setdefault(source[1], set()).add(target[1])
        found = cycle(edges)
        assert found is None, f"the {layer.name} import each other in a cycle: {' -> '.join(found)}; break it (docs/architecture.md)"


def test_known_violations_only_shrink() -> None:
    fixed = sorted(set(KNOWN_VIOLATIONS) - set(violations()))
    assert not fixed, f"fixed, delete from KNOWN_VIOLATIONS in tests/test_architecture.py: {fixed}"


def test_the_docs_table_lists_the_same_layers() -> None:
    """docs/architecture.md's table rows: ``| layer | `module` `module` … | duty |``."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    names = {layer.name for layer in LAYERS}
    documented = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] in names:
            documented[cells[0]] = {relative(m) for m in re.findall(r"`([^`]+)`", cells[1])}
    expected = {layer.name: set(layer.modules) for layer in LAYERS}
    assert documented == expected, "docs/architecture.md's layer table and LAYERS in tests/test_architecture.py differ"


# The checker's own behaviour, on made-up sources, so a blind spot cannot pass unseen.

KNOWN = {"hyperdeliver.jobs", "hyperdeliver.jobs.tasks", "hyperdeliver.clock", "hyperdeliver.app"}


def test_imports_are_found_in_functions_and_type_checking_blocks_apart() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .. import clock\n"
        "import hyperdeliver.errors as e\n"
        "if TYPE_CHECKING:\n"
        "    from ..app import App\n"
        "else:\n"
        "    import json\n"
        "def f():\n"
        "    from .tasks import Task\n"
        "    from hyperdeliver import App\n"
    )
    found = sorted((i.line, i.imported, i.type_only) for i in imports_of(source, "hyperdeliver.jobs.queue", False, KNOWN))
    assert found == [
        (2, "hyperdeliver.clock", False),
        (3, "hyperdeliver.errors", False),
        (5, "hyperdeliver.app", True),
        (9, "hyperdeliver.jobs.tasks", False),
        (10, "hyperdeliver", False),
    ]


def test_a_package_resolves_relative_imports_from_itself() -> None:
    found = imports_of("from .tasks import Task\nfrom . import clock\n", "hyperdeliver.jobs", True, KNOWN)
    assert [i.imported for i in found] == ["hyperdeliver.jobs.tasks", "hyperdeliver.jobs"]


def test_a_cycle_is_found_and_shown() -> None:
    assert cycle({"usage": {"jobs", "auth"}, "lifecycle": {"usage"}}) is None
    assert cycle({"usage": {"jobs"}, "jobs": {"auth"}, "auth": {"usage"}}) == ["auth", "usage", "jobs", "auth"]


def test_each_rule_names_module_import_and_rule() -> None:
    def rule(importer: str, imported: str, type_only: bool = False) -> str | None:
        return broken_rule(Import(qualified(importer), qualified(imported), Path("x.py"), 1, type_only))

    assert rule("errors", "app") == "foundation may import only foundation; app is above it"
    assert rule("controller", "rest.http") == "core may import only foundation, db, core; adapters is above it"
    assert rule("graphql.asgi", "rest.http") == (
        "the adapters are independent: graphql must not import rest; move what they share to a lower layer"
    )
    assert rule("app", "graphql") == "app must not import an adapter: adapters reach the App as plugins (plugins.py)"
    assert rule("context", "cli.main", type_only=True) == "a TYPE_CHECKING import may name any layer but tools; core may not know tools"
    assert rule("controller", "app", type_only=True) is None
    assert rule("assembly", "graphql") is None
    assert rule("cli.main", "app") is None
    assert rule("graphql.asgi", "graphql.errors") is None
    assert placement("hyperdeliver.auth.principal") == (2, "auth.principal")
    assert placement("hyperdeliver.auth.service") == (3, "auth")
    assert placement("hyperdeliver.newthing") is None
