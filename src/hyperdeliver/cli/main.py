"""``hyper``: serve, inspect and operate a hyperdeliver app."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from ..errors import ConfigurationError, HyperError, first_line
from .deploy import register as register_deploy
from .graphql import graphql_cli
from .features import features_cli
from .jobs import jobs_cli
from .loader import app_spec, load_app
from .members import members_cli
from .output import print_json, table
from .release import release_cli
from .scaffold import register as register_scaffold

cli = typer.Typer(
    name="hyper",
    help="Ship a product backend fast, then iterate on it from what its users do.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_cli = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
users_cli = typer.Typer(help="Users and their roles.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(members_cli, name="members")
cli.add_typer(graphql_cli, name="graphql")
cli.add_typer(jobs_cli)
cli.add_typer(features_cli, name="features")
cli.add_typer(release_cli, name="release")
register_scaffold(cli)  # new, add feature, owners, upgrade
register_deploy(cli)  # k8s render, check
console = Console()
AppOpt = Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")]
MAX_PORT = 65535


@cli.callback()
def _root(app: AppOpt = None) -> None:
    """hyper: serve, inspect and operate a hyperdeliver app."""
    if app:
        os.environ["HYPER_APP"] = app


class CliError(Exception):
    """A one-line message for the user and a non-zero exit."""


SERVER_OPTIONS: dict[str, Any] = {"proxy_headers": False, "forwarded_allow_ips": "", "server_header": False}
"""uvicorn trusts X-Forwarded-* from 127.0.0.1 by default; the app decides instead, from
HYPER_TRUSTED_PROXIES (see :mod:`hyperdeliver.http.proxies`), so uvicorn trusts none.
No ``Server: uvicorn`` header either: it tells an attacker what runs, and costs a header."""


def _serve(spec: str, host: str, port: int, reload: bool, workers: int = 1, graceful_timeout: float | None = None) -> None:
    """Run uvicorn. On SIGTERM it stops accepting connections, lets the requests in flight
    finish for up to ``graceful_timeout`` seconds, runs the app's shutdown (usage flushed,
    in-process worker drained) and returns, so the process exits 0: a stop that was asked
    for and went cleanly is a success (uvicorn would otherwise re-raise the signal and die
    of it, 143, outside a container's PID 1)."""
    import uvicorn

    os.environ["HYPER_APP"] = spec
    signal.signal(signal.SIGTERM, _stop_requested)  # what uvicorn restores and re-raises after its drain
    uvicorn.run(
        "hyperdeliver.cli.asgi:app",
        host=host,
        port=port,
        reload=reload,
        workers=workers if not reload else 1,
        access_log=False,
        log_level="info",
        **SERVER_OPTIONS,
        reload_dirs=[str(Path.cwd())] if reload else None,
        timeout_graceful_shutdown=graceful_timeout,  # type: ignore[arg-type]  # typed int, used as asyncio.wait_for's float
    )


def _stop_requested(signum: int, frame: Any) -> None:
    """SIGTERM outside uvicorn's own handler (after its drain, or before it started): exit 0."""
    raise SystemExit(0)


@cli.command()
def serve(
    app: AppOpt = None,
    host: Annotated[str, typer.Option(envvar="HYPER_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="HYPER_PORT", min=1, max=MAX_PORT)] = 8000,
    workers: Annotated[int, typer.Option(envvar="HYPER_WORKERS", min=1)] = 1,
) -> None:
    """Serve the app with uvicorn (production: several workers behind a load balancer)."""
    spec = app_spec(app)
    application = load_app(spec)  # fail fast, with a clear message, before uvicorn starts
    warning = _unmigrated(application)
    if warning:
        sys.stderr.write(f"hyper: {warning}\n")
    _serve(spec, host, port, reload=False, workers=workers, graceful_timeout=application.settings.graceful_timeout)


def _unmigrated(application: Any) -> str | None:
    """One line when the database lacks migrations (or cannot be reached), else None."""
    from ..db.migrate import pending

    async def go() -> set[str]:
        try:
            return await pending(application)
        finally:
            await application.database.dispose()

    try:
        missing = asyncio.run(go())
    except Exception as exc:  # noqa: BLE001  (unreachable, or revisions this code does not know)
        return f"could not check the database's migrations ({first_line(exc) or type(exc).__name__})"
    if not missing:
        return None
    return f"the database is not migrated (pending: {', '.join(sorted(missing))}): run 'hyper db upgrade'"


@cli.command()
def dev(
    app: AppOpt = None,
    host: Annotated[str, typer.Option(envvar="HYPER_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="HYPER_PORT", min=1, max=MAX_PORT)] = 8000,
) -> None:
    """Serve with reload on code changes, migrating at every (re)start (HYPER_ENV=dev)."""
    os.environ.setdefault("HYPER_ENV", "dev")
    os.environ.setdefault("HYPER_WORKER_IN_PROCESS", "true")  # jobs and crons run in the web process
    if os.environ["HYPER_ENV"] == "production" and not os.environ.get("HYPER_SECRET_KEY"):
        # The demo in a production image (its database is made afresh, its sessions too):
        # a throwaway key, since production refuses the published default.
        import secrets

        os.environ["HYPER_SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ["HYPER_DEV_MIGRATE"] = "1"  # each server process the reloader starts migrates first
    spec = app_spec(app)
    load_app(spec)  # fail fast, with a clear message, before uvicorn starts
    _serve(spec, host, port, reload=True)


@cli.command()
def routes(
    app: AppOpt = None,
    json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    matrix: Annotated[bool, typer.Option("--matrix", help="who may call what: 401/403/404/ok per operation and caller")] = False,
) -> None:
    """Every operation: method, path, feature, owner, roles, lifecycle (--matrix: who may call it)."""
    from ..graphql.names import field_name

    application = load_app(app)
    if matrix:
        _print_matrix(application, json)
        return
    rows: list[dict[str, Any]] = [
        {
            "method": op.method,
            "path": op.path,
            "operation": op.qualname,
            "feature": op.feature.name,
            "owner": op.feature.owner,
            "roles": sorted(op.roles or ()),
            "scope": op.scope,
            "lifecycle": op.feature.lifecycle,
            "graphql": f"{'Query' if op.kind == 'query' else 'Mutation'}.{field_name(op)}",
        }
        for op in sorted(application.operations, key=lambda o: (o.path, o.method))
    ]
    if json:
        print_json(rows)
        return
    console.print(
        table(
            f"{application.name}: {len(rows)} operations",
            ("method", "path", "feature", "owner", "roles", "lifecycle"),
            [
                (r["method"], r["path"], r["feature"], r["owner"], ", ".join(r["roles"]) + (f" in {r['scope']}" if r["scope"] else ""), r["lifecycle"])
                for r in rows
            ],
        )
    )


def _print_matrix(application: Any, json: bool) -> None:
    """The permission matrix the generated tests check (hyperdeliver.testing.expectations)."""
    from ..testing.expectations import callers, matrix

    columns = callers(application)
    rows = matrix(application, columns)
    if json:
        print_json(
            [
                {"operation": op.qualname, "method": op.method, "path": op.path, "roles": sorted(op.roles or ()), "scope": op.scope,
                 "callers": {name: (o.value if o is not None else None) for name, o in cells.items()}}
                for op, cells in rows
            ]
        )
        return
    console.print(
        table(
            f"{application.name}: who may call what (ok: let through; 401: log in; 403: refused; "
            "404: outside the caller's scopes; -: does not apply: reads need no CSRF token, scope columns are for that scope's operations)",
            ("operation", "route", *(c.name for c in columns)),
            [
                (op.qualname, f"{op.method} {op.path}", *(cells[c.name].value if cells[c.name] is not None else "-" for c in columns))  # type: ignore[union-attr]
                for op, cells in rows
            ],
        )
    )


# -- db ---------------------------------------------------------------------------


@db_cli.command("upgrade")
def db_upgrade(app: AppOpt = None, target: Annotated[str, typer.Argument()] = "heads") -> None:
    """Apply every pending migration (framework and app); never downgrades."""
    from ..db.migrate import upgrade

    application = load_app(app)
    before = _revisions(application)
    upgrade(application, target)
    after = _revisions(application)
    at = ", ".join(sorted(after)) or "(empty)"
    url = application.database.engine.url.render_as_string(hide_password=True)
    if after == before:
        console.print(f"database unchanged at {at} ({url})")
    else:
        console.print(f"[green]database at {at}[/green] ({url})")


def _revisions(application: Any) -> set[str]:
    """The revisions the database is at (its alembic_version rows)."""
    from ..db.migrate import current_async

    async def go() -> set[str]:
        try:
            return await current_async(application)
        finally:
            await application.database.dispose()

    return asyncio.run(go())


@db_cli.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="what the revision does")],
    app: AppOpt = None,
    empty: Annotated[bool, typer.Option("--empty", help="no autogenerate")] = False,
) -> None:
    """Create an app revision, autogenerated from the app's models."""
    from ..db.migrate import revision

    if not message.strip():
        raise CliError("-m/--message is empty: say what the revision does, e.g. -m 'add a due date'")
    application = load_app(app)
    if application.migrations_dir is None:
        raise CliError("this app has no migrations folder: pass App(migrations=...)")
    try:
        written = revision(application, message, autogenerate=not empty)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not written:
        console.print("no changes: the models match the migrations, so nothing was written (--empty writes an empty revision)")
        return
    console.print(f"created {written}")


@db_cli.command("check")
def db_check(app: AppOpt = None) -> None:
    """Exit 1 when the models and the migrations disagree (a model change with no revision)."""
    from ..db.migrate import check

    application = load_app(app)
    try:
        diffs = check(application)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if diffs:
        for d in diffs:
            console.print(f"  {d}", highlight=False, soft_wrap=True)
        raise CliError(f"the models and the migrations disagree ({len(diffs)} changes above): run hyper db revision -m '...'")
    console.print("[green]the models match the migrations[/green]")


@db_cli.command("current")
def db_current(app: AppOpt = None) -> None:
    """The revisions the database is at, and whether any are pending."""
    from ..db.migrate import current_async, pending

    application = load_app(app)
    current = asyncio.run(current_async(application))
    missing = asyncio.run(pending(application))
    console.print(f"at: {', '.join(sorted(current)) or '(empty)'}")
    if missing:
        console.print(f"[yellow]pending: upgrade to {', '.join(sorted(missing))}[/yellow]")
        raise typer.Exit(1)
    console.print("[green]up to date[/green]")


# -- users ------------------------------------------------------------------------


@users_cli.command("create")
def users_create(
    email: str,
    role: Annotated[list[str], typer.Option("--role", help="a role; repeat for several")] = [],  # noqa: B006
    name: Annotated[str, typer.Option()] = "",
    password: Annotated[Optional[str], typer.Option(envvar="HYPER_USER_PASSWORD", help="else asked for")] = None,
    app: AppOpt = None,
) -> None:
    """Create a user with roles (the password is asked for unless given)."""
    application = load_app(app)
    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("password: ")
            if getpass.getpass("again: ") != password:
                raise CliError("the passwords differ")

    async def go() -> int:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            async with application.database.session() as s:
                user = await application.auth.create_user(s, email, password or "", set(role), name)
                await s.commit()
                return int(user.id)
        except SQLAlchemyError as exc:
            first = first_line(exc)
            if "hd_users" in first:
                raise CliError("the database has no user tables (hd_users): run 'hyper db upgrade' first") from None
            raise CliError(f"cannot create the user: {first}") from None
        finally:
            await application.database.dispose()

    uid = asyncio.run(go())
    console.print(f"created user {uid} {email} with roles {', '.join(sorted(role)) or '(none)'}")


# -- demo -------------------------------------------------------------------------


@cli.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=MAX_PORT)] = 8000,
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="serve after setting up")] = True,
    keep: Annotated[bool, typer.Option("--keep", help="keep the existing demo database")] = False,
    simulate: Annotated[Optional[str], typer.Option("--simulate", help="fill in synthetic usage, e.g. 30d")] = None,
) -> None:
    """Run the teamboard demo: a fresh SQLite database, seeded users, served on :8000."""
    if simulate is not None:
        from ..demo.simulate import parse_period

        try:
            sim_days = parse_period(simulate)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    from ..db.migrate import upgrade
    from ..settings import settings_from_env

    var = Path(os.environ.get("HYPER_VAR_DIR", "var"))
    db_file = var / "demo.sqlite3"
    os.environ["HYPER_DATABASE_URL"] = f"sqlite:///{db_file.resolve()}"
    os.environ.setdefault("HYPER_ENV", "dev")
    os.environ.setdefault("HYPER_WORKER_IN_PROCESS", "true")  # jobs and crons run in the web process
    if os.environ["HYPER_ENV"] == "production" and not os.environ.get("HYPER_SECRET_KEY"):
        # The demo in a production image (its database is made afresh, its sessions too):
        # a throwaway key, since production refuses the published default.
        import secrets

        os.environ["HYPER_SECRET_KEY"] = secrets.token_urlsafe(48)
    settings = settings_from_env()  # a bad HYPER_* value fails before the database is wiped
    var.mkdir(parents=True, exist_ok=True)
    if not keep:
        for f in var.glob("demo.sqlite3*"):
            f.unlink()
    spec = "hyperdeliver.demo.teamboard.app:create_app"
    application = load_app(spec, settings)
    upgrade(application)
    from ..demo.teamboard.seed import seed

    async def go() -> list[Any]:
        logins = await seed(application)
        if simulate is not None:
            from ..demo.simulate import simulate as run_simulation

            summary = await run_simulation(application, sim_days)
            console.print(f"simulated {summary['days']} days: {summary['events']:,} events, {summary['users']} users, releases {', '.join(summary['releases'])}; "
                          f"{summary['deployments']} deployments ({summary['failed']} failed, {summary['rollbacks']} rolled back)")
        await application.database.dispose()
        return logins

    logins = asyncio.run(go())
    console.print(table("teamboard demo logins", ("email", "password", "role"), logins))
    console.print(f"database: {db_file}")
    console.print(f"API docs: http://{host}:{port}/docs   OpenAPI: http://{host}:{port}/openapi.json")
    console.print(f"GraphQL: http://{host}:{port}/graphql (GraphiQL in a browser)")
    console.print(f"Dashboard: http://{host}:{port}/_hyper/ (admin@teamboard.dev)")
    if serve_:
        _serve(spec, host, port, reload=False, graceful_timeout=settings.graceful_timeout)


