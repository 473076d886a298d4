"""Settings: one typed object, read from ``HYPER_*`` environment variables at the edge.

Everything else in the package receives a :class:`Settings` instance explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from .errors import ConfigurationError, first_line


DEFAULT_SECRET_KEY = "dev-insecure-secret-change-me"
MIN_SECRET_KEY = 32


class Settings(BaseSettings):
    """Runtime settings for a hyperdeliver app.

    Example:
        >>> Settings(env="test", database_url="sqlite+aiosqlite:///:memory:").env
        'test'
    """

    model_config = SettingsConfigDict(env_prefix="HYPER_", extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"
    """dev shows tracebacks in 500 answers and serves GraphiQL; production hides both."""
    database_url: str | None = None
    """SQLAlchemy URL. Unset: a SQLite file under ``var_dir``."""
    var_dir: Path = Path("var")
    """Where the default SQLite database and other local state live."""
    secret_key: str = DEFAULT_SECRET_KEY
    """Signs nothing reversible today; reserved for signed values. Production refuses to
    start with the default or with fewer than 32 characters (``hd.E010``)."""
    release: str = ""
    """The running release (version), recorded with every usage event."""
    release_sha: str = ""
    deploy_role: str = "deployer"
    """The role (besides the dashboard's admin) that may record releases through
    ``POST /_hyper/api/releases``: give it to the user whose API token a CD system holds."""
    session_cookie: str = "hd_session"
    csrf_cookie: str = "hd_csrf"
    session_max_age: int = 14 * 24 * 3600
    """Seconds a session lives without use."""
    secure_cookies: bool | None = None
    """Mark the session and CSRF cookies ``Secure`` (sent over HTTPS only). None: on
    unless ``env=dev`` (a laptop serves plain http://localhost)."""
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Addresses or CIDRs of the proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto``
    are honoured, comma-separated in ``HYPER_TRUSTED_PROXIES``. Empty (the default): none,
    the TCP peer is the client."""
    hsts_max_age: int = Field(default=31_536_000, ge=0)
    """``Strict-Transport-Security: max-age`` sent outside dev and test; 0 sends none."""
    hsts_include_subdomains: bool = False
    """Add ``includeSubDomains`` to the HSTS header (only when every subdomain serves HTTPS)."""
    security_headers: bool = True
    """Send nosniff, Referrer-Policy, frame denial, CSP on pages and HSTS in production
    (off only when a proxy in front sets them itself)."""
    security_headers_on_data: bool = False
    """Also send Referrer-Policy and X-Frame-Options on operations' successful JSON
    answers (which carry nosniff and HSTS anyway); each header costs the server ~5,000
    instructions a request."""
    graphql_suggestions: bool | None = None
    """GraphQL's "Did you mean ...?" hints in errors. None: on except in production
    (they reveal field names that disabled introspection hides)."""
    auth_epoch_interval: float = Field(default=2.0, gt=0)
    """Seconds between this process's checks of the revocation epoch: a token revoked,
    or a password changed, in another process stops working here within this bound."""
    login_max_failures: int = Field(default=10, ge=1)
    """Login attempts allowed per account and IP within ``login_window`` seconds (a
    success clears them); counted before the password is hashed."""
    login_max_failures_per_account: int = Field(default=50, ge=1)
    """Login attempts allowed per account from all IPs together (guessing spread over many addresses)."""
    login_max_failures_per_ip: int = Field(default=100, ge=1)
    """Login attempts allowed per IP against all accounts together (one address trying many accounts)."""
    login_window: int = Field(default=180, ge=1)
    token_cache_ttl: float = 30.0
    """Seconds an authenticated API token stays cached in the process."""
    access_log: bool = True
    """One JSON log line per request."""
    db_pool_size: int = 10
    """PostgreSQL connections the pool keeps open (per process)."""
    db_max_overflow: int = 0
    """Connections opened beyond ``db_pool_size`` under load (closed once returned); 0: a
    call that finds every connection in use waits for one instead of opening another."""
    db_pool_timeout: float = 30.0
    """Seconds a call waits for a pooled connection before failing (503)."""
    db_echo: bool = False
    # GraphQL limits
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000
    graphql_batching: bool = False
    graphql_introspection: bool | None = None
    """None: allowed except in production."""
    # jobs
    worker_concurrency: int = 10
    """Jobs a worker runs at once; also the most it claims in one round trip."""
    worker_poll_interval: float = 1.0
    """Seconds an idle worker waits before polling again (a NOTIFY wakes it sooner on PostgreSQL)."""
    worker_heartbeat_interval: float = 5.0
    worker_heartbeat_timeout: float = 30.0
    """A running job whose worker has not heartbeated for this long is retried elsewhere."""
    graceful_timeout: float = Field(default=20.0, gt=0)
    """Seconds a server drains in-flight requests on SIGTERM before it stops. The
    Kubernetes manifests (``hyper k8s render``) give a web pod this plus its preStop
    sleep plus a margin as ``terminationGracePeriodSeconds``."""
    worker_drain_timeout: float = 20.0
    """Seconds a worker waits for running jobs on SIGTERM: below Kubernetes' 30 s grace."""
    worker_in_process: bool = False
    """Run a worker and the cron scheduler inside the web process (``hyper dev``, ``hyper demo``)."""
    # usage
    usage_enabled: bool = True
    usage_flush_interval: float = 1.0
    usage_flush_size: int = 1000
    usage_buffer_max: int = 100_000
    usage_retention_days: int = 90
    # lifecycle
    sunset_grace_days: int = Field(default=14, ge=0)
    """Days after a feature first ran during which the sunset rules leave it alone (a new
    feature has had no time to be used); the dashboard shows it as new until then."""
    lifecycle_refresh_interval: float = 5.0
    """Seconds between reloads of feature lifecycles and flags (changes made elsewhere)."""
    gc_freeze: bool | None = None
    """After a server's start-up, collect once and move every object alive then (modules,
    the app, its schemas) out of the cyclic GC's reach (``gc.freeze()``), so that later
    collections walk only what requests allocate. None: on, except with ``env=test``."""
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def dev(self) -> bool:
        return self.env == "dev"

    def production_problems(self) -> list[str]:
        """What production refuses to start with (stable ids, one line each)."""
        if self.env != "production":
            return []
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY:
            return [
                f"hd.E010 HYPER_SECRET_KEY is {'the default' if self.secret_key == DEFAULT_SECRET_KEY else 'too short'} "
                f"with HYPER_ENV=production: set it to {MIN_SECRET_KEY}+ random characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            ]
        return []

    @property
    def cookies_secure(self) -> bool:
        """Whether cookies carry ``Secure``: ``secure_cookies``, else everywhere but dev."""
        return self.secure_cookies if self.secure_cookies is not None else self.env != "dev"

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``var/hyper.sqlite3`` and async drivers."""
        url = self.database_url
        if not url:
            self.var_dir.mkdir(parents=True, exist_ok=True)
            return f"sqlite+aiosqlite:///{(self.var_dir / 'hyper.sqlite3').resolve()}"
        return async_url(url)


def settings_from_env() -> Settings:
    """``Settings()`` read from ``HYPER_*``; a bad value raises a one-line ConfigurationError
    naming its variable, such as ``HYPER_ENV='prod': use 'dev', 'test' or 'production'``."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None
    except SettingsError as exc:
        raise ConfigurationError(first_line(exc)) from None


def _describe(exc: ValidationError) -> str:
    """The first error as ``HYPER_NAME='value': what to use``."""
    errors = exc.errors(include_url=False, include_context=False)
    first = errors[0]
    msg = str(first["msg"])
    if msg.startswith("Input should be "):
        msg = "use " + msg.removeprefix("Input should be ")
    loc = first.get("loc") or ()
    where = f"HYPER_{str(loc[0]).upper()}" if loc else "HYPER_* settings"
    if "input" in first and not isinstance(first["input"], dict):
        where += f"={first['input']!r}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {msg}{more}"


def async_url(url: str) -> str:
    """Map a plain database URL onto the async driver SQLAlchemy needs."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url
