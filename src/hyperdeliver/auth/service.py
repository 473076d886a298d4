"""The authentication service: sessions, API tokens, logins with a throttle, passwords.

One instance per app. Request-path work (``authenticate_token``) is a dict hit in the
common case: verified tokens are cached in the process for ``token_cache_ttl`` seconds.

Revocation reaches every process: a revoked token, a password change or a deactivation
bumps the one-row ``hd_auth_epoch`` in the same transaction, and each serving process
reads it every ``auth_epoch_interval`` seconds (a background task, nothing on the
request path), dropping its token caches when it moved. A revoked token therefore stops
working everywhere within ``auth_epoch_interval`` (2 s by default) plus one query.
Sessions are not cached: a deleted session ends at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import hmac
import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..background import cancel
from ..db.greenlets import run_sync
from ..db.model import utcnow
from ..errors import BadRequest, Conflict, TooManyRequests, Unauthorized
from .models import ApiToken, AuthEpoch, Session, User
from .passwords import Argon2Hasher, Hasher
from .principal import Principal
from .throttle import LoginThrottle

if TYPE_CHECKING:
    from ..db import Database
    from ..roles import RoleHierarchy
    from ..settings import Settings


log = logging.getLogger("hyperdeliver.auth")
_BUMP_EPOCH = text("UPDATE hd_auth_epoch SET epoch = epoch + 1 WHERE id = 1")
READ_EPOCH_SQL = "SELECT epoch FROM hd_auth_epoch WHERE id = 1"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class AuthService:
    def __init__(self, db: Database, roles: RoleHierarchy, settings: Settings, hasher: Hasher | None = None) -> None:
        self.db = db
        self.roles = roles
        self.settings = settings
        self.hasher: Hasher = hasher or Argon2Hasher()
        self._dummy_hash: str | None = None
        self.throttle = LoginThrottle(db, settings)
        self._logins = 0
        self._epoch: int | None = None
        self._watch: asyncio.Task[None] | None = None
        self._token_cache: dict[str, tuple[str, Principal, float]] = {}
        self.verified_headers: dict[bytes, tuple[Any, float]] = {}
        """``Authorization`` header value (secret included) -> (its answer, expiry on the
        monotonic clock), written by :meth:`remember_header`; the REST endpoint looks a
        request's header up here first. Cleared, never replaced. The key's hash is SipHash
        with this process's random key, so lookup times tell nothing about the secret."""

    @property
    def _dummy(self) -> str:
        """A hash to verify against when the email has no account (same cost as a real one)."""
        return self._dummy_hash or self.prepare()

    def prepare(self) -> str:
        """Make the dummy hash logins need, at the app's start-up rather than when the app
        is built (a CLI command or a test that builds an app may never log anyone in) or
        at the first login (which would pay two hashes)."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("hyperdeliver-dummy-password")
        return self._dummy_hash

    # -- principals ----------------------------------------------------------------

    def principal_for(self, user: User, via: str, **kw: str | None) -> Principal:
        roles = user.role_set
        return Principal(
            user_id=user.id,
            email=user.email,
            name=user.name,
            roles=roles,
            effective_roles=self.roles.expand(roles),
            via=via,
            **kw,  # type: ignore[arg-type]
        )

    async def authenticate_session(self, session_id: str) -> Principal | None:
        id_hash = sha256(session_id)
        async with self.db.session() as s:
            row = (
                await s.execute(
                    select(Session, User)
                    .join(User, User.id == Session.user_id)
                    .where(Session.id_hash == id_hash, Session.expires_at > utcnow(), User.is_active.is_(True))
                )
            ).first()
        if row is None:
            return None
        sess, user = row
        return self.principal_for(user, "session", session_id_hash=id_hash, csrf_token=sess.csrf_token)

    def cached_token(self, token: str) -> Principal | bool:
        """A cache hit without a coroutine: the principal, False for a token that cannot
        be valid, or True when only :meth:`authenticate_token` can tell (a miss)."""
        selector, _, secret = token.removeprefix("hd_").partition("_")
        if not selector or not secret:
            return False
        hit = self._token_cache.get(selector)
        if hit is not None and hit[2] > time.monotonic():
            # The cache holds the verified secret itself (in memory only, never stored),
            # so a hit costs one constant-time comparison and no hashing.
            return hit[1] if hmac.compare_digest(hit[0], secret) else False
        return True

    async def authenticate_token(self, token: str) -> Principal | None:
        found = self.cached_token(token)
        if found is not True:
            return found or None
        selector, _, secret = token.removeprefix("hd_").partition("_")
        secret_hash = sha256(secret)
        async with self.db.session() as s:
            row = (
                await s.execute(
                    select(ApiToken, User)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.selector == selector, ApiToken.revoked_at.is_(None), User.is_active.is_(True))
                )
            ).first()
            if row is None or not hmac.compare_digest(row[0].secret_hash, secret_hash):
                return None
            await s.execute(update(ApiToken).where(ApiToken.id == row[0].id).values(last_used_at=utcnow()))
            await s.commit()
        principal = self.principal_for(row[1], "token")
        self._token_cache[selector] = (secret, principal, time.monotonic() + self.settings.token_cache_ttl)
        if len(self._token_cache) > 10_000:
            self._token_cache.clear()
        return principal

    def remember_header(self, authorization: bytes, answer: Any) -> None:
        """Cache a verified header's answer for ``token_cache_ttl`` seconds."""
        if len(self.verified_headers) >= 10_000:
            self.verified_headers.clear()
        self.verified_headers[authorization] = (answer, time.monotonic() + self.settings.token_cache_ttl)

    def forget_tokens(self) -> None:
        """Drop the in-process token caches (after a revocation or a role change)."""
        self._token_cache.clear()
        self.verified_headers.clear()

    # -- revocations seen by every process -----------------------------------------

    async def bump_epoch(self, s: AsyncSession) -> None:
        """Tell every process to drop its token caches (in ``s``'s transaction: only if it commits)."""
        await s.execute(_BUMP_EPOCH)
        self.forget_tokens()

    async def check_epoch(self) -> bool:
        """Read the revocation epoch; drop the caches if it moved. True when it did."""
        epoch = await run_sync(self._read_epoch)
        moved = self._epoch is not None and epoch != self._epoch
        self._epoch = epoch
        if moved:
            self.forget_tokens()
        return moved

    def _read_epoch(self) -> Any:
        """The epoch, read in one hop on a connection of the reads pool (autocommit: no
        BEGIN and ROLLBACK around the one statement, no ORM session for one value)."""
        with self.db.reads_engine.sync_engine.connect() as conn:
            return conn.exec_driver_sql(READ_EPOCH_SQL).scalar_one_or_none()

    def start_watching(self) -> None:
        """Poll the epoch every ``auth_epoch_interval`` seconds until :meth:`stop_watching`."""
        if self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(self._watch_epoch(), name="hyperdeliver-auth-epoch")

    async def stop_watching(self) -> None:
        task, self._watch = self._watch, None
        await cancel(task)

    async def _watch_epoch(self) -> None:
        while True:
            try:
                await self.check_epoch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  (database down or not migrated: the caches expire anyway)
                log.debug("revocation epoch not read: %s", exc)
                # Unknown state: drop what is cached rather than trust it past a revocation.
                self.forget_tokens()
            await asyncio.sleep(self.settings.auth_epoch_interval)

    # -- users ---------------------------------------------------------------------

    async def create_user(
        self, s: AsyncSession, email: str, password: str, roles: set[str] | frozenset[str] = frozenset(), name: str = ""
    ) -> User:
        email = email.strip().lower()
        if "@" not in email:
            raise BadRequest(f"{email!r} is not an email address")
        if len(password) < 8:
            raise BadRequest("a password needs at least 8 characters")
        unknown = {r for r in roles if r not in self.roles.names}
        if unknown:
            raise BadRequest(f"unknown roles {sorted(unknown)}; the app declares {sorted(self.roles.names)}")
        if (await s.execute(select(User.id).where(User.email == email))).first():
            raise Conflict(f"a user with email {email} already exists")
        user = User(email=email, name=name, password_hash=self.hasher.hash(password), roles=" ".join(sorted(roles)))
        s.add(user)
        await s.flush()
        return user

    # -- login / logout ------------------------------------------------------------

    async def login(self, s: AsyncSession, email: str, password: str, ip: str, old_session_hash: str | None) -> tuple[User, str, str]:
        """Check credentials; return (user, new session id, csrf token). Raises 401/429.

        The attempt is counted (and committed) before the password is hashed: see
        :mod:`~hyperdeliver.auth.throttle`."""
        email = email.strip().lower()
        self._logins += 1
        if self._logins % 256 == 0:
            await self.throttle.prune()
        if not await self.throttle.attempt(email, ip):
            raise TooManyRequests(
                "too many failed logins; try again later", headers={"Retry-After": str(self.settings.login_window)}
            )
        user = (await s.execute(select(User).where(User.email == email))).scalar_one_or_none()
        # Exactly one hash per attempt, whether or not the user exists, so timing does
        # not tell which emails have accounts.
        ok = self.hasher.verify(user.password_hash if user else self._dummy, password)
        if user is None or not ok or not user.is_active:
            raise Unauthorized("wrong email or password")
        if self.hasher.needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
        await self.throttle.succeeded(email, ip)
        if old_session_hash:
            await s.execute(delete(Session).where(Session.id_hash == old_session_hash))
        session_id, csrf = await self._new_session(s, user.id)
        return user, session_id, csrf

    async def create_session(self, s: AsyncSession, user_id: int) -> tuple[str, str]:
        """Start a session for a user without a password (the testing kit's ``login_as``,
        an admin's "log in as"); returns (session id for the cookie, CSRF token)."""
        return await self._new_session(s, user_id)

    async def _new_session(self, s: AsyncSession, user_id: int) -> tuple[str, str]:
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        s.add(
            Session(
                id_hash=sha256(session_id),
                user_id=user_id,
                csrf_token=csrf,
                expires_at=utcnow() + timedelta(seconds=self.settings.session_max_age),
            )
        )
        await s.flush()
        return session_id, csrf

    async def logout(self, s: AsyncSession, session_hash: str | None) -> None:
        if session_hash:
            await s.execute(delete(Session).where(Session.id_hash == session_hash))

    async def change_password(
        self, s: AsyncSession, user_id: int, old: str, new: str, *, revoke_tokens: bool = False
    ) -> tuple[str, str]:
        """Change the password; every session of the user ends (and, if asked, every API
        token is revoked, in every process within ``auth_epoch_interval``); a fresh session is returned."""
        user = (await s.execute(select(User).where(User.id == user_id))).scalar_one()
        if not self.hasher.verify(user.password_hash, old):
            raise Unauthorized("the current password is wrong")
        if len(new) < 8:
            raise BadRequest("a password needs at least 8 characters")
        user.password_hash = self.hasher.hash(new)
        user.password_changed_at = utcnow()
        await s.execute(delete(Session).where(Session.user_id == user_id))
        if revoke_tokens:
            await s.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
        await self.bump_epoch(s)
        return await self._new_session(s, user_id)

    async def set_password(self, s: AsyncSession, user_id: int, new: str) -> None:
        user = (await s.execute(select(User).where(User.id == user_id))).scalar_one()
        user.password_hash = self.hasher.hash(new)
        user.password_changed_at = utcnow()
        await s.execute(delete(Session).where(Session.user_id == user_id))
        await self.bump_epoch(s)

    # -- API tokens ----------------------------------------------------------------

    async def create_token(self, s: AsyncSession, user_id: int, name: str = "") -> tuple[ApiToken, str]:
        selector = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        row = ApiToken(user_id=user_id, name=name, selector=selector, secret_hash=sha256(secret))
        s.add(row)
        await s.flush()
        return row, f"hd_{selector}_{secret}"

    async def revoke_token(self, s: AsyncSession, user_id: int, token_id: int) -> bool:
        res = await s.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        if res.rowcount:  # type: ignore[attr-defined]
            await self.bump_epoch(s)
        return bool(res.rowcount)  # type: ignore[attr-defined]
