"""``hyper graphql``: the GraphQL schema of the app.

Example:
    $ hyper graphql sdl > schema.graphql
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .loader import load_app

graphql_cli = typer.Typer(help="The GraphQL schema built from the operations.", no_args_is_help=True)


@graphql_cli.command("sdl")
def sdl(
    app: Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write to this file instead of stdout")] = None,
) -> None:
    """Print the schema in GraphQL SDL (every query and mutation operation)."""
    from ..graphql import schema_for, print_sdl

    text = print_sdl(schema_for(load_app(app))) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        from .main import CliError

        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    sys.stderr.write(f"wrote {output} ({text.count(os.linesep)} lines)\n")
