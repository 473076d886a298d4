"""``hyper check [--deploy]``: small check functions with stable ids, like Django's system
checks (``python manage.py check --deploy``).

A check is a function ``(CheckContext) -> Iterable[Finding]`` registered with
:func:`register`; ``deploy=True`` ones run only under ``--deploy`` (they judge a
production configuration). Add a check by writing one more function here (or anywhere,
decorated with ``@register()``), with an id not used before; docs/deploy.md lists them.

Probe-safe: no check connects anywhere except the migrations check, to the configured
database, within ``db_timeout`` seconds (``--no-database`` skips it).

Example:
    >>> from hyperdeliver import Settings
    >>> findings = run(CheckContext(Settings(env="production", database_url="sqlite://"), deploy=True, database=False))
    >>> [f.id for f in findings]
    ['hd.E102', 'hd.E104', 'hd.W105']
    >>> print(findings[2])
    hd.W105 WARNING: HYPER_TRUSTED_PROXIES is empty: behind a load balancer every client has its address (throttles, logs) HINT: set it to the ingress / cluster network, e.g. 10.0.0.0/8 (hyper k8s render --trusted-proxies)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from ..errors import first_line

if TYPE_CHECKING:
    from ..app import App
    from ..settings import Settings
    from .k8s import K8sOptions


class Level(IntEnum):
    """How serious a finding is (Django's levels); ``--fail-level`` picks the lowest that fails."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


@dataclass(frozen=True)
class Finding:
    """One problem: a stable id (``hd.E104``: E error, W warning, I info), a level, what is
    wrong and how to fix it."""

    id: str
    level: Level
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.id} {self.level.name}: {self.message}" + (f" HINT: {self.hint}" if self.hint else "")

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "level": self.level.name, "message": self.message, "hint": self.hint}


@dataclass
class CheckContext:
    """What a check may look at: the settings, the app when it loaded (else why not), the
    manifest options, and whether the database may be reached."""

    settings: Settings
    app: App | None = None
    load_error: str | None = None
    """The one-line reason the app did not load (its hd.E0xx problems, or an import error)."""
    deploy: bool = False
    k8s: K8sOptions | None = None
    """What ``hyper k8s render`` would be asked for (default: a placeholder image, all environments)."""
    database: bool = True
    db_timeout: float = 5.0


CheckFunction = Callable[[CheckContext], Iterable[Finding]]


@dataclass(frozen=True)
class Check:
    function: CheckFunction
    deploy: bool


CHECKS: list[Check] = []
"""Every registered check, in the order they run."""


def register(*, deploy: bool = True) -> Callable[[CheckFunction], CheckFunction]:
    """Add a check function to :data:`CHECKS` (``deploy=False``: it runs without ``--deploy`` too)."""

    def add(fn: CheckFunction) -> CheckFunction:
        if any(c.function is fn for c in CHECKS):
            raise ValueError(f"check {fn.__name__} is registered already")
        CHECKS.append(Check(fn, deploy))
        return fn

    return add


