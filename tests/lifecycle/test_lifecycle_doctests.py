"""The lifecycle modules' docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["hyperdeliver.lifecycle.states", "hyperdeliver.lifecycle.plugin", "hyperdeliver.lifecycle.sunset"])
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
