"""``hyper release``: record deployments (version, sha, environment, status, commits), list
them, and show DORA's four keys.

Example:
    .. code-block:: console

        $ hyper release record --version 1.4.0 --sha 3f2c1ab --env production --status started --id run-812
        $ hyper release record --version 1.4.0 --sha 3f2c1ab --env production --status succeeded --id run-812 \\
              --commits-from-git 9e1d2c4..3f2c1ab
        $ hyper release list
        $ hyper release dora

A succeeded deployment is also the release marker on every usage chart. The running
release is recorded at start-up from ``HYPER_RELEASE`` / ``HYPER_RELEASE_SHA`` when it is
not recorded yet.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from ..errors import first_line
from .loader import load_app
from .output import print_json, table

release_cli = typer.Typer(help="Releases: deployments with their status, and DORA's four keys.", no_args_is_help=True)
console = Console()
AppOpt = Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")]
EnvOpt = Annotated[str, typer.Option("--env", envvar="HYPER_DEPLOY_ENV", help="the environment deployed to [env: HYPER_DEPLOY_ENV]")]


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
        if "hd_releases" in str(exc) or "hd_deployment" in str(exc):
            text = "the release tables are missing: run `hyper db upgrade` first"
        raise CliError(text) from None


@release_cli.command("record")
def record(
    version: Annotated[str, typer.Option("--version", envvar="HYPER_RELEASE", help="the release version [env: HYPER_RELEASE]")],
    sha: Annotated[str, typer.Option("--sha", envvar="HYPER_RELEASE_SHA", help="git sha [env: HYPER_RELEASE_SHA]")] = "",
    env: EnvOpt = "production",
    status: Annotated[str, typer.Option("--status", help="started, succeeded, failed or rolled_back")] = "succeeded",
    id_: Annotated[Optional[str], typer.Option("--id", help="the deployment's id; the same id updates it [default: ENV-VERSION]")] = None,
    commits_from_git: Annotated[Optional[str], typer.Option("--commits-from-git", help="the commits shipped, as a git range (A..B)")] = None,
    commit: Annotated[list[str], typer.Option("--commit", help="a commit shipped, SHA@TIME; repeat for several")] = [],  # noqa: B006
    feature: Annotated[list[str], typer.Option("--feature", help="a feature the deploy touched; repeat for several")] = [],  # noqa: B006
    rollback: Annotated[bool, typer.Option("--rollback", help="this deployment rolls back to an earlier version")] = False,
    at: Annotated[Optional[str], typer.Option("--at", help="when (ISO 8601) [default: now]")] = None,
    app: AppOpt = None,
) -> None:
    """Record a deployment, or its progress: started, then succeeded or failed (same --id)."""
    from ..delivery.gitlog import GitError, feature_folders
    from ..delivery.gitlog import commits_from_git as from_git
    from ..delivery.records import check_name, check_sha, check_status, parse_commit, parse_time
    from ..delivery.store import record_deployment
    from .main import CliError

    try:
        check_name(version, "--version")
        check_sha(sha)
        check_name(env, "--env")
        status = check_status(status)
        when = parse_time(at, "--at") if at else None
        shipped = [parse_commit(c) for c in commit]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    application = load_app(app)
    unknown = sorted(set(feature) - set(application.features))
    if unknown:
        raise CliError(f"unknown feature {unknown[0]!r}: the app has {', '.join(sorted(application.features))}")
    if commits_from_git:
        from ..scaffold.owners import project_root

        try:
            root = project_root()
        except Exception:  # noqa: BLE001 - outside a project: the current folder
            root = Path.cwd()
        try:
            shipped += from_git(commits_from_git, Path.cwd(), feature_folders(application, _git_top(root)))
        except GitError as exc:
            raise CliError(str(exc)) from None

    async def go() -> Any:
        from ..delivery.store import DeploymentError

        try:
            return await record_deployment(
                application, version=version, sha=sha, environment=env, status=status, id=id_,
                commits=shipped, features=feature, rollback=rollback, at=when,
            )
        except DeploymentError as exc:
            raise CliError(str(exc)) from None

    stored, new = _run(application, go())
    what = "rollback to" if stored.rollback else "release"
    features = f", features {', '.join(stored.features)}" if stored.features else ""
    console.print(
        f"{'recorded' if new else 'updated'} {what} {stored.version} {stored.sha}".rstrip()
        + f": {stored.environment} {stored.status} (id {stored.id}, {len(stored.commits)} commits{features})",
        highlight=False, soft_wrap=True,
    )


def _git_top(root: Path) -> Path:
    import subprocess

    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True, check=False)
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else root


@release_cli.command("list")
def list_(
    app: AppOpt = None,
    env: Annotated[Optional[str], typer.Option("--env", help="only this environment")] = None,
    json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every recorded deployment, oldest first: version, environment, status, times, commits."""
    from ..delivery.store import deployments

    application = load_app(app)
    rows = _run(application, deployments(application, env))
    if json:
        print_json([d.as_dict() for d in rows])
        return
    cells = [
        (d.version + (" (rollback)" if d.rollback else ""), d.sha[:12], d.environment, d.status,
         d.started_at.isoformat(timespec="seconds"), d.finished_at.isoformat(timespec="seconds") if d.finished_at else "",
         str(len(d.commits)), ", ".join(d.features), d.id)
        for d in rows
    ]
    console.print(table("deployments", ("version", "sha", "env", "status", "started", "finished", "commits", "features", "id"), cells))


