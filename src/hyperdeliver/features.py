"""Feature: one folder, one owner, a set of operations (and tasks, cron jobs, pages).

Example:
    >>> from hyperdeliver import Feature, PUBLIC
    >>> feature = Feature("hello", owner="ada@example.com", summary="Greets people")
    >>> @feature.query("GET /hello", roles=PUBLIC)
    ... async def hello(ctx, name: str = "world") -> dict[str, str]:
    ...     return {"message": f"hello {name}"}
    >>> feature.operations["hello"].path
    '/hello'
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigurationError
from .operations import Handler, Operation, build_operation
from .roles import normalize_roles
from .tasks import Task

F = TypeVar("F", bound=Callable[..., Any])


_LINK = re.compile(r"(?:https?://|/)[!#-;=?-~]*")
"""A link the ``Link`` header can carry as is: visible ASCII without ``<``, ``>`` or ``"``."""
LINK_MAX = 2000


def is_link(value: str) -> bool:
    """Whether ``value`` can go into a ``Link`` header as is (see :func:`check_link`)."""
    return len(value) <= LINK_MAX and _LINK.fullmatch(value) is not None


def check_link(value: str) -> str:
    """``value`` if it can go into a ``Link: <…>; rel="sunset"`` header, else ValueError.

    An http(s) URL or a path, visible ASCII only: a space, a line break or a non-ASCII
    character would make every response of the feature an invalid HTTP message.

    >>> check_link("https://example.com/migrate?to=v2")
    'https://example.com/migrate?to=v2'
    >>> check_link("https://x.example/a\\r\\nX-Evil: 1")
    Traceback (most recent call last):
    ...
    ValueError: bad link 'https://x.example/a\\r\\nX-Evil: 1': use an http(s) URL or a path of visible ASCII characters (percent-encode spaces and non-ASCII text), without <, > or "
    """
    if not is_link(value):
        raise ValueError(
            f"bad link {value[:200]!r}: use an http(s) URL or a path of visible ASCII characters "
            '(percent-encode spaces and non-ASCII text), without <, > or "'
        )
    return value


