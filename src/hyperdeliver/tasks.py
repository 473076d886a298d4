"""Task: a background function declared on a feature, run by the worker through the
front controller's job path (``ctx.interface == "job"``).

Example:
    >>> from hyperdeliver import Feature
    >>> feature = Feature("billing", owner="ada@example.com")
    >>> @feature.task(retries=3, backoff=2.0)
    ... async def send_invoice(ctx, invoice_id: int) -> None:
    ...     ...
    >>> send_invoice.qualname, send_invoice.max_attempts
    ('billing.send_invoice', 4)
    >>> [round(send_invoice.retry_delay(n, jitter=0)) for n in (1, 2, 3)]
    [2, 4, 8]
    >>> @feature.cron("0 7 * * *")
    ... async def remind_overdue(ctx) -> None:
    ...     ...
    >>> remind_overdue.schedule
    '0 7 * * *'
"""

from __future__ import annotations

import inspect
import random
from contextvars import ContextVar
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from . import clock
from .errors import ConfigurationError, ValidationFailed, field_errors

if TYPE_CHECKING:
    from .features import Feature
    from .scopes import ScopeCheck

TaskHandler = Callable[..., Awaitable[Any]]

BEFORE_COMMIT: ContextVar[Callable[[Any], Awaitable[None]] | None] = ContextVar("hd_job_before_commit", default=None)
"""Set by the worker for the job it runs: marks the job done inside the task's own
transaction when the task used ``ctx.db``, so its writes and its completion commit together."""

INTERNAL = frozenset({"internal"})
"""The roles of every task: nobody calls one over HTTP; the job path runs it."""

JITTER = 0.2
"""Each retry delay is multiplied by a random factor in ``[1 - JITTER, 1 + JITTER]``."""
MAX_BACKOFF = 3600.0
"""No retry waits longer than an hour."""