def _usage_error(exc: Any) -> str | None:
    """A click usage error as one line, or None for those that show help (no arguments)."""
    ctx = getattr(exc, "ctx", None)
    format_message = getattr(exc, "format_message", None)
    if ctx is None or format_message is None:
        return None
    message = str(format_message())
    if len(message.strip().splitlines()) != 1:
        return None
    return f"{ctx.command_path}: {message.strip()} (see '{ctx.command_path} --help')"


def _terminated(signum: int, frame: Any) -> None:
    """SIGTERM before a command installs its own handler (uvicorn's drain, the worker's):
    exit 143 at once. Without a handler, a process that is PID 1 in a container would
    ignore SIGTERM and be killed only at the end of the grace period."""
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point: user errors print one line and exit non-zero, never a traceback."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = cli(standalone_mode=False)  # typer.Exit(n) comes back as n here
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("hyper: aborted\n")
        sys.exit(1)
    except (ConfigurationError, CliError) as exc:
        sys.stderr.write(f"hyper: {first_line(exc)}\n")
        sys.exit(1)
    except HyperError as exc:
        sys.stderr.write(f"hyper: {first_line(exc.detail)}\n")
        sys.exit(1)
    except Exception as exc:  # click usage errors (Typer vendors click) and the unexpected
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            line = _usage_error(exc)
            if line is None:
                exc.show()
            else:
                sys.stderr.write(f"{line}\n")
            sys.exit(exc.exit_code or 2)
        sys.stderr.write(f"hyper: {type(exc).__name__}: {first_line(exc)}\n")
        sys.exit(1)
