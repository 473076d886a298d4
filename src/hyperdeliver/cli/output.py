"""What the listing commands print: indented JSON for scripts (``--json``), else a Rich table."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from rich.table import Table


def print_json(value: Any) -> None:
    """Write ``value`` to stdout as indented JSON and a newline."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """A Rich table: one column per name in ``columns``, one row per sequence of cells.

    >>> t = table("releases", ("version", "sha"), [("v1", "abc")])
    >>> (t.title, [c.header for c in t.columns], t.row_count)
    ('releases', ['version', 'sha'], 1)
    """
    out = Table(title=title)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*row)
    return out