class Feature:
    """A product feature owned by one engineer."""

    def __init__(
        self,
        name: str,
        *,
        owner: str,
        summary: str = "",
        lifecycle: str = "active",
        sunset: date | str | None = None,
        link: str | None = None,
        module: str | None = None,
    ) -> None:
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ConfigurationError(f"feature name {name!r} must be letters, digits, '-' or '_'")
        if not owner:
            raise ConfigurationError(f"feature {name!r} needs an owner (owner='you@example.com')")
        self.name = name
        self.owner = owner
        self.summary = summary
        if lifecycle not in ("experimental", "active", "deprecated", "removed"):
            raise ConfigurationError(f"feature {name!r}: lifecycle must be experimental, active, deprecated or removed")
        self.lifecycle = lifecycle
        self.sunset: date | None = date.fromisoformat(sunset) if isinstance(sunset, str) else sunset
        """Deprecated features: the day they stop being served (the ``Sunset`` header)."""
        if link is not None:
            try:
                check_link(link)
            except ValueError as exc:
                raise ConfigurationError(f"feature {name!r}: {exc}") from None
        self.link = link
        """Deprecated features: where callers read about the replacement (``Link; rel="sunset"``)."""
        self.module = module if module is not None else sys._getframe(1).f_globals.get("__name__", "")
        """The module that declared the feature (its caller's ``__name__``): where its code lives."""
        self.operations: dict[str, Operation] = {}
        self.tasks: dict[str, Any] = {}
        self.crons: dict[str, Any] = {}
        self._frozen = False

    def __repr__(self) -> str:
        return f"<Feature {self.name} owner={self.owner} ops={len(self.operations)}>"

    @property
    def folder(self) -> Path | None:
        """The feature's folder: its package's directory when it is declared in a package's
        ``__init__.py`` (``acme/features/invoices/``), else its module's file; None when
        the module has no file (declared in a shell or a doctest)."""
        module = sys.modules.get(self.module)
        file = getattr(module, "__file__", None)
        if not file:
            return None
        path = Path(file).resolve()
        return path.parent if path.name == "__init__.py" else path

    def _check_setup(self) -> None:
        if self._frozen:
            raise ConfigurationError(
                f"feature {self.name!r} is already part of a running app; declare operations at import time"
            )

    def add_operation(self, op: Operation) -> Operation:
        """Register an operation (the explicit form behind the decorators)."""
        self._check_setup()
        if op.name in self.operations:
            raise ConfigurationError(f"{self.name}.{op.name} is declared twice")
        self.operations[op.name] = op
        return op

    def _decorator(self, kind: str, route: str, roles: str | Iterable[str] | None, **kw: Any) -> Callable[[F], F]:
        declared = normalize_roles(roles)

        def register(handler: F) -> F:
            op = build_operation(self, kind, route, handler, roles=declared, **kw)
            self.add_operation(op)
            handler.operation = op  # type: ignore[attr-defined]
            return handler

        return register

    def query(
        self,
        route: str,
        *,
        roles: str | Iterable[str] | None = None,
        name: str | None = None,
        summary: str | None = None,
        status: int | None = None,
        scope: str | None = None,
        scope_at: Any = None,
    ) -> Callable[[F], F]:
        """Declare a read operation: ``GET`` over REST, a ``Query`` field over GraphQL.

        ``scope="workspace"``: ``roles`` are held within the workspace the call's
        arguments name (``workspace_id``, or a child's id through the scope's lookups;
        ``scope_at`` picks the argument or gives a :class:`~hyperdeliver.Lookup`).
        """
        return self._decorator("query", route, roles, name=name, summary=summary, status=status, scope=scope, scope_at=scope_at)

    def mutation(
        self,
        route: str,
        *,
        roles: str | Iterable[str] | None = None,
        name: str | None = None,
        summary: str | None = None,
        status: int | None = None,
        scope: str | None = None,
        scope_at: Any = None,
    ) -> Callable[[F], F]:
        """Declare a write operation: ``POST/PUT/PATCH/DELETE`` over REST, a ``Mutation`` field
        (``scope``, ``scope_at``: as for :meth:`query`)."""
        return self._decorator("mutation", route, roles, name=name, summary=summary, status=status, scope=scope, scope_at=scope_at)

    def add_task(self, task: Any) -> Any:
        """Register a background task (the explicit form behind ``task`` and ``cron``)."""
        self._check_setup()
        if task.name in self.tasks:
            raise ConfigurationError(f"{self.name}.{task.name} is declared twice")
        self.tasks[task.name] = task
        if task.schedule is not None:
            self.crons[task.name] = task
        return task

    def task(
        self,
        *,
        retries: int = 0,
        backoff: float = 1.0,
        queue: str = "default",
        timeout: float | None = None,
        name: str | None = None,
        scope: str | None = None,
        scope_at: Any = None,
    ) -> Callable[[Callable[..., Any]], Any]:
        """Declare a background task, run by ``hyper worker``: ``await ctx.enqueue(task, **kwargs)``.

        ``scope="workspace"``: the job's arguments name a workspace (as an operation's
        do), and a user's call may enqueue it only where that user holds a role (else 404).

        A failed attempt is retried ``retries`` times after ``backoff * 2 ** (n - 1)``
        seconds (with jitter); ``timeout`` cancels an attempt after that many seconds.
        """
        def register(fn: Callable[..., Any]) -> Any:
            task = Task(self, fn, name=name, retries=retries, backoff=backoff, queue=queue, timeout=timeout)
            task.scope, task.scope_at = scope, scope_at
            return self.add_task(task)

        return register

    def cron(
        self,
        schedule: str,
        *,
        retries: int = 0,
        backoff: float = 1.0,
        queue: str = "default",
        timeout: float | None = None,
        name: str | None = None,
    ) -> Callable[[Callable[..., Any]], Any]:
        """Declare a task run on a cron schedule (UTC), exactly once per schedule time.

        ``"0 7 * * *"`` is 07:00 UTC daily; a sixth field is seconds (``"* * * * * */10"``).
        The function takes only the Context.
        """
        def register(fn: Callable[..., Any]) -> Any:
            task = Task(self, fn, name=name, retries=retries, backoff=backoff, queue=queue, timeout=timeout, schedule=schedule)
            if task.params_model is not None:
                raise ConfigurationError(f"{task.qualname}: a cron function takes only the Context")
            return self.add_task(task)

        return register

    def freeze(self) -> None:
        self._frozen = True


def operation_of(handler: Handler) -> Operation:
    """The :class:`Operation` a decorated handler was registered as."""
    op = getattr(handler, "operation", None)
    if not isinstance(op, Operation):
        raise TypeError(f"{handler!r} is not a declared operation")
    return op
