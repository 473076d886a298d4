"""Context: what a handler receives. ``ctx.db`` is this call's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from .auth.principal import NO_COOKIES, Principal

if TYPE_CHECKING:
    from .app import App
    from .operations import Operation
    from .scopes import ScopeAccess


class Context:
    """Per-call state: the caller, the unit of work, response extras.

    The database session is opened on first use of :attr:`db`, and committed or rolled
    back by the front controller when the handler returns or raises.
    """

    __slots__ = (
        "app",
        "request_id",
        "principal",
        "interface",
        "operation",
        "client_ip",
        "_session",
        "response_headers",
        "cookies",
        "set_cookies",
        "status",
        "after_commit",
        "events",
        "auth_error",
        "csrf_error",
        "scope",
        "_scope_cache",
    )

    def __init__(
        self,
        app: App,
        request_id: str,
        principal: Principal,
        interface: str,
        operation: Operation | None = None,
        client_ip: str = "",
        cookies: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.request_id = request_id
        self.principal = principal
        self.interface = interface
        self.operation = operation
        self.client_ip = client_ip
        self.cookies: Mapping[str, str] = cookies if cookies is not None else NO_COOKIES
        self._session: AsyncSession | None = None
        # Empty tuples until something is added: most calls add nothing, and a call
        # should not pay for four lists it never uses.
        self.response_headers: Sequence[tuple[str, str]] = ()
        self.set_cookies: Sequence[str] = ()
        self.status: int | None = None
        self.after_commit: Sequence[Callable[[], Any]] = ()
        self.events: Sequence[tuple[str, dict[str, Any]]] = ()
        self.auth_error: str | None = None
        self.csrf_error: str | None = None
        self.scope: ScopeAccess | None = None
        """A scoped call's scope: its name, id and the caller's roles there (None: not scoped)."""
        self._scope_cache: dict[Any, Any] | None = None

    @property
    def user(self) -> Principal:
        """The caller (``ctx.user.user_id`` is None when anonymous)."""
        return self.principal

    @property
    def db(self) -> AsyncSession:
        """This call's SQLAlchemy AsyncSession; one transaction, committed by the controller."""
        if self._session is None:
            self._session = self.app.database.session()
        return self._session

    @property
    def scope_cache(self) -> dict[Any, Any]:
        """The caller's scoped roles loaded so far in this request (shared by a GraphQL request's fields)."""
        if self._scope_cache is None:
            self._scope_cache = {}
        return self._scope_cache

    @property
    def settings(self) -> Any:
        return self.app.settings

    def set_header(self, name: str, value: str) -> None:
        """Add a response header (sent with errors too)."""
        self.add_headers([(name, value)])

    def add_headers(self, headers: Iterable[tuple[str, str]]) -> None:
        self.response_headers = [*self.response_headers, *headers]

    def on_commit(self, fn: Callable[[], Any]) -> None:
        """Call ``fn`` once this call's transaction has committed (not at all on a rollback)."""
        self.after_commit = [*self.after_commit, fn]

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        http_only: bool = True,
        same_site: str = "lax",
        path: str = "/",
    ) -> None:
        parts = [f"{name}={value}", f"Path={path}", f"SameSite={same_site}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if http_only:
            parts.append("HttpOnly")
        if self.app.settings.cookies_secure:
            parts.append("Secure")
        self.set_cookies = [*self.set_cookies, "; ".join(parts)]

    def delete_cookie(self, name: str, path: str = "/") -> None:
        secure = "; Secure" if self.app.settings.cookies_secure else ""
        self.set_cookies = [*self.set_cookies, f"{name}=; Path={path}; Max-Age=0; SameSite=lax{secure}"]

    def track(self, event: str, **props: Any) -> None:
        """Record a product event (recorded after the call's transaction commits)."""
        self.events = [*self.events, (event, props)]

    async def enqueue(self, task: Any, /, **kwargs: Any) -> Any:
        """Enqueue a background job in this call's transaction (nothing if it rolls back)."""
        return await self.app.jobs.enqueue(self, task, **kwargs)
