"""The examples in the scaffold modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hyperdeliver.scaffold.render",
    "hyperdeliver.scaffold.project",
    "hyperdeliver.scaffold.owners",
    "hyperdeliver.scaffold.feature",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
