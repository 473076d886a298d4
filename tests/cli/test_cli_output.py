"""The listing commands' output helpers: ``--json`` and the Rich table."""

from __future__ import annotations

import pytest

from hyperdeliver.cli import output


def test_print_json_writes_indented_json_and_a_newline(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_json([{"a": 1}])
    assert capsys.readouterr().out == '[\n  {\n    "a": 1\n  }\n]\n'
