"""Every docstring example of the package runs: doctest over every module under
``src/hyperdeliver``, found by walking the files (no hand-kept list to forget one in).

A module that cannot be imported on its own is named in :data:`NOT_IMPORTABLE` with
the reason; its source must hold no example, so none can hide there. Every example the
source holds (a ``>>>`` in any string of a module) must be one doctest finds and runs:
an example in a place doctest does not look (a function nested in a function, an
attribute's docstring) fails the count instead of being skipped.
"""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import pytest

import hyperdeliver

PACKAGE = Path(hyperdeliver.__file__).resolve().parent

# The project templates are data copied into new projects (pyproject.toml excludes them
# from the package); their modules import the new project's package.
NOT_MODULES = ("scaffold/templates/",)

NOT_IMPORTABLE = {
    "hyperdeliver.db.alembic.env": "Alembic's migration environment: it reads alembic.context.config, "
    "which exists only while `alembic upgrade` (hyper db upgrade) runs it",
}


def module_names() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if any(part in rel.as_posix() for part in NOT_MODULES):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = module_names()


def examples_in_source(path: Path) -> int:
    """How many strings of the module's source hold a ``>>>`` example."""
    tree = ast.parse(path.read_text(), str(path))
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ">>> " in node.value
    )


WITH_EXAMPLES = [name for name, path in MODULES.items() if examples_in_source(path)]


def test_the_walk_finds_the_package_and_its_examples() -> None:
    assert {"hyperdeliver", "hyperdeliver.roles", "hyperdeliver.auth.request", "hyperdeliver.clock"} <= set(MODULES)
    assert len(WITH_EXAMPLES) >= 40, WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name: str) -> None:
    assert name not in NOT_IMPORTABLE, f"{name} has docstring examples but is listed as not importable"
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    assert len(tests) == examples_in_source(MODULES[name]), (
        f"{name}: {examples_in_source(MODULES[name])} strings hold examples, doctest finds {[t.name for t in tests]}"
    )
    failed = []
    for test in tests:
        out: list[str] = []
        runner = doctest.DocTestRunner()
        runner.run(test, out=out.append)
        if runner.failures:
            failed.append("".join(out))
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("name", sorted(set(MODULES) - set(WITH_EXAMPLES)))
def test_every_other_module_imports(name: str) -> None:
    """A module without examples still imports (else an example added later would not
    run), except those named with the reason."""
    if name in NOT_IMPORTABLE:
        with pytest.raises(Exception):  # noqa: B017,PT011  what the reason says: it needs alembic's context
            importlib.import_module(name)
    else:
        importlib.import_module(name)


def test_the_not_importable_list_names_real_modules() -> None:
    assert set(NOT_IMPORTABLE) <= set(MODULES)