def _fmt_hours(h: float | None) -> str:
    if h is None:
        return "–"
    if h < 1:
        return f"{h * 60:.0f} min"
    if h < 48:
        return f"{h:.1f} h"
    return f"{h / 24:.1f} d"


@release_cli.command("dora")
def dora(
    app: AppOpt = None,
    env: Annotated[Optional[str], typer.Option("--env", help="the environment [default: the most deployed]")] = None,
    days: Annotated[int, typer.Option("--days", help="the window: 7, 28 or 90 days")] = 28,
    by: Annotated[str, typer.Option("--by", help="product, feature or owner")] = "product",
    json: Annotated[bool, typer.Option("--json", help="print JSON (every window and scope)")] = False,
) -> None:
    """DORA's four keys from the recorded deployments, with their bands (2023 report)."""
    from ..delivery.dora import SOURCE, WINDOWS
    from ..delivery.report import delivery_report
    from .main import CliError

    if days not in WINDOWS:
        raise CliError(f"bad --days {days}: use {', '.join(map(str, WINDOWS))}")
    if by not in ("product", "feature", "owner"):
        raise CliError(f"bad --by {by!r}: use product, feature or owner")
    application = load_app(app)
    report = _run(application, delivery_report(application, env))
    if json:
        print_json({
            "environment": report["environment"], "source": SOURCE,
            "windows": {w: {"product": s["product"].as_dict(),
                            "features": {k: v.as_dict() for k, v in s["features"].items()},
                            "owners": {k: v.as_dict() for k, v in s["owners"].items()}}
                        for w, s in report["windows"].items()},
        })
        return
    scope = report["windows"][str(days)]
    rows = [("product", scope["product"])] if by == "product" else list(scope[f"{by}s"].items())
    cells = []
    for name, f in rows:
        b = f.bands
        cells.append((
            name,
            f"{f.deploys_per_day * 7:.1f}/week ({b['deployment_frequency']})",
            f"{_fmt_hours(f.lead_time_hours)} ({b['lead_time'] or '–'})",
            f"{f.change_failure_rate:.0%} of {f.finished} ({b['change_failure_rate']})" if f.change_failure_rate is not None else "–",
            f"{_fmt_hours(f.time_to_restore_hours)} ({b['time_to_restore'] or '–'})" + (f", {f.open_failures} open" if f.open_failures else ""),
        ))
    title = f"DORA, {report['environment']}, last {days} days (bands: {SOURCE})"
    console.print(table(title, (by, "deployment frequency", "lead time", "change failure rate", "time to restore"), cells))
