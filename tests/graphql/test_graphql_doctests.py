"""The examples in the graphql modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hyperdeliver.graphql.types",
    "hyperdeliver.graphql.schema",
    "hyperdeliver.graphql.limits",
    "hyperdeliver.graphql.errors",
    "hyperdeliver.graphql.plugin",
    "hyperdeliver.graphql.names",
    "hyperdeliver.auth.request",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
