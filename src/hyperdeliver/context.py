"""Context: what a handler receives. ``ctx.db`` is this call's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from .auth.principal import Principal

if TYPE_CHECKING:
    from .app import App
    from .operations import Operation


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
    )

    def __init__(
        self,
        app: App,
        request_id: str,
        principal: Principal,
        interface: str,
        operation: Operation | None = None,
        client_ip: str = "",
        cookies: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.request_id = request_id
        self.principal = principal
        self.interface = interface
        self.operation = operation
        self.client_ip = client_ip
        self.cookies = cookies or {}
        self._session: AsyncSession | None = None
        self.response_headers: list[tuple[str, str]] = []
        self.set_cookies: list[str] = []
        self.status: int | None = None
        self.after_commit: list[Any] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.auth_error: str | None = None
        self.csrf_error: str | None = None

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
    def settings(self) -> Any:
        return self.app.settings

    def set_header(self, name: str, value: str) -> None:
        self.response_headers.append((name, value))

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
        if self.app.settings.secure_cookies:
            parts.append("Secure")
        self.set_cookies.append("; ".join(parts))

    def delete_cookie(self, name: str, path: str = "/") -> None:
        self.set_cookies.append(f"{name}=; Path={path}; Max-Age=0; SameSite=lax")

    def track(self, event: str, **props: Any) -> None:
        """Record a product event (recorded after the call's transaction commits)."""
        self.events.append((event, props))

    async def enqueue(self, task: Any, /, **kwargs: Any) -> Any:
        """Enqueue a background job in this call's transaction (nothing if it rolls back)."""
        return await self.app.jobs.enqueue(self, task, **kwargs)
