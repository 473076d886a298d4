"""``hyper k8s render`` and ``hyper check [--deploy]``.

Example:
    .. code-block:: console

        $ hyper k8s render --image ghcr.io/acme/shop:1.4.0
        $ kubectl apply -k deploy/k8s/overlays/staging
        $ HYPER_ENV=production ... hyper check --deploy
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from ..errors import ConfigurationError, first_line
from .loader import app_spec
from .output import print_json

k8s_cli = typer.Typer(help="Kubernetes manifests rendered from the app.", no_args_is_help=True)
console = Console()
AppOpt = Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")]
SchedulerOpt = Annotated[
    str, typer.Option("--scheduler", help="crons as one CronJob each (cronjob) or as a one-pod `hyper scheduler` Deployment (deployment)")
]
HpaOpt = Annotated[bool, typer.Option("--hpa/--no-hpa", help="a HorizontalPodAutoscaler (CPU) for the web pods")]
ProxiesOpt = Annotated[
    str, typer.Option("--trusted-proxies", help="CIDRs of the ingress / cluster network (HYPER_TRUSTED_PROXIES in the pods)")
]


@k8s_cli.command("render")
def render_cmd(
    image: Annotated[Optional[str], typer.Option("--image", help="the image every pod runs, with a tag or digest: ghcr.io/acme/shop:1.4.0")] = None,
    env: Annotated[list[str], typer.Option("--env", help="an environment (overlay) to render; repeat for several (default: staging and production)")] = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", help="the folder for base/ and overlays/")] = Path("deploy/k8s"),
    namespace: Annotated[Optional[str], typer.Option("--namespace", help="base namespace, '-<env>' added per overlay (default: the app's name)")] = None,
    scheduler: SchedulerOpt = "cronjob",
    hpa: HpaOpt = False,
    trusted_proxies: ProxiesOpt = "10.0.0.0/8",
    set_: Annotated[list[str], typer.Option("--set", help="a setting for every pod, HYPER_NAME=value; repeat for several")] = [],  # noqa: B006
    app: AppOpt = None,
) -> None:
    """Write Kubernetes manifests for the app: a kustomize base and one overlay per environment."""
    from ..deploy.k8s import ENVIRONMENTS, K8sOptions, render, write

    if image is None:
        raise ConfigurationError("k8s render needs --image: the image to deploy, with a tag or digest (e.g. --image ghcr.io/acme/shop:1.4.0)")
    options = K8sOptions(
        image=image,
        app_spec=app_spec(app),
        envs=tuple(dict.fromkeys(env)) or tuple(ENVIRONMENTS),
        namespace=namespace,
        scheduler=scheduler,  # type: ignore[arg-type]  # validated by K8sOptions.validate
        hpa=hpa,
        trusted_proxies=trusted_proxies,
        extra_env=_assignments(set_),
    )
    options.validate()  # bad options fail before the app is imported
    from .loader import load_app

    application = load_app(options.app_spec)
    files = render(application, options)
    write(files, out)
    crons = sum(1 for p in files if p.startswith("base/cronjob-"))
    console.print(
        f"wrote {len(files)} files to {out}/ for {application.name} ({image}): "
        f"{crons} CronJob(s), overlays {', '.join(options.envs)}; apply with: kubectl apply -k {out}/overlays/{options.envs[0]}",
        soft_wrap=True,
    )


def _assignments(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep:
            raise ConfigurationError(f"--set {value!r}: use HYPER_NAME=value, e.g. --set HYPER_WORKER_CONCURRENCY=20")
        out[name.strip()] = setting
    return out


def check(
    deploy: Annotated[bool, typer.Option("--deploy", help="also judge the production configuration (settings, migrations, manifests)")] = False,
    fail_level: Annotated[str, typer.Option("--fail-level", help="the lowest level that exits 1: DEBUG, INFO, WARNING, ERROR, CRITICAL")] = "ERROR",
    database: Annotated[bool, typer.Option("--database/--no-database", help="--deploy: read the database's migrations (the only connection made)")] = True,
    db_timeout: Annotated[float, typer.Option("--db-timeout", min=0.1, help="seconds the database has to answer")] = 5.0,
    image: Annotated[Optional[str], typer.Option("--image", help="--deploy: render the manifests with this image (default: a placeholder)")] = None,
    scheduler: SchedulerOpt = "cronjob",
    json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    app: AppOpt = None,
) -> None:
    """Check the app (and with --deploy, its production configuration) like Django's check: stable ids, exit 1 on errors."""
    from ..deploy.checks import CheckContext, Level, run
    from ..deploy.k8s import K8sOptions, slug
    from ..settings import settings_from_env
    from .loader import load_app

    try:
        threshold = Level[fail_level.upper()]
    except KeyError:
        raise ConfigurationError(f"--fail-level {fail_level!r}: use {', '.join(level.name for level in Level)}") from None
    settings = settings_from_env()
    spec = app_spec(app)
    application = None
    load_error = None
    try:
        application = load_app(spec, settings)
    except ConfigurationError as exc:
        load_error = first_line(exc)
    k8s = None
    if application is not None:
        k8s = K8sOptions(image=image or f"{slug(application.name)}:check", app_spec=spec, scheduler=scheduler)  # type: ignore[arg-type]
        if image is not None:
            k8s.validate()  # a bad --image is the caller's mistake, not a finding
    if application is not None:
        settings = application.settings  # an app object (not a factory) brings its own
    ctx = CheckContext(settings, application, load_error, deploy=deploy, k8s=k8s, database=database, db_timeout=db_timeout)
    findings = run(ctx)
    failing = [f for f in findings if f.level >= threshold]
    if json:
        print_json({"findings": [f.as_dict() for f in findings], "fail_level": threshold.name, "failed": bool(failing)})
    else:
        for f in findings:
            sys.stdout.write(f"{f}\n")
        what = "hyper check --deploy" if deploy else "hyper check"
        counts = {level: sum(1 for f in findings if f.level == level) for level in Level}
        summary = ", ".join(f"{n} {level.name.lower()}{'s' if n > 1 else ''}" for level, n in counts.items() if n) or "no issues"
        sys.stdout.write(f"{what}: {summary} ({len(failing)} at or above {threshold.name})\n")
    if failing:
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    """Add ``hyper k8s …`` and ``hyper check`` to the CLI."""
    cli.add_typer(k8s_cli, name="k8s")
    cli.command("check")(check)
