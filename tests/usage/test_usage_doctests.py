"""The usage and ops modules' docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    ["hyperdeliver.usage.events", "hyperdeliver.usage.histogram", "hyperdeliver.usage.sketch", "hyperdeliver.usage.recorder", "hyperdeliver.usage.fold", "hyperdeliver.usage.buffer", "hyperdeliver.usage.writer.postgresql", "hyperdeliver.ops.metrics"],
)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
