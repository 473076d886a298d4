"""Kubernetes manifests rendered from the app itself: its settings, its job queue and its
``@feature.cron`` schedules, as a kustomize base and one overlay per environment.

``render(app, options)`` is pure (no IO): it returns ``{relative path: YAML text}`` from the
Jinja2 files under ``templates/k8s/`` (shipped in the wheel). ``hyper k8s render`` writes
them under ``deploy/k8s``::

    base/                 every resource, in namespace <app>
    overlays/<env>/       namespace <app>-<env>, replicas for that environment

Example:
    >>> from hyperdeliver.demo.teamboard.app import create_app
    >>> from hyperdeliver import Settings
    >>> app = create_app(Settings(env="test", database_url="sqlite://"))
    >>> files = render(app, K8sOptions(image="ghcr.io/acme/teamboard:1.4.0", app_spec="teamboard.app:create_app"))
    >>> [p for p in files if p.startswith("base/cronjob")]
    ['base/cronjob-hd-usage-purge-usage-events.yaml', 'base/cronjob-tasks-stale-tasks-digest.yaml']
    >>> sorted(p for p in files if p.startswith("overlays/"))
    ['overlays/production/kustomization.yaml', 'overlays/staging/kustomization.yaml']
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2

from ..errors import ConfigurationError
from .image import ImageRef
from .lint_skips import lint_skips

if TYPE_CHECKING:
    from ..app import App
    from ..tasks import Task

SchedulerMode = Literal["cronjob", "deployment"]


@dataclass(frozen=True)
class EnvProfile:
    """What an overlay changes for one environment."""

    web_replicas: int
    """Web pods (the HPA's minimum when autoscaling)."""
    worker_replicas: int
    hpa_max_replicas: int


ENVIRONMENTS: dict[str, EnvProfile] = {
    "staging": EnvProfile(web_replicas=2, worker_replicas=1, hpa_max_replicas=4),
    "production": EnvProfile(web_replicas=3, worker_replicas=2, hpa_max_replicas=10),
}
"""The environments ``--env`` may name; every one is rendered by default."""

SECRET_SETTINGS = frozenset({"HYPER_DATABASE_URL", "HYPER_SECRET_KEY"})
"""Read by the pods from the Secret (secretKeyRef), never written into a manifest."""
DIGEST_CHECKS = frozenset({"CKV_K8S_43"})
"""Checkov checks an image digest satisfies: not skipped when --image has one."""
PORT = 8000
UID = 10001
"""The non-root user (and group) every container runs as: numeric, so the kubelet can
check ``runAsNonRoot`` without reading the image's /etc/passwd."""
PRE_STOP_SECONDS = 5
"""A web pod keeps serving this long after it is told to stop, while the endpoints
controller and the load balancers take it out of rotation; then the server drains."""
GRACE_MARGIN_SECONDS = 5
"""Between the end of a drain and the kubelet's SIGKILL: interpreter shutdown, logs flushed."""
CRONJOB_NAME_MAX = 52
"""A CronJob's name leaves 11 characters for the Job names it creates (63 in all)."""
NAME_MAX = 63
NAMESPACE_MAX = NAME_MAX - 1 - max(map(len, ENVIRONMENTS))
"""Room for an overlay's ``-<env>`` suffix."""


@dataclass(frozen=True)
class K8sOptions:
    """What ``hyper k8s render`` is asked for.

    Example:
        >>> K8sOptions(image="shop:1.0", envs=("prod",)).validate()
        Traceback (most recent call last):
        ...
        hyperdeliver.errors.ConfigurationError: --env 'prod' is not an environment: use staging or production
    """

    image: str
    """The image every container runs, as given (tag or digest required)."""
    app_spec: str = ""
    """``module:attribute`` of the app, set as HYPER_APP in the pods (empty: the image's pyproject finds it)."""
    envs: tuple[str, ...] = tuple(ENVIRONMENTS)
    namespace: str | None = None
    """Base namespace; overlays add ``-<env>``. Default: the app's name."""
    scheduler: SchedulerMode = "cronjob"
    """``cronjob``: one CronJob per cron; ``deployment``: ``hyper scheduler`` as a one-pod Deployment."""
    hpa: bool = False
    """A HorizontalPodAutoscaler for the web Deployment (CPU), replacing its fixed replica count."""
    trusted_proxies: str = "10.0.0.0/8"
    """The CIDR of the ingress / cluster network, whose X-Forwarded-For the app trusts."""
    extra_env: dict[str, str] = field(default_factory=dict)
    """More settings for the ConfigMap (``HYPER_*`` names; ``--set NAME=VALUE``), over the rendered ones."""

    def validate(self) -> ImageRef:
        """The parsed image; a one-line ConfigurationError for any bad option."""
        unknown = [e for e in self.envs if e not in ENVIRONMENTS]
        if unknown:
            raise ConfigurationError(f"--env {unknown[0]!r} is not an environment: use {' or '.join(ENVIRONMENTS)}")
        if not self.envs:
            raise ConfigurationError("no environment to render: pass --env staging and/or --env production")
        if self.scheduler not in ("cronjob", "deployment"):
            raise ConfigurationError(f"--scheduler {self.scheduler!r}: use cronjob or deployment")
        if self.namespace is not None and not _is_label(self.namespace, NAMESPACE_MAX):
            raise ConfigurationError(
                f"--namespace {self.namespace!r} is not a Kubernetes name: lowercase letters, digits and '-', "
                f"at most {NAMESPACE_MAX} characters"
            )
        if not re.fullmatch(r"[0-9a-fA-F.:]+/\d{1,3}(,[0-9a-fA-F.:]+/\d{1,3})*", self.trusted_proxies):
            raise ConfigurationError(f"--trusted-proxies {self.trusted_proxies!r}: use CIDRs, e.g. 10.0.0.0/8 or 10.0.0.0/8,172.16.0.0/12")
        for name in self.extra_env:
            if not re.fullmatch(r"HYPER_[A-Z0-9_]+", name):
                raise ConfigurationError(f"--set {name!r}: settings are HYPER_* variables, e.g. --set HYPER_WORKER_CONCURRENCY=20")
            if name in SECRET_SETTINGS:
                raise ConfigurationError(
                    f"--set {name}: a secret never goes in the manifests; the pods read it from the Secret (see docs/deploy.md)"
                )
        return ImageRef.parse(self.image)


def templates_dir() -> Path:
    """The manifest templates shipped inside the package."""
    return Path(str(resources.files("hyperdeliver.deploy"))) / "templates" / "k8s"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - YAML, not HTML; every string value goes through |q
    )
    env.filters["q"] = _quote
    return env


