"""The built-in ``auth`` feature: login, logout, me, password change, API tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from ..context import Context
from ..errors import NotFound
from ..features import Feature
from ..roles import AUTHENTICATED, PUBLIC
from .models import ApiToken


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]


class LoginOut(BaseModel):
    user: Me
    csrf_token: str
    """Send it back as the X-CSRF-Token header on cookie-authenticated writes."""


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)
    revoke_tokens: bool = False
    """Also revoke every API token of the user (in every process within ``auth_epoch_interval`` seconds)."""


class TokenIn(BaseModel):
    name: str = Field(default="", max_length=200)


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    token: str | None = None
    """Only on creation: the token is not stored and cannot be shown again."""


def _me(ctx: Context) -> Me:
    p = ctx.principal
    return Me(id=p.user_id or 0, email=p.email, name=p.name, roles=sorted(p.roles))


def _start_session(ctx: Context, session_id: str, csrf: str) -> None:
    s = ctx.app.settings
    ctx.set_cookie(s.session_cookie, session_id, max_age=s.session_max_age)
    ctx.set_cookie(s.csrf_cookie, csrf, max_age=s.session_max_age, http_only=False)


def build_auth_feature() -> Feature:
    feature = Feature("auth", owner="hyperdeliver", summary="Log in, log out, API tokens")

    @feature.mutation("POST /auth/login", roles=PUBLIC, status=200)
    async def login(ctx: Context, data: LoginIn) -> LoginOut:
        """Log in with email and password; sets the session and CSRF cookies."""
        auth = ctx.app.auth
        user, session_id, csrf = await auth.login(
            ctx.db, data.email, data.password, ctx.client_ip, ctx.principal.session_id_hash
        )
        _start_session(ctx, session_id, csrf)
        roles = user.role_set
        return LoginOut(user=Me(id=user.id, email=user.email, name=user.name, roles=sorted(roles)), csrf_token=csrf)

    login.operation.opt["responses"] = {  # type: ignore[attr-defined]
        401: "Wrong email or password",
        429: "Too many login attempts for this account or from this address; Retry-After says when to try again",
    }

    @feature.mutation("POST /auth/logout", roles=AUTHENTICATED)
    async def logout(ctx: Context) -> None:
        """End this session."""
        await ctx.app.auth.logout(ctx.db, ctx.principal.session_id_hash)
        ctx.delete_cookie(ctx.app.settings.session_cookie)
        ctx.delete_cookie(ctx.app.settings.csrf_cookie)

    @feature.query("GET /auth/me", roles=AUTHENTICATED)
    async def me(ctx: Context) -> Me:
        """The logged-in user."""
        return _me(ctx)

    @feature.mutation("POST /auth/password", roles=AUTHENTICATED, status=200)
    async def change_password(ctx: Context, data: PasswordIn) -> LoginOut:
        """Change the password. Every session of the user ends; this one gets a new id."""
        assert ctx.principal.user_id is not None
        session_id, csrf = await ctx.app.auth.change_password(
            ctx.db, ctx.principal.user_id, data.current_password, data.new_password, revoke_tokens=data.revoke_tokens
        )
        _start_session(ctx, session_id, csrf)
        return LoginOut(user=_me(ctx), csrf_token=csrf)

    @feature.mutation("POST /auth/tokens", roles=AUTHENTICATED)
    async def create_api_token(ctx: Context, data: TokenIn) -> TokenOut:
        """Create an API token for ``Authorization: Bearer``. It is shown once."""
        assert ctx.principal.user_id is not None
        row, raw = await ctx.app.auth.create_token(ctx.db, ctx.principal.user_id, data.name)
        return TokenOut(id=row.id, name=row.name, created_at=row.created_at, token=raw)

    @feature.query("GET /auth/tokens", roles=AUTHENTICATED)
    async def api_tokens(ctx: Context) -> list[TokenOut]:
        """The caller's API tokens (without their secrets)."""
        rows = (
            await ctx.db.execute(
                select(ApiToken).where(ApiToken.user_id == ctx.principal.user_id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
            )
        ).scalars()
        return [TokenOut(id=r.id, name=r.name, created_at=r.created_at, last_used_at=r.last_used_at) for r in rows]

    @feature.mutation("DELETE /auth/tokens/{token_id}", roles=AUTHENTICATED)
    async def revoke_api_token(ctx: Context, token_id: int) -> None:
        """Revoke one of the caller's API tokens."""
        assert ctx.principal.user_id is not None
        if not await ctx.app.auth.revoke_token(ctx.db, ctx.principal.user_id, token_id):
            raise NotFound(f"no API token {token_id}")

    return feature
