"""``hyper release``: record a deploy (version, git sha) as a marker on every usage chart.

Example:
    .. code-block:: console

        $ hyper release record --version 1.4.0 --sha 3f2c1ab
        $ hyper release list

The running release is also recorded at start-up from ``HYPER_RELEASE`` /
``HYPER_RELEASE_SHA`` when it is not recorded yet.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from ..errors import first_line
from .loader import load_app
from .output import print_json, table

release_cli = typer.Typer(help="Releases: deploy markers for the usage dashboard.", no_args_is_help=True)
console = Console()
AppOpt = Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")]


def _run(app: Any, coro: Any) -> Any:
    async def go() -> Any:
        try:
            return await coro
        finally:
            await app.database.dispose()

    try:
        return asyncio.run(go())
    except Exception as exc:
        from .main import CliError

        text = first_line(exc) or type(exc).__name__
        if "hd_releases" in str(exc):
            text = "the usage tables are missing: run `hyper db upgrade` first"
        raise CliError(text) from None


@release_cli.command("record")
def record(
    version: Annotated[str, typer.Option("--version", envvar="HYPER_RELEASE", help="the release version [env: HYPER_RELEASE]")],
    sha: Annotated[str, typer.Option("--sha", envvar="HYPER_RELEASE_SHA", help="git sha [env: HYPER_RELEASE_SHA]")] = "",
    app: AppOpt = None,
) -> None:
    """Record a release now (again with the same version: updates its sha and time)."""
    from ..usage.queries import record_release
    from .main import CliError

    if not version.strip() or len(version) > 64 or len(sha) > 64:
        raise CliError("--version must be 1 to 64 characters and --sha at most 64")
    application = load_app(app)
    new = _run(application, record_release(application, version.strip(), sha.strip()))
    console.print(f"{'recorded' if new else 'updated'} release {version} {sha}".rstrip())


@release_cli.command("list")
def list_(app: AppOpt = None, json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Every recorded release, oldest first."""
    from ..usage.queries import releases

    application = load_app(app)
    rows = _run(application, releases(application))
    if json:
        print_json(rows)
        return
    cells = [(r["version"], r["sha"], r["recorded_at"].isoformat(timespec="seconds")) for r in rows]
    console.print(table("releases", ("version", "sha", "recorded_at"), cells))