class Task:
    """A declared background task: an :class:`~hyperdeliver.operations.Invocable`, as an
    :class:`~hyperdeliver.Operation` is (``feature``, ``name``, ``qualname``,
    ``kind == "task"``, ``roles``, ``status``, ``handler``, ``validate_args``), so the
    front controller, its gates and its usage observers run and count it the same way.

    Retries: a failed attempt is retried ``retries`` times; attempt ``n`` (1-based) that
    fails waits ``backoff * 2 ** (n - 1)`` seconds (at most an hour), times a random
    jitter factor in ``[0.8, 1.2]``. When no attempt is left the job is ``dead``.

    Calling the task object calls the function directly (handy in tests):
    ``await send_invoice(ctx, invoice_id=1)``.
    """

    kind = "task"
    status = 200

    def __init__(
        self,
        feature: Feature,
        fn: TaskHandler,
        *,
        name: str | None = None,
        retries: int = 0,
        backoff: float = 1.0,
        queue: str = "default",
        timeout: float | None = None,
        schedule: str | None = None,
    ) -> None:
        label = f"{feature.name}.{getattr(fn, '__name__', '?')}"
        if not inspect.iscoroutinefunction(fn):
            raise ConfigurationError(f"{label}: tasks must be 'async def'")
        if retries < 0 or backoff < 0:
            raise ConfigurationError(f"{label}: retries and backoff must be >= 0")
        if timeout is not None and timeout <= 0:
            raise ConfigurationError(f"{label}: timeout must be a positive number of seconds")
        if schedule is not None:
            from croniter import croniter

            if not croniter.is_valid(schedule):
                raise ConfigurationError(f"{label}: {schedule!r} is not a cron expression (e.g. '0 7 * * *')")
        if not queue or len(queue) > 100:
            raise ConfigurationError(f"{label}: queue must be a name of 1 to 100 characters")
        self.feature = feature
        self.fn = fn
        self.name = name or fn.__name__
        self.qualname = f"{feature.name}.{self.name}"
        self.retries = retries
        self.max_attempts = retries + 1
        self.backoff = backoff
        self.queue = queue
        self.timeout = timeout
        self.schedule = schedule
        self.roles: frozenset[str] | None = INTERNAL
        self.requirement: frozenset[str] | None = INTERNAL
        """Nobody holds ``internal``: the controller runs a task for the job path only."""
        self.scope: str | None = None
        """The scope its arguments name (``@feature.task(scope="workspace")``); checked at enqueue."""
        self.scope_at: Any = None
        self.scope_check: ScopeCheck | None = None
        doc = inspect.getdoc(fn) or ""
        self.summary = doc.split("\n\n", 1)[0].strip() or self.name.replace("_", " ")
        self.params_model = _params_model(self.qualname, fn)
        self.handler: TaskHandler = self._handle
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        extra = f" cron={self.schedule!r}" if self.schedule else ""
        return f"<Task {self.qualname} queue={self.queue} retries={self.retries}{extra}>"

    async def __call__(self, ctx: Any, /, **kwargs: Any) -> Any:
        return await self.fn(ctx, **kwargs)

    async def _handle(self, ctx: Any, /, **kwargs: Any) -> Any:
        """What the front controller runs: the function, then the worker's completion hook."""
        result = await self.fn(ctx, **kwargs)
        hook = BEFORE_COMMIT.get()
        if hook is not None:
            await hook(ctx)
        return result

    # -- arguments ------------------------------------------------------------------

    def validate_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check and convert arguments (lax: ``"7"`` -> ``7``); raise ValidationFailed."""
        if self.params_model is None:
            if args:
                raise ValidationFailed(
                    [{"loc": [k], "field": k, "msg": "unexpected argument", "type": "extra_forbidden"} for k in args],
                    f"{self.qualname} takes no arguments",
                )
            return {}
        try:
            return dict(self.params_model.model_validate(args).__dict__)
        except ValidationError as exc:
            raise ValidationFailed(field_errors(exc), f"bad arguments for {self.qualname}") from None

    def encode_args(self, args: dict[str, Any]) -> str:
        """Validate at enqueue time and encode as JSON (models, dates, enums included)."""
        values = self.validate_args(args)
        if self.params_model is None:
            return "{}"
        return self.params_model.model_validate(values).model_dump_json()

    def decode_args(self, raw: str | bytes | dict[str, Any]) -> dict[str, Any]:
        return self.validate_args(raw if isinstance(raw, dict) else orjson.loads(raw))

    # -- scheduling -----------------------------------------------------------------

    def retry_delay(self, attempt: int, *, jitter: float = JITTER) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        base = min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1))
        if jitter:
            base *= random.uniform(1 - jitter, 1 + jitter)
        return base

    def defer(
        self, *, run_at: datetime | None = None, delay: float | timedelta | None = None, queue: str | None = None
    ) -> TaskCall:
        """Options for one enqueue: ``await ctx.enqueue(task.defer(run_at=t), **kwargs)``."""
        if run_at is not None and delay is not None:
            raise TypeError("pass run_at or delay, not both")
        if delay is not None:
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            run_at = clock.now() + timedelta(seconds=seconds)
        if run_at is not None and run_at.tzinfo is None:
            raise TypeError("run_at must be timezone-aware (datetime.now(timezone.utc) + ...)")
        return TaskCall(self, run_at=run_at, queue=queue or self.queue)


@dataclass(frozen=True)
class TaskCall:
    """A task with per-enqueue options (what :meth:`Task.defer` returns)."""

    task: Task
    run_at: datetime | None = None
    queue: str = "default"


def resolve(target: Task | TaskCall | Any) -> TaskCall:
    """Accept a Task, a TaskCall, or a function decorated with ``@feature.task``."""
    if isinstance(target, TaskCall):
        return target
    if isinstance(target, Task):
        return TaskCall(target, None, target.queue)
    task = getattr(target, "task", None)
    if isinstance(task, Task):
        return TaskCall(task, None, task.queue)
    raise TypeError(f"{target!r} is not a task: declare it with @feature.task")


def _params_model(label: str, fn: TaskHandler) -> type[BaseModel] | None:
    hints = typing.get_type_hints(fn, include_extras=True)
    params = list(inspect.signature(fn).parameters.values())
    if not params:
        raise ConfigurationError(f"{label}: the first parameter must be the Context")
    fields: dict[str, Any] = {}
    for p in params[1:]:
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise ConfigurationError(f"{label}: *args/**kwargs are not supported in tasks")
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (hints.get(p.name, Any), default)
    if not fields:
        return None
    model: type[BaseModel] = create_model(
        f"{label.replace('.', '_')}_args", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model
