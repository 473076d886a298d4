"""Users for tests: made with roles, logged in without a password, or given an API token.

Behind the ``make_user``, ``login_as`` and ``api_token`` fixtures. A login here starts a
real session (a row in ``hd_sessions``, the cookie and CSRF cookie set on the client, as
``POST /auth/login`` would) without the password round trip, like Django's
``client.force_login``; a token is a real API token (``hd_…``).

Passwords of the users made here are hashed with argon2id at its lowest cost
(:data:`FAST_HASHER`, set on the test app): the production parameters cost ~40 ms per
hash, and a permission matrix makes hundreds of users. Django's testing docs advise the
same.

Example (inside a test)::

    member = await login_as("member")          # a new user with the role, logged in
    r = await client.post("/projects/1/tasks", json={"title": "x"})
    token = await api_token("viewer")          # str: "hd_…", with .user and .headers
    r = await client.get("/workspaces", headers=token.headers)
"""

from __future__ import annotations

import itertools
import secrets
from typing import TYPE_CHECKING, Any

from ..auth.passwords import Argon2Hasher

if TYPE_CHECKING:
    import httpx

    from ..app import App
    from ..auth.models import User

FAST_HASHER = Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1)
"""argon2id at its lowest cost, for test apps only."""


def use_fast_hasher(app: App) -> None:
    """Hash the test app's passwords at argon2id's lowest cost (see the module doc)."""
    app.auth.hasher = FAST_HASHER
    app.auth._dummy_hash = None


class BearerToken(str):
    """An API token: the string itself, the user it belongs to and the header to send."""

    user: User

    def __new__(cls, token: str, user: User) -> BearerToken:
        self = super().__new__(cls, token)
        self.user = user
        return self

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer hd_…"}``."""
        return {"Authorization": f"Bearer {self}"}


class Users:
    """Makes and finds the users of one test's app."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._numbers = itertools.count(1)

    async def create(self, *roles: str, email: str | None = None, name: str = "", password: str | None = None) -> User:
        """A new user holding ``roles`` (none: a user without roles), committed.

        The email defaults to ``<roles>-<n>@example.test``; the password to a random one.
        An unknown role is refused with the app's roles named.
        """
        n = next(self._numbers)
        label = "-".join(sorted(roles)) or "user"
        email = email or f"{label}-{n}@example.test"
        async with self.app.database.session() as s:
            user = await self.app.auth.create_user(
                s, email, password or secrets.token_urlsafe(16), frozenset(roles), name or f"Test {label.title()} {n}"
            )
            await s.commit()
        return user

    async def resolve(self, who: Any = None, roles: tuple[str, ...] = ()) -> User:
        """The user ``who`` names: a role name (a new user with it and ``roles``), an email
        (that user, or a new one with ``roles``), a ``User`` row, a user id, or None (a new
        user with ``roles``, none by default)."""
        from sqlalchemy import select

        from ..auth.models import User

        if isinstance(who, User):
            return who
        if isinstance(who, int) and not isinstance(who, bool):
            async with self.app.database.session() as s:
                found = await s.get(User, who)
            if found is None:
                raise LookupError(f"no user {who}")
            return found
        if who is None:
            return await self.create(*roles)
        if not isinstance(who, str):
            raise TypeError(f"name a user by role, email, User or id, not {type(who).__name__}")
        if "@" in who:
            async with self.app.database.session() as s:
                found = (await s.execute(select(User).where(User.email == who.strip().lower()))).scalar_one_or_none()
            return found if found is not None else await self.create(*roles, email=who)
        return await self.create(who, *roles)

    async def log_in(self, client: httpx.AsyncClient, user: User) -> None:
        """Start a session for ``user`` and put its cookies on ``client`` (replacing any)."""
        async with self.app.database.session() as s:
            session_id, csrf = await self.app.auth.create_session(s, user.id)
            await s.commit()
        settings = self.app.settings
        host = client.base_url.host
        # The domain the cookie jar gives cookies the app sets, so that the app's own
        # Set-Cookie (logout, a new login) replaces these instead of adding a second pair.
        domain = host if "." in host else f"{host}.local"
        for name in (settings.session_cookie, settings.csrf_cookie):
            for cookie in [c for c in client.cookies.jar if c.name == name]:
                client.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
        client.cookies.set(settings.session_cookie, session_id, domain=domain)
        client.cookies.set(settings.csrf_cookie, csrf, domain=domain)

    async def token(self, user: User, name: str = "test") -> BearerToken:
        """A new API token of ``user``."""
        async with self.app.database.session() as s:
            _row, raw = await self.app.auth.create_token(s, user.id, name)
            await s.commit()
        return BearerToken(raw, user)