def _quote(value: Any) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's): never read as a number, bool or null."""
    import json

    return json.dumps(str(value))


def _label_value(text: str) -> str:
    """A label value (63 characters, alphanumerics at both ends) from a release name."""
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:NAME_MAX]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def _is_label(name: str, limit: int = NAME_MAX) -> bool:
    return 0 < len(name) <= limit and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) is not None


def slug(text: str, limit: int = NAME_MAX) -> str:
    """A Kubernetes name from any text: lowercase, ``-`` for the rest, shortened with a
    hash when longer than ``limit``.

    Example:
        >>> slug("tasks.remind_overdue")
        'tasks-remind-overdue'
        >>> len(slug("x" * 80, 52)), slug("x" * 80, 52)[-9:]
        (52, '-d929cdee')
    """
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"
    if len(out) > limit:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        out = out[: limit - 9].rstrip("-") + "-" + digest
    return out


@dataclass(frozen=True)
class Cron:
    """One ``@feature.cron`` as a CronJob."""

    name: str
    """The CronJob's name."""
    task: str
    """The cron's qualname, for ``hyper cron run``."""
    schedule: str
    deadline: int
    """activeDeadlineSeconds: the task's timeout (with a margin), else an hour."""
    owner: str


def _crons(app: App, base: str, mode: SchedulerMode) -> list[Cron]:
    if app.jobs is None:
        return []
    tasks: list[Task] = sorted(app.jobs.crons.values(), key=lambda t: t.qualname)
    out = []
    for task in tasks:
        assert task.schedule is not None
        fields = task.schedule.split()
        if mode == "cronjob" and len(fields) > 5:
            raise ConfigurationError(
                f"cron {task.qualname} {task.schedule!r} has a seconds field, which a Kubernetes CronJob cannot express "
                "(minutes at best): render with --scheduler deployment (hyper scheduler runs it), or use 5 fields"
            )
        deadline = math.ceil(task.timeout) + 60 if task.timeout else 3600
        out.append(Cron(slug(f"{base}-cron-{task.qualname}", CRONJOB_NAME_MAX), task.qualname, task.schedule, deadline, task.feature.owner))
    return out


