"""The raw-ASGI HTTP helpers: media types, bodies, queries."""

from __future__ import annotations

import doctest

from hyperdeliver.rest import http


def test_docstring_examples() -> None:
    result = doctest.testmod(http)
    assert result.attempted > 0 and result.failed == 0
