"""Framework tables for authentication: users, sessions, API tokens, the login throttle, the revocation epoch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db.model import Model, UTCDateTime, utcnow


class User(Model):
    __tablename__ = "hd_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(500), default="")
    """Space-separated role names."""
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(self.roles.split())


class Session(Model):
    """A login session. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "hd_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hd_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Model):
    """An API token ``hd_<selector>_<secret>``: the selector finds the row, the secret's
    SHA-256 is compared in constant time. The secret itself is never stored."""

    __tablename__ = "hd_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hd_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    selector: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAttempts(Model):
    """Login attempts counted per key (``pair:<email>|<ip>``, ``account:<email>``,
    ``ip:<ip>``) in a fixed window: one row per key, bumped by one atomic
    ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` *before* the password is hashed,
    so concurrent attempts cannot all slip under the limit."""

    __tablename__ = "hd_login_attempts"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float)
    """Seconds since the epoch when this key's window opened."""
    count: Mapped[int] = mapped_column(Integer)


class AuthEpoch(Model):
    """One row (id 1) whose ``epoch`` goes up on every revocation (API token, password
    change, deactivation); each process polls it and drops its token caches when it moves."""

    __tablename__ = "hd_auth_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