def render(app: App, options: K8sOptions) -> dict[str, str]:
    """Every manifest for ``app``: ``{path under the output folder: YAML}``, in a stable order."""
    image = options.validate()
    namespace = options.namespace or slug(app.name, NAMESPACE_MAX)
    base = slug(app.name, 40)
    settings = app.settings
    crons = _crons(app, base, options.scheduler)
    has_jobs = app.jobs is not None
    graceful = math.ceil(settings.graceful_timeout)
    drain = math.ceil(settings.worker_drain_timeout)
    config = {
        "HYPER_ENV": "production",
        "HYPER_RELEASE": image.release,
        "HYPER_TRUSTED_PROXIES": options.trusted_proxies,
        "HYPER_SECURE_COOKIES": "true",
        "HYPER_GRACEFUL_TIMEOUT": str(graceful),
        "HYPER_WORKER_DRAIN_TIMEOUT": str(drain),
        "HYPER_WORKER_CONCURRENCY": str(settings.worker_concurrency),
        "HYPER_DB_POOL_SIZE": str(settings.db_pool_size),
        "HYPER_VAR_DIR": "/tmp/hyper",  # noqa: S108 - the pod's own emptyDir; the root filesystem is read-only
        "HYPER_ACCESS_LOG": "true" if settings.access_log else "false",
    }
    if options.app_spec:
        config["HYPER_APP"] = options.app_spec
    config |= options.extra_env
    ctx: dict[str, Any] = {
        "app": app.name,
        "base": base,
        "namespace": namespace,
        "image": image.text,
        "pull_policy": image.pull_policy,
        "release": image.release,
        "release_name": slug(f"{base}-migrate-{image.release}", NAME_MAX),
        "config": dict(sorted(config.items())),
        "secret": f"{base}-secrets",
        "port": PORT,
        "uid": UID,
        "pre_stop": PRE_STOP_SECONDS,
        "web_grace": PRE_STOP_SECONDS + graceful + GRACE_MARGIN_SECONDS,
        "worker_grace": drain + GRACE_MARGIN_SECONDS * 2,
        "has_jobs": has_jobs,
        "crons": crons,
        "scheduler": options.scheduler,
        "scheduler_deployment": options.scheduler == "deployment" and bool(crons),
        "hpa": options.hpa,
        "web_replicas": min(p.web_replicas for p in ENVIRONMENTS.values()),
        "worker_replicas": 1,
        "hpa_max_replicas": min(p.hpa_max_replicas for p in ENVIRONMENTS.values()),
        "version_label": _label_value(image.release),
        "config_checksum": hashlib.sha256(repr(sorted(config.items())).encode()).hexdigest()[:16],
    }
    checkov = [s for s in lint_skips("checkov") if not (image.digest and s.check in DIGEST_CHECKS)]

    def checkov_skips(kind: str, name: str) -> list[tuple[str, str]]:
        """The kept checkov findings of one resource: its checkov.io/skipN annotations."""
        resource_id = f"{kind}.{namespace}.{name}"
        return [(s.check, s.reason) for s in checkov if s.matches(resource_id)]

    def annotations(kind: str, name: str, extra: dict[str, str] | None = None) -> str:
        """A resource's ``annotations:`` block, as lines to follow its labels (empty when
        none): ``extra`` and the checkov findings it keeps, each with its reason."""
        values = dict(extra or {})
        for n, (check, reason) in enumerate(checkov_skips(kind, name), 1):
            values[f"checkov.io/skip{n}"] = f"{check}={reason}"
        if not values:
            return ""
        return "\n  annotations:" + "".join(f"\n    {key}: {_quote(value)}" for key, value in values.items())

    ctx["annotations"] = annotations
    env = _environment()
    files: dict[str, str] = {}
    resources_: list[str] = []

    def emit(template: str, path: str, **extra: Any) -> None:
        files[f"base/{path}"] = env.get_template(f"base/{template}").render(ctx | extra)
        resources_.append(path)

    emit("namespace.yaml.j2", "namespace.yaml")
    emit("serviceaccount.yaml.j2", "serviceaccount.yaml")
    emit("configmap.yaml.j2", "configmap.yaml")
    emit("networkpolicy.yaml.j2", "networkpolicy.yaml")
    emit("web-deployment.yaml.j2", "web-deployment.yaml")
    emit("web-service.yaml.j2", "web-service.yaml")
    emit("web-pdb.yaml.j2", "web-pdb.yaml")
    if options.hpa:
        emit("web-hpa.yaml.j2", "web-hpa.yaml")
    emit("migrate-job.yaml.j2", "migrate-job.yaml")
    if has_jobs:
        emit("worker-deployment.yaml.j2", "worker-deployment.yaml")
    if ctx["scheduler_deployment"]:
        emit("scheduler-deployment.yaml.j2", "scheduler-deployment.yaml")
    elif options.scheduler == "cronjob":
        for cron in crons:
            emit("cronjob.yaml.j2", f"cronjob-{cron.name.removeprefix(base + '-cron-')}.yaml", cron=cron)
    files["base/kustomization.yaml"] = env.get_template("base/kustomization.yaml.j2").render(ctx | {"resources": resources_})
    for name in options.envs:
        profile = ENVIRONMENTS[name]
        octx = ctx | {"env": name, "profile": profile, "env_namespace": f"{namespace}-{name}"}
        for template in ("kustomization.yaml",):
            files[f"overlays/{name}/{template}"] = env.get_template(f"overlay/{template}.j2").render(octx)
    return files


def write(files: dict[str, str], out: Path) -> list[Path]:
    """Write the rendered files under ``out``. The base and each rendered overlay are
    replaced whole, so a removed cron leaves no stale CronJob behind; other overlays stay."""
    import shutil

    folders = {"base"} | {"/".join(rel.split("/")[:2]) for rel in files if rel.startswith("overlays/")}
    for part in folders:
        if (out / part).is_dir():
            shutil.rmtree(out / part)
    written = []
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