def run(ctx: CheckContext, checks: Iterable[Check] | None = None) -> list[Finding]:
    """Every finding of the checks that apply (``ctx.deploy`` adds the deploy ones). A
    check that raises is reported as hd.E100 naming it; the others still run."""
    findings: list[Finding] = []
    for check in CHECKS if checks is None else checks:
        if check.deploy and not ctx.deploy:
            continue
        try:
            findings.extend(check.function(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others' findings
            findings.append(Finding("hd.E100", Level.ERROR, f"check {check.function.__name__} failed: {type(exc).__name__}: {first_line(exc)}"))
    return findings


# -- the app ---------------------------------------------------------------------------


@register(deploy=False)
def app_loads(ctx: CheckContext) -> Iterator[Finding]:
    """hd.E000, or the app's own start-up problems (hd.E001 no roles, hd.E002 unknown roles,
    hd.E003 a name used twice) one finding each."""
    if ctx.load_error is None:
        return
    problems = [p.strip() for p in ctx.load_error.split("; ")]
    if all(re.match(r"hd\.E\d{3} ", p) for p in problems):
        for p in problems:
            ident, _, message = p.partition(" ")
            yield Finding(ident, Level.ERROR, message)
        return
    yield Finding("hd.E000", Level.ERROR, f"the app does not load: {ctx.load_error}")


@register(deploy=False)
def operations_declare_roles(ctx: CheckContext) -> Iterator[Finding]:
    """hd.E001: every operation says who may call it (roles=PUBLIC for anyone)."""
    if ctx.app is None:
        return
    for op in ctx.app.operations:
        if op.roles is None:
            yield Finding(
                "hd.E001", Level.ERROR, f"{op.qualname} ({op.method} {op.path}) declares no roles",
                "add roles={...} or roles=PUBLIC to its decorator",
            )


# -- production settings ---------------------------------------------------------------


@register()
def env_is_production(ctx: CheckContext) -> Iterator[Finding]:
    """hd.E101: HYPER_ENV=production (dev answers 500s with tracebacks and serves GraphiQL)."""
    if ctx.settings.env != "production":
        yield Finding(
            "hd.E101", Level.ERROR, f"HYPER_ENV is {ctx.settings.env!r}: errors show tracebacks and GraphQL introspection is on",
            "set HYPER_ENV=production (hyper k8s render puts it in the ConfigMap)",
        )


DEFAULT_SECRET = "dev-insecure-secret-change-me"
SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT = 8


@register()
def secret_key_is_strong(ctx: CheckContext) -> Iterator[Finding]:
    """hd.E102 the default secret key; hd.W103 a short or repetitive one."""
    key = ctx.settings.secret_key
    hint = "set HYPER_SECRET_KEY from a Secret: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    if key == DEFAULT_SECRET or key == type(ctx.settings).model_fields["secret_key"].default:
        yield Finding("hd.E102", Level.ERROR, "HYPER_SECRET_KEY is the default, published with hyperdeliver", hint)
    elif len(key) < SECRET_MIN_LENGTH or len(set(key)) < SECRET_MIN_DISTINCT:
        yield Finding(
            "hd.W103", Level.WARNING,
            f"HYPER_SECRET_KEY has {len(key)} characters, {len(set(key))} distinct: at least {SECRET_MIN_LENGTH} and {SECRET_MIN_DISTINCT}",
            hint,
        )


@register()
def database_is_not_sqlite(ctx: CheckContext) -> Iterator[Finding]:
    """hd.E104: production runs on PostgreSQL (SQLite is one file on one machine)."""
    url = ctx.settings.database_url
    hint = "set HYPER_DATABASE_URL=postgresql://user@host:5432/name (from a Secret)"
    if not url:
        yield Finding("hd.E104", Level.ERROR, "HYPER_DATABASE_URL is not set: the database would be a SQLite file under HYPER_VAR_DIR", hint)
    elif url.split(":", 1)[0].split("+", 1)[0] == "sqlite":
        shown = url if len(url) < 60 else url[:57] + "..."
        yield Finding(
            "hd.E104", Level.ERROR,
            f"the database is SQLite ({shown}) in production: one file on one machine, lost with the pod, no second replica", hint,
        )


@register()
def trusted_proxies_are_explicit(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W105: which peers' X-Forwarded-For is believed."""
    value = ctx.settings.trusted_proxies
    text = ",".join(value) if isinstance(value, (list, tuple, set, frozenset)) else str(value or "")
    if not text:
        yield Finding(
            "hd.W105", Level.WARNING, "HYPER_TRUSTED_PROXIES is empty: behind a load balancer every client has its address (throttles, logs)",
            "set it to the ingress / cluster network, e.g. 10.0.0.0/8 (hyper k8s render --trusted-proxies)",
        )
    elif re.search(r"(^|[,\s\[\"'])(\*|0\.0\.0\.0/0|::/0)", text):
        yield Finding(
            "hd.W105", Level.WARNING, f"HYPER_TRUSTED_PROXIES={text} trusts every peer: any client can claim any address",
            "name the ingress / cluster network only, e.g. 10.0.0.0/8",
        )


@register()
def allowed_hosts_are_explicit(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W106: the Host names served (when the settings have ``allowed_hosts``)."""
    if "allowed_hosts" not in type(ctx.settings).model_fields:
        return
    value = getattr(ctx.settings, "allowed_hosts")
    hosts = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [h for h in str(value or "").split(",") if h]
    if not hosts or "*" in hosts:
        yield Finding("hd.W106", Level.WARNING, "HYPER_ALLOWED_HOSTS allows any Host header", "name the product's hosts, e.g. shop.example.com")


@register()
def cookies_are_secure(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W107: session and CSRF cookies carry ``Secure`` (never sent over plain HTTP)."""
    secure = getattr(ctx.settings, "cookies_secure", None)  # the resolved value, where settings derive it
    if secure is None:
        secure = bool(getattr(ctx.settings, "secure_cookies", True))
    if not secure:
        yield Finding(
            "hd.W107", Level.WARNING, "HYPER_SECURE_COOKIES is false: the session cookie can leave over plain HTTP",
            "set HYPER_SECURE_COOKIES=true (hyper k8s render does)",
        )


HSTS_MIN_MAX_AGE = 15_552_000
"""180 days: the least max-age that keeps browsers on HTTPS between two visits."""


@register()
def hsts_is_on(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W108: Strict-Transport-Security is sent, with a max-age of at least 180 days."""
    max_age = ctx.settings.hsts_max_age
    if max_age < HSTS_MIN_MAX_AGE:
        said = "is 0: no Strict-Transport-Security" if max_age == 0 else f"is {max_age} s, under 180 days"
        yield Finding(
            "hd.W108", Level.WARNING, f"HYPER_HSTS_MAX_AGE {said}: browsers may reach the product over plain HTTP",
            "set HYPER_HSTS_MAX_AGE=31536000 (a year, the default) once HTTPS works",
        )


@register()
def graphql_introspection_is_off(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W109: introspection turned on in production shows the whole schema to anyone."""
    if ctx.settings.graphql_introspection is True:
        yield Finding("hd.W109", Level.WARNING, "HYPER_GRAPHQL_INTROSPECTION=true: anyone can read the whole GraphQL schema", "unset it (off in production)")


@register()
def security_headers_are_on(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W117: the security headers (nosniff, CSP, frame denial, HSTS) are sent."""
    if getattr(ctx.settings, "security_headers", True) is False:
        yield Finding(
            "hd.W117", Level.WARNING, "HYPER_SECURITY_HEADERS=false: no nosniff, CSP, frame denial or HSTS on any answer",
            "unset it (docs/security.md says what each header does)",
        )


@register()
def graphql_suggestions_are_off(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W118: "Did you mean ...?" hints name the schema's fields that introspection hides."""
    if getattr(ctx.settings, "graphql_suggestions", None) is True:
        yield Finding(
            "hd.W118", Level.WARNING, "HYPER_GRAPHQL_SUGGESTIONS=true: mistyped fields get 'Did you mean' hints that reveal the schema",
            "unset it (off in production)",
        )


THROTTLE_MAX_FAILURES = 100
THROTTLE_MIN_WINDOW = 60


@register()
def login_throttle_is_tight(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W119: the login throttle still stops password guessing."""
    s = ctx.settings
    limits = {f: getattr(s, f) for f in ("login_max_failures", "login_max_failures_per_account", "login_max_failures_per_ip") if hasattr(s, f)}
    loose = [f"HYPER_{f.upper()}={v}" for f, v in limits.items() if v > THROTTLE_MAX_FAILURES]
    if s.login_window < THROTTLE_MIN_WINDOW:
        loose.append(f"HYPER_LOGIN_WINDOW={s.login_window}")
    if loose:
        yield Finding(
            "hd.W119", Level.WARNING, f"the login throttle is loose ({', '.join(loose)}): guesses are limited too little",
            f"keep each limit at most {THROTTLE_MAX_FAILURES} and the window at least {THROTTLE_MIN_WINDOW} s (docs/security.md)",
        )


REVOCATION_MAX_INTERVAL = 30.0
TOKEN_CACHE_MAX_TTL = 300.0


@register()
def revocation_is_prompt(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W120: a revoked token or changed password takes effect everywhere within a short bound."""
    s = ctx.settings
    interval = getattr(s, "auth_epoch_interval", None)
    slow = [f"HYPER_TOKEN_CACHE_TTL={s.token_cache_ttl:g}"] if s.token_cache_ttl > TOKEN_CACHE_MAX_TTL else []
    if interval is not None and interval > REVOCATION_MAX_INTERVAL:
        slow.append(f"HYPER_AUTH_EPOCH_INTERVAL={interval:g}")
    if slow:
        yield Finding(
            "hd.W120", Level.WARNING, f"a revoked API token keeps working for too long in other processes ({', '.join(slow)})",
            f"keep HYPER_AUTH_EPOCH_INTERVAL at most {REVOCATION_MAX_INTERVAL:g} s and HYPER_TOKEN_CACHE_TTL at most {TOKEN_CACHE_MAX_TTL:g} s",
        )


@register()
def sql_is_not_echoed(ctx: CheckContext) -> Iterator[Finding]:
    """hd.W110: HYPER_DB_ECHO logs every statement with its values (passwords' hashes, tokens)."""
    if ctx.settings.db_echo:
        yield Finding("hd.W110", Level.WARNING, "HYPER_DB_ECHO=true logs every SQL statement with its parameters", "unset it")


# -- the database ----------------------------------------------------------------------


@register()
def migrations_at_head(ctx: CheckContext) -> Iterator[Finding]:
    """hd.E111 migrations pending; hd.E112 the database did not answer within ``db_timeout``;
    hd.W116 the database is ahead of this code (a newer release migrated it)."""
    if ctx.app is None or not ctx.database:
        return
    from ..db.migrate import ahead_of, current_async, pending

    app = ctx.app

    async def go() -> tuple[list[str], set[str]]:
        async def read() -> tuple[list[str], set[str]]:
            unknown = ahead_of(app, await current_async(app))
            return unknown, (set() if unknown else await pending(app))

        try:
            return await asyncio.wait_for(read(), ctx.db_timeout)
        finally:
            await app.database.dispose()

    try:
        unknown, missing = asyncio.run(go())
    except TimeoutError:
        yield Finding("hd.E112", Level.ERROR, f"the database did not answer within {ctx.db_timeout:g} s", "check HYPER_DATABASE_URL and the network")
        return
    except Exception as exc:  # noqa: BLE001 - unreachable, refused: said in one line
        yield Finding("hd.E112", Level.ERROR, f"could not read the database's migrations: {first_line(exc) or type(exc).__name__}", "check HYPER_DATABASE_URL")
        return
    if unknown:
        yield Finding(
            "hd.W116", Level.WARNING, f"the database is ahead of this code (revisions it does not know: {', '.join(unknown)})",
            "a newer release has migrated it: check the newer release, or deploy it",
        )
    if missing:
        yield Finding(
            "hd.E111", Level.ERROR, f"the database is not migrated (pending: {', '.join(sorted(missing))})",
            "run hyper db upgrade (the migration Job of hyper k8s render does)",
        )


# -- the manifests ---------------------------------------------------------------------


DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@register()
def manifests_render(ctx: CheckContext) -> Iterator[Finding]:
    """hd.E113 ``hyper k8s render`` fails; hd.E114 a manifest it renders is not sound;
    hd.E115 the app serves no /healthz or /readyz for the probes."""
    if ctx.app is None:
        return
    import yaml

    from ..errors import ConfigurationError
    from ..ops.plugin import OpsPlugin
    from .k8s import K8sOptions, render, slug

    options = ctx.k8s or K8sOptions(image=f"{slug(ctx.app.name)}:check")
    try:
        files = render(ctx.app, options)
    except ConfigurationError as exc:
        yield Finding("hd.E113", Level.ERROR, f"hyper k8s render fails: {first_line(exc)}")
        return
    seen: dict[tuple[str, str, str], str] = {}
    for path, text in files.items():
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as exc:
            yield Finding("hd.E114", Level.ERROR, f"{path} is not YAML: {first_line(exc)}")
            continue
        for doc in docs:
            yield from _sound(path, doc, seen)
    if not any(isinstance(p, OpsPlugin) for p in ctx.app.plugins):
        yield Finding(
            "hd.E115", Level.ERROR, "the app serves no /healthz and /readyz, which the web pods' probes call",
            "keep hyperdeliver.ops.OpsPlugin in App(plugins=...)",
        )


def _sound(path: str, doc: Any, seen: dict[tuple[str, str, str], str]) -> Iterator[Finding]:
    """hd.E114 findings for one rendered document."""
    if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
        yield Finding("hd.E114", Level.ERROR, f"{path}: a document without apiVersion and kind")
        return
    if doc["kind"] == "Kustomization":
        return
    meta = doc.get("metadata") or {}
    name = str(meta.get("name", ""))
    limit = 52 if doc["kind"] == "CronJob" else 63
    if not DNS_LABEL.fullmatch(name) or len(name) > limit:
        yield Finding("hd.E114", Level.ERROR, f"{path}: {doc['kind']} name {name!r} is not a DNS label of at most {limit} characters")
    key = (doc["kind"], str(meta.get("namespace", "")), name)
    if key in seen:
        yield Finding("hd.E114", Level.ERROR, f"{path}: {doc['kind']} {name!r} is also rendered in {seen[key]}")
    seen[key] = path
