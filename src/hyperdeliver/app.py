"""App: discovers features, validates them, and serves them through one front controller.

Example:
    >>> from hyperdeliver import App, Feature, PUBLIC, Settings
    >>> hello = Feature("hello", owner="ada@example.com")
    >>> @hello.query("GET /hello", roles=PUBLIC)
    ... async def say_hello(ctx) -> dict[str, str]:
    ...     return {"message": "hello"}
    >>> app = App("demo", features=[hello], settings=Settings(env="test", database_url="sqlite://"))
    >>> [op.path for op in app.operations if op.feature.name == "hello"]
    ['/hello']
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import pkgutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

from .assembly import default_plugins, required_plugins
from .auth.feature import build_auth_feature
from .auth.memberships import Membership, Memberships
from .auth.passwords import Hasher
from .auth.service import AuthService
from .controller import FrontController
from .db import Database
from .errors import ConfigurationError, first_line
from .features import Feature
from .http.proxies import TrustedProxies
from .http.security_headers import SecurityHeaders
from .operations import Operation
from .plugins import Plugin, check_plugin
from .roles import RoleHierarchy
from .scopes import Scope, build_check
from .settings import Settings, settings_from_env
from .types import Receive, Send
from .types import Scope as ASGIScope

if TYPE_CHECKING:
    from .jobs.queue import JobQueue
    from .lifecycle.store import LifecycleStore
    from .rest.asgi import RestAdapter
    from .usage.recorder import UsageRecorder

_NO_PATH_VALUES: dict[str, str] = {}
"""The path values of a static route (never written to)."""


P = TypeVar("P", bound=Plugin)
MEMBERSHIPS = Membership.__table__
"""The table the scope checks read roles from (handed to :func:`~hyperdeliver.scopes.build_check`)."""


class App:
    """A hyperdeliver application: an ASGI callable and the registry the CLI reads.

    Args:
        name: the product's name.
        features: a dotted package path whose sub-packages each define a ``Feature``,
            or an iterable of features / modules.
        roles: the role hierarchy, lowest first (``["viewer", "member", "admin"]``) or a
            mapping ``role -> roles it includes``.
        settings: defaults to ``Settings()`` read from ``HYPER_*`` environment variables.
        migrations: the folder holding the app's own Alembic revisions.
        scopes: the scopes roles can be held in (``[Scope("workspace", lookups=[...])]``):
            operations declared with ``scope="workspace"`` check the caller's roles there
            (:mod:`hyperdeliver.scopes`); ``app.memberships`` grants and revokes them.
        plugins: the :class:`~hyperdeliver.Plugin` objects the app is built from; defaults
            to :func:`~hyperdeliver.assembly.default_plugins` (OpenAPI, GraphQL, jobs,
            lifecycle, dashboard, usage, ops). REST is always there.

    The services plugins provide the rest of the framework are typed attributes, None
    without their plugin: :attr:`jobs`, :attr:`usage`, :attr:`lifecycle`. A plugin's own
    objects are reached through it: ``app.plugin(GraphQLPlugin).schema``.
    """

    def __init__(
        self,
        name: str,
        *,
        features: str | Iterable[Feature | ModuleType | str] = (),
        roles: Sequence[str] | Mapping[str, Iterable[str]] = ("admin",),
        settings: Settings | None = None,
        migrations: str | Path | None = None,
        plugins: Sequence[Plugin] | None = None,
        hasher: Hasher | None = None,
        scopes: Iterable[Scope] = (),
    ) -> None:
        self.name = name
        self.settings = settings or settings_from_env()
        self.role_hierarchy = RoleHierarchy(roles)
        self.scopes: dict[str, Scope] = {}
        for sc in scopes:
            if sc.name in self.scopes:
                raise ConfigurationError(f"two scopes are named {sc.name!r}")
            if sc.roles is None:
                # A copy: the same declaration may serve apps with different hierarchies.
                sc = dataclasses.replace(sc)
                sc.hierarchy = self.role_hierarchy
            self.scopes[sc.name] = sc
        self.memberships = Memberships(self)
        self.migrations_dir = Path(migrations) if migrations else None
        self.features: dict[str, Feature] = {}
        for f in [build_auth_feature(), *discover(features)]:
            if f.name in self.features and self.features[f.name] is not f:
                raise ConfigurationError(f"two features are named {f.name!r}")
            self.features[f.name] = f
        self.operations: list[Operation] = [op for f in self.features.values() for op in f.operations.values()]
        self._check()
        self.database = _database(self.settings)
        self.auth = AuthService(self.database, self.role_hierarchy, self.settings, hasher)
        self.controller = FrontController(self)
        self.security_headers = SecurityHeaders(self.settings)
        """The headers every answer carries, computed once (:mod:`~hyperdeliver.http.security_headers`)."""
        self.proxies = TrustedProxies(self.settings.trusted_proxies)
        """Whose X-Forwarded-For / -Proto to believe (:mod:`~hyperdeliver.http.proxies`); none by default."""
        self.rest: RestAdapter
        """The HTTP entry, set up by the REST plugin (:mod:`hyperdeliver.rest.plugin`): the
        operations' routes, and the other plugins' apps mounted on it, in one Starlette
        router (:mod:`hyperdeliver.rest.asgi`)."""
        self.jobs: JobQueue | None = None
        """The job queue (:class:`~hyperdeliver.jobs.JobsPlugin`): ``app.jobs.enqueue(None, task, **kwargs)``."""
        self.usage: UsageRecorder | None = None
        """The usage recorder (:class:`~hyperdeliver.usage.UsagePlugin`); None when ``usage_enabled`` is off."""
        self.lifecycle: LifecycleStore | None = None
        """Lifecycles and flags in force (:class:`~hyperdeliver.lifecycle.LifecyclePlugin`)."""
        self.plugins: list[Plugin] = []
        for p in [*required_plugins(), *(default_plugins() if plugins is None else plugins)]:
            self._register(p)
        for p in self.plugins:
            p.setup(self)
        for op in self.operations:
            for p in self.plugins:
                p.receive_operation(op)
        for p in self.plugins:
            self._mount(p)
        for f in self.features.values():
            f.freeze()
        self._started = False

    def __repr__(self) -> str:
        return f"<App {self.name} features={len(self.features)} operations={len(self.operations)}>"

    def _check(self) -> None:
        """Start-up checks with stable ids; all problems are reported at once."""
        problems: list[str] = self.settings.production_problems()
        seen: dict[str, Operation] = {}
        for op in self.operations:
            if op.roles is None:
                problems.append(
                    f"hd.E001 {op.qualname} ({op.method} {op.path}) declares no roles: "
                    f"add roles={{...}} or roles=PUBLIC to its decorator"
                )
            elif op.scope is None:
                unknown = self.role_hierarchy.unknown(op.roles)
                if unknown:
                    problems.append(
                        f"hd.E002 {op.qualname} names unknown roles {sorted(unknown)}; "
                        f"the app declares {sorted(self.role_hierarchy.names)}"
                    )
            if op.scope is not None and op.roles is not None:
                try:
                    op.scope_check = build_check(self.scopes, op, [p.name for p in op.params], op.body, memberships=MEMBERSHIPS)
                except ConfigurationError as exc:
                    problems.append(str(exc))
            if op.name in seen:
                problems.append(f"hd.E003 operations {seen[op.name].qualname} and {op.qualname} share the name {op.name!r}")
            seen[op.name] = op
        for f in self.features.values():
            for task in f.tasks.values():
                if task.scope is not None:
                    try:
                        names = list(task.params_model.model_fields) if task.params_model is not None else []
                        task.scope_check = build_check(self.scopes, task, names, memberships=MEMBERSHIPS)
                    except ConfigurationError as exc:
                        problems.append(str(exc))
        if problems:
            raise ConfigurationError("; ".join(problems))

    def operation(self, qualname: str) -> Operation:
        for op in self.operations:
            if op.qualname == qualname or op.name == qualname:
                return op
        raise KeyError(qualname)

    def plugin(self, kind: type[P]) -> P:
        """The app's plugin of type ``kind``: ``app.plugin(GraphQLPlugin).sdl()``.

        Raises:
            LookupError: the app has none (its ``plugins=`` leave it out).
        """
        for p in self.plugins:
            if isinstance(p, kind):
                return p
        raise LookupError(f"the app {self.name!r} has no {kind.__name__} (its plugins= leave it out)")

    def add_plugin(self, plugin: Plugin) -> None:
        """Add a plugin after construction (it receives every operation at once)."""
        if self._started:
            raise ConfigurationError("plugins must be added before the app starts")
        self._register(plugin)
        plugin.setup(self)
        for op in self.operations:
            plugin.receive_operation(op)
        self._mount(plugin)

    def _register(self, plugin: Plugin) -> None:
        check_plugin(plugin)
        if any(p.name == plugin.name for p in self.plugins):
            raise ConfigurationError(f"two plugins are named {plugin.name!r}")
        self.plugins.append(plugin)

    def _mount(self, plugin: Plugin) -> None:
        for prefix, asgi in plugin.mounts():
            self.rest.mount(prefix, asgi)

    # -- lifespan ------------------------------------------------------------------

    async def startup(self) -> None:
        if self._started:
            return
        self._started = True
        self.database.open()
        self.auth.prepare()
        self.auth.start_watching()
        for p in self.plugins:
            await p.startup(self)

    async def shutdown(self) -> None:
        """Stop the plugins and close the database's connections. An app that never
        started (migrated, or called by a test without its lifespan) may still hold pooled
        connections: they are closed all the same."""
        if not self._started:
            await self.database.dispose()
            return
        self._started = False
        await self.auth.stop_watching()
        for p in reversed(self.plugins):
            await p.shutdown(self)
        await self.database.dispose()

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # The REST adapter's index first (a static path: the usual case), inlined here
            # to spare the hot path a coroutine; Starlette routes the rest.
            methods = self.rest.static_endpoints.get(scope["path"])
            endpoint = methods.get(scope["method"]) if methods is not None else None
            if endpoint is not None:
                await endpoint(scope, receive, send, _NO_PATH_VALUES)
            else:
                await self.rest.dispatch(scope, receive, send)
            return
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    def _tune_gc(self) -> None:
        """A server's garbage collector: the objects alive after start-up frozen out of its
        reach (``gc_freeze``)."""
        settings = self.settings
        freeze = settings.gc_freeze
        if freeze or (freeze is None and settings.env != "test"):
            gc.collect()
            gc.freeze()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self._tune_gc()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                gc.unfreeze()
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _database(settings: Settings) -> Database:
    """The app's Database; a URL SQLAlchemy cannot use is a ConfigurationError naming its variable."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchModuleError

    url = settings.resolved_database_url()
    try:
        return Database(
            url,
            echo=settings.db_echo,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
        )
    except ArgumentError:
        raise ConfigurationError(
            "HYPER_DATABASE_URL is not a database URL: use sqlite:///path/to/file.sqlite3 or postgresql://user@host/db"
        ) from None
    except (NoSuchModuleError, InvalidRequestError, ImportError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = first_line(exc) or type(exc).__name__
        raise ConfigurationError(
            f"HYPER_DATABASE_URL {shown}: no usable async driver ({reason}); use sqlite:/// or postgresql://"
        ) from None


def discover(features: str | Iterable[Feature | ModuleType | str]) -> list[Feature]:
    """Features from a dotted package path (each sub-module), modules, or Feature objects."""
    if isinstance(features, str):
        features = [features]
    found: list[Feature] = []
    for item in features:
        if isinstance(item, Feature):
            found.append(item)
            continue
        module = importlib.import_module(item) if isinstance(item, str) else item
        modules = [module]
        if hasattr(module, "__path__"):
            for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
                if not info.name.startswith("_"):
                    modules.append(importlib.import_module(f"{module.__name__}.{info.name}"))
        for m in modules:
            for value in vars(m).values():
                if isinstance(value, Feature) and value not in found:
                    found.append(value)
    return found
