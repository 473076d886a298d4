"""Role declarations and the role hierarchy. Roles are data on an operation; the check
lives in one place (:meth:`RoleHierarchy.allows`) that every adapter calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import ConfigurationError

PUBLIC = "public"
"""Anyone may call the operation, logged in or not. Must be said explicitly."""
AUTHENTICATED = "authenticated"
"""Any logged-in user may call the operation, whatever their roles."""

_SPECIAL = {PUBLIC, AUTHENTICATED}


def normalize_roles(roles: str | Iterable[str] | None) -> frozenset[str] | None:
    """Accept ``"admin"``, ``{"a", "b"}`` or ``PUBLIC``; None stays None (undeclared)."""
    if roles is None:
        return None
    if isinstance(roles, str):
        return frozenset({roles})
    out = frozenset(roles)
    if not out:
        raise ConfigurationError("roles=set() allows nobody; say roles=PUBLIC for a public operation")
    if PUBLIC in out and len(out) > 1:
        raise ConfigurationError("roles=PUBLIC cannot be combined with other roles")
    return out


def requirement(required: frozenset[str]) -> frozenset[str] | None:
    """What a caller of an operation declaring ``required`` must hold: None for anyone
    (``PUBLIC``), an empty set for any logged-in user (``AUTHENTICATED``), else the roles
    one of which is enough (compared with the caller's effective roles).

    >>> requirement(frozenset({PUBLIC})), requirement(frozenset({AUTHENTICATED})), sorted(requirement(frozenset({"a", "b"})))
    (None, frozenset(), ['a', 'b'])
    """
    if PUBLIC in required:
        return None
    if AUTHENTICATED in required:
        return frozenset()
    return required


class RoleHierarchy:
    """Which roles include which.

    Given as a list from lowest to highest (each role includes all below it), or as a
    mapping ``role -> roles it includes``.

    Example:
        >>> h = RoleHierarchy(["viewer", "member", "admin"])
        >>> sorted(h.expand({"member"}))
        ['member', 'viewer']
        >>> h.allows(h.expand({"admin"}), frozenset({"viewer"}))  # effective roles: expanded first
        True
        >>> h.allows(frozenset({"admin"}), frozenset({"viewer"}))  # not expanded: admin alone is not viewer
        False
    """

    def __init__(self, roles: Iterable[str] | Mapping[str, Iterable[str]] = ()) -> None:
        if isinstance(roles, Mapping):
            includes = {r: set(inc) for r, inc in roles.items()}
        else:
            ordered = list(roles)
            includes = {r: set(ordered[:i]) for i, r in enumerate(ordered)}
        for inc in list(includes.values()):
            for r in inc:
                includes.setdefault(r, set())
        self.includes = includes
        self._closure: dict[str, frozenset[str]] = {r: self._close(r) for r in includes}
        self._cache: dict[frozenset[str], frozenset[str]] = {}

    def _close(self, role: str) -> frozenset[str]:
        seen: set[str] = set()
        stack = [role]
        while stack:
            r = stack.pop()
            if r in seen:
                continue
            seen.add(r)
            stack.extend(self.includes.get(r, ()))
        return frozenset(seen)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.includes)

    def expand(self, roles: Iterable[str]) -> frozenset[str]:
        """All roles a user holding ``roles`` effectively has."""
        key = frozenset(roles)
        hit = self._cache.get(key)
        if hit is None:
            out: set[str] = set()
            for r in key:
                out |= self._closure.get(r, {r})
            hit = self._cache[key] = frozenset(out)
        return hit

    def allows(self, effective: frozenset[str], required: frozenset[str]) -> bool:
        """True when a user with these effective roles may call an op requiring ``required``."""
        need = requirement(required)
        return need is None or not need or not effective.isdisjoint(need)

    def unknown(self, required: frozenset[str]) -> set[str]:
        return {r for r in required if r not in _SPECIAL and r not in self.includes}
