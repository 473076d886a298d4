"""The raw-ASGI message helpers: media types, bodies, queries (their docstring examples)."""

from __future__ import annotations

import doctest

from hyperdeliver.http import messages as http


def test_docstring_examples() -> None:
    result = doctest.testmod(http)
    assert result.attempted > 0 and result.failed == 0
