"""Who is calling: a user with roles, or nobody."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. ``via`` is ``"session"``, ``"token"``, ``"job"`` or ``"anonymous"``."""

    user_id: int | None
    email: str = ""
    name: str = ""
    roles: frozenset[str] = frozenset()
    effective_roles: frozenset[str] = frozenset()
    via: str = "anonymous"
    session_id_hash: str | None = None
    csrf_token: str | None = field(default=None, repr=False)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def has_role(self, role: str) -> bool:
        return role in self.effective_roles


ANONYMOUS = Principal(user_id=None)
NO_COOKIES: Mapping[str, str] = MappingProxyType({})
"""The cookies of a request that sent none (shared, read-only)."""
