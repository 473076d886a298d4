"""``hyper members``: grant, revoke and list scoped roles (memberships).

Example:
    .. code-block:: console

        $ hyper members add ada@acme.io --scope workspace:3 --role admin
        $ hyper members list --scope workspace:3
        $ hyper members remove ada@acme.io --scope workspace:3

The scope is ``NAME:ID``: a scope the app declares (``App(scopes=[Scope("workspace")])``)
and the id of one of them.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from ..errors import HyperError, first_line
from .loader import load_app
from .output import print_json, table

members_cli = typer.Typer(help="Members: roles held within a scope (a workspace, an organisation).", no_args_is_help=True)
console = Console()
AppOpt = Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")]
ScopeOpt = Annotated[str, typer.Option("--scope", help="NAME:ID, e.g. workspace:3")]


def _scope(application: Any, value: str, *, id_required: bool = True) -> tuple[str, str | None]:
    from .main import CliError

    name, sep, ident = value.partition(":")
    if name not in application.scopes:
        declared = ", ".join(sorted(application.scopes)) or "none"
        raise CliError(f"--scope {value!r}: unknown scope {name!r} (the app declares: {declared}); write NAME:ID, e.g. workspace:3")
    if (not sep or not ident.strip()) and id_required:
        raise CliError(f"--scope {value!r} names no id: write {name}:ID, e.g. {name}:3")
    ident = ident.strip()
    if len(ident) > 100:
        raise CliError("--scope: the id is at most 100 characters")
    return name, ident or None


def _run(application: Any, coro: Any) -> Any:
    from sqlalchemy.exc import SQLAlchemyError

    from .main import CliError

    async def go() -> Any:
        try:
            return await coro
        finally:
            await application.database.dispose()

    try:
        return asyncio.run(go())
    except HyperError as exc:
        raise CliError(first_line(exc.detail)) from None
    except SQLAlchemyError as exc:
        text = first_line(exc)
        if "hd_memberships" in text or "hd_users" in text:
            text = "the database has no membership tables (hd_memberships): run 'hyper db upgrade' first"
        raise CliError(text) from None


@members_cli.command("add")
def add(
    email: str,
    scope: ScopeOpt,
    role: Annotated[str, typer.Option("--role", help="a role of the scope")],
    app: AppOpt = None,
) -> None:
    """Give a user a role in one scope (nothing if they hold it already)."""
    application = load_app(app)
    name, ident = _scope(application, scope)
    _run(application, application.memberships.grant(email, name, ident or "", role))
    console.print(f"{email.strip().lower()} is {role} in {name} {ident}")


@members_cli.command("remove")
def remove(
    email: str,
    scope: ScopeOpt,
    role: Annotated[Optional[str], typer.Option("--role", help="only this role (default: every role there)")] = None,
    app: AppOpt = None,
) -> None:
    """Take a user's role (or every role) in one scope."""
    from .main import CliError

    application = load_app(app)
    name, ident = _scope(application, scope)
    n = _run(application, application.memberships.revoke(email, name, ident or "", role))
    if not n:
        raise CliError(f"{email.strip().lower()} holds {'no role ' + repr(role) if role else 'no role'} in {name} {ident}")
    console.print(f"removed {n} role(s) of {email.strip().lower()} in {name} {ident}")


@members_cli.command("list")
def list_(
    scope: ScopeOpt,
    user: Annotated[Optional[str], typer.Option("--user", help="only this user's memberships (email)")] = None,
    json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    app: AppOpt = None,
) -> None:
    """The memberships of one scope id (workspace:3), or of every id (workspace)."""
    application = load_app(app)
    name, ident = _scope(application, scope, id_required=False)
    rows = _run(application, application.memberships.list(name, ident, user=user))
    if json:
        print_json(rows)
        return
    console.print(
        table(
            f"{application.name}: members of {name}{' ' + ident if ident else ''}",
            ("scope", "id", "email", "role"),
            [(r["scope"], r["scope_id"], r["email"], r["role"]) for r in rows],
        )
    )
