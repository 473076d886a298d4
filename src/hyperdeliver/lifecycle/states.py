"""A feature's lifecycle and flag, as the gate reads them, and the headers they produce.

Lifecycles, in the order a feature normally goes through them:

- ``experimental``: served; usually behind a flag
- ``active``: served (the default)
- ``deprecated``: served with ``Deprecation`` (RFC 9745), ``Sunset`` (RFC 8594) and
  ``Link: <url>; rel="sunset"`` headers
- ``removed``: refused with 410 Gone

Example:
    >>> from datetime import date, datetime, timezone
    >>> s = FeatureState("reports", "deprecated", sunset=date(2027, 3, 1),
    ...                  link="https://example.com/migrate", since=datetime(2026, 11, 1, tzinfo=timezone.utc))
    >>> for h in s.headers(): print(*h)
    Deprecation @1793491200
    Sunset Mon, 01 Mar 2027 00:00:00 GMT
    Link <https://example.com/migrate>; rel="sunset"
    >>> bucket("reports", 42) == bucket("reports", 42) and 0 <= bucket("reports", 42) < 100
    True
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from email.utils import format_datetime

from ..features import is_link

EXPERIMENTAL, ACTIVE, DEPRECATED, REMOVED = "experimental", "active", "deprecated", "removed"
LIFECYCLES = (EXPERIMENTAL, ACTIVE, DEPRECATED, REMOVED)
NEVER_GATED = frozenset({"auth"})
"""Features the gate never touches: without login nobody could fix a mistake."""


def check_lifecycle(value: str) -> str:
    """``value`` if it is a lifecycle, else ValueError naming the choices."""
    if value not in LIFECYCLES:
        raise ValueError(f"unknown lifecycle {value!r}: use one of {', '.join(LIFECYCLES)}")
    return value


def link_header(link: str | None) -> str | None:
    """The ``Link`` header value for a sunset link, None without one (or for a link
    stored before links were checked, which the header could not carry).

    >>> link_header("/docs/v2")
    '</docs/v2>; rel="sunset"'
    """
    return f'<{link}>; rel="sunset"' if link and is_link(link) else None


@lru_cache(maxsize=65536)
def bucket(feature: str, user_id: int | str) -> int:
    """The user's stable rollout bucket for a feature: ``sha256("feature:user_id") mod 100``.

    The same user lands in the same bucket on every replica and restart; raising a
    percentage only adds users, never swaps them.
    """
    return int.from_bytes(hashlib.sha256(f"{feature}:{user_id}".encode()).digest(), "big") % 100


def http_date(day: date) -> str:
    """An HTTP-date (RFC 9110) for midnight UTC of ``day``: ``Mon, 01 Mar 2027 00:00:00 GMT``."""
    return format_datetime(datetime.combine(day, time(0), timezone.utc), usegmt=True)


@dataclass(frozen=True, slots=True)
class Flag:
    """Who a feature is on for: nobody when not ``enabled``; else callers holding one of
    ``roles`` (every caller when empty) whose bucket is below ``percentage``.

    Example:
        >>> Flag(enabled=True, percentage=100, roles=frozenset({"admin"})).allows(7, frozenset({"admin"}))
        True
        >>> Flag(enabled=True, percentage=100, roles=frozenset({"admin"})).allows(7, frozenset({"member"}))
        False
        >>> Flag(enabled=False).allows(7, frozenset({"admin"}))
        False
    """

    enabled: bool = True
    percentage: int = 100
    roles: frozenset[str] = frozenset()

    def allows_bucket(self, b: int) -> bool:
        return b < self.percentage

    def allows(self, user_id: int | None, roles: frozenset[str], feature: str = "") -> bool:
        """Whether the flag is on for this caller. Anonymous callers only see a 100 % rollout."""
        if not self.enabled:
            return False
        if self.roles and not (self.roles & roles):
            return False
        if self.percentage >= 100:
            return True
        if user_id is None or self.percentage <= 0:
            return False
        return bucket(feature, user_id) < self.percentage

    def describe(self) -> str:
        """``"off"``, ``"on"``, ``"20% of admin, member"``…"""
        if not self.enabled:
            return "off"
        who = ", ".join(sorted(self.roles)) if self.roles else ""
        if self.percentage >= 100:
            return f"on for {who}" if who else "on"
        return f"{self.percentage}% of {who}" if who else f"{self.percentage}%"


@dataclass(frozen=True, slots=True)
class FeatureState:
    """A feature's effective lifecycle (stored row, else its declaration) and flag."""

    feature: str
    lifecycle: str = ACTIVE
    sunset: date | None = None
    link: str | None = None
    since: datetime | None = None
    flag: Flag | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    cached_headers: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False, compare=False)
    """:meth:`headers`, computed once (the gate adds them on every call)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "cached_headers", tuple(self.headers()))

    def headers(self) -> list[tuple[str, str]]:
        """The response headers of a deprecated feature (none otherwise)."""
        if self.lifecycle != DEPRECATED:
            return []
        out: list[tuple[str, str]] = []
        if self.since is not None:
            out.append(("Deprecation", f"@{int(self.since.timestamp())}"))
        if self.sunset is not None:
            out.append(("Sunset", http_date(self.sunset)))
        link = link_header(self.link)
        if link is not None:
            out.append(("Link", link))
        return out

    @property
    def trivial(self) -> bool:
        """True when the gate has nothing to do (served to everyone without headers)."""
        return self.lifecycle in (ACTIVE, EXPERIMENTAL) and self.flag is None
