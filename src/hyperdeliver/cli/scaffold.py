"""``hyper new``, ``hyper add feature``, ``hyper owners`` and ``hyper upgrade``: start a
project, grow it one feature at a time, keep its owners and its generated files current.

Example:
    .. code-block:: console

        $ hyper new acme --owner alice@acme.io && cd acme
        $ ./dev run                                   # serve it; ./dev test runs its tests
        $ ./dev hyper add feature invoices --owner bob@acme.io
        $ ./dev hyper owners --check                  # CI: CODEOWNERS agrees with the code
        $ ./dev hyper upgrade                         # after upgrading hyperdeliver
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console

from ..scaffold.project import ScaffoldError

console = Console(highlight=False, markup=False, soft_wrap=True)  # paths and emails print as they are
add_cli = typer.Typer(help="Add to a project: hyper add feature NAME --owner EMAIL.", no_args_is_help=True)
AppOpt = Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")]


def _fail(exc: ScaffoldError) -> NoReturn:
    from .main import CliError

    raise CliError(str(exc)) from None


def new(
    name: Annotated[str, typer.Argument(help="the project's name, e.g. acme (its Python package is the same, lowercased)")],
    path: Annotated[Optional[Path], typer.Option("--path", help="the folder to create (default: ./NAME); must be new or empty")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="the owner's email (default: git config user.email)")] = None,
    hyperdeliver_path: Annotated[
        Optional[str],
        typer.Option("--hyperdeliver-path", help="depend on this hyperdeliver checkout or wheel instead of the installed one"),
    ] = None,
    git: Annotated[bool, typer.Option("--git/--no-git", help="git init the new project")] = True,
) -> None:
    """Create a new project: app, an example feature, migrations, tests, ./dev, README."""
    from ..scaffold.new import new_project
    from ..scaffold.project import Project

    try:
        dest = new_project(name, path, owner=owner, hyperdeliver_path=hyperdeliver_path, git=git)
    except ScaffoldError as exc:
        _fail(exc)
    record = Project.find(dest).record
    shown = _shown(dest)
    console.print(f"created {record.answers['title']} in {shown} (template {record.template_version}, owner {record.answers['owner']})")
    requirement = _requirement(dest)
    if requirement:
        console.print(f"it depends on {requirement}")
    console.print(f"  cd {shlex.quote(shown)}")
    console.print("  ./dev run     # install, migrate, create an admin and serve on http://127.0.0.1:8000")
    console.print("  ./dev test    # install, then run the tests")


def _requirement(project: Path) -> str:
    """The hyperdeliver requirement written into the project's pyproject.toml."""
    import tomllib

    try:
        deps = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return ""
    return next((str(d) for d in deps if str(d).startswith("hyperdeliver")), "")


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


@add_cli.command("feature")
def add_feature_cmd(
    name: Annotated[str, typer.Argument(help="the feature's name: a lowercase identifier, e.g. invoices")],
    owner: Annotated[
        Optional[str], typer.Option("--owner", help="the owner's email (default: git config user.email, else the project's owner)")
    ] = None,
    app: AppOpt = None,
) -> None:
    """Add a feature: its folder (operations, model), migration, tests, and CODEOWNERS line."""
    from ..scaffold.feature import add_feature
    from ..scaffold.project import DEFAULT_OWNER, Project, check_feature_name, check_owner, default_owner
    from .loader import load_app

    try:
        project = Project.find()
        check_feature_name(name)
        if owner is None:
            owner = default_owner()
            if owner == DEFAULT_OWNER:
                owner = project.record.answers.get("owner", DEFAULT_OWNER)
        check_owner(owner)
        written = add_feature(project, load_app(app), name, owner)
    except ScaffoldError as exc:
        _fail(exc)
    for relative in written:
        console.print(f"{'updated' if relative.endswith('CODEOWNERS') else 'created'} {relative}")
    console.print(f"feature {name} (owner {owner}): next, ./dev hyper db upgrade, then ./dev test")


def owners(
    app: AppOpt = None,
    check: Annotated[bool, typer.Option("--check", help="change nothing; exit 1 when .github/CODEOWNERS disagrees with the code")] = False,
    json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every feature with its owner and folder; writes (or --check-s) .github/CODEOWNERS."""
    from ..scaffold.owners import CODEOWNERS, check_codeowners, codeowners_lines, ownerships, project_root, write_codeowners
    from .loader import load_app
    from .output import print_json, table

    try:
        root = project_root()
        owned = ownerships(load_app(app), root)
        lines = codeowners_lines(owned)
    except ScaffoldError as exc:
        _fail(exc)
    if json:
        print_json([{"feature": o.feature, "owner": o.owner, "folder": o.path} for o in owned])
    else:
        rows = [(o.feature, o.owner, o.path or "(hyperdeliver)") for o in owned]
        console.print(table(f"{len(owned)} features", ("feature", "owner", "folder"), rows))
    if check:
        problems = check_codeowners(root, lines)
        if problems:
            console.print(f"{CODEOWNERS} disagrees with the code (run 'hyper owners' to rewrite it):")
            for problem in problems:
                console.print(f"  {problem}")
            raise typer.Exit(1)
        if not json:
            console.print(f"{CODEOWNERS} agrees with the code")
        return
    changed = write_codeowners(root, lines)
    if not json:
        console.print(f"{'wrote' if changed else 'unchanged:'} {CODEOWNERS} ({len(lines)} feature folders)")


def upgrade(
    allow_dirty: bool = typer.Option(False, "--allow-dirty", help="Merge even with uncommitted changes in the git work tree."),
) -> None:
    """Merge the installed hyperdeliver's project template into this project (three-way)."""
    from ..scaffold.project import Project
    from ..scaffold.upgrade import upgrade_project

    try:
        report = upgrade_project(Project.find(), allow_dirty=allow_dirty)
    except ScaffoldError as exc:
        _fail(exc)
    lines: list[tuple[str, list[str], str]] = [
        ("updated ", report.updated, ""),
        ("added   ", report.added, ""),
        ("deleted ", report.deleted, ": you deleted it; left deleted"),
        ("kept    ", report.dropped, ": no longer generated by the template; left as it is"),
        ("conflict", report.conflicts, ": resolve the <<<<<<< markers, then run 'hyper upgrade' again"),
        ("conflict", report.unresolved, ": still has conflict markers from the last upgrade; resolve them first"),
    ]
    for label, paths, why in lines:
        for relative in paths:
            console.print(f"{label} {relative}{why}")
    if not report.ok:
        n = len(report.conflicts) + len(report.unresolved)
        console.print(f"{n} file{'s' if n != 1 else ''} in conflict: the project stays at template {report.old_version} until resolved")
        raise typer.Exit(1)
    if report.old_version == report.new_version and not (report.updated or report.added):
        console.print(f"up to date with template {report.new_version}")
    else:
        console.print(f"upgraded to template {report.new_version} (from {report.old_version})")


def register(cli: Any) -> None:
    """Add the commands to the ``hyper`` app."""
    cli.command("new")(new)
    cli.add_typer(add_cli, name="add")
    cli.command("owners")(owners)
    cli.command("upgrade")(upgrade)
