"""The login throttle: attempts counted atomically, before any password is hashed.

Each attempt bumps three counters in one statement each, in their own committed
transaction: the (account, IP) pair, the account from every IP, and the IP against
every account. ``INSERT ... ON CONFLICT (key) DO UPDATE ... RETURNING count`` is one
atomic step on SQLite and PostgreSQL alike, so 40 concurrent guesses see 1, 2, ... 40,
and only the first ``login_max_failures`` reach the (deliberately slow) hash.

A counter's window opens with its first attempt and lasts ``login_window`` seconds; a
successful login clears the pair and gives its attempt back to the account and the IP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from .. import clock

if TYPE_CHECKING:
    from ..db import Database
    from ..settings import Settings

_BUMP = text(
    "INSERT INTO hd_login_attempts (key, window_start, count) VALUES (:key, :now, 1) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN hd_login_attempts.window_start > :since THEN hd_login_attempts.count + 1 ELSE 1 END, "
    "window_start = CASE WHEN hd_login_attempts.window_start > :since THEN hd_login_attempts.window_start ELSE :now END "
    "RETURNING count"
)
_REFUND = text("UPDATE hd_login_attempts SET count = count - 1 WHERE key = :key AND count > 0")
_CLEAR = text("DELETE FROM hd_login_attempts WHERE key = :key")
_EXPIRED = text("DELETE FROM hd_login_attempts WHERE window_start <= :since")


def keys(email: str, ip: str) -> tuple[str, str, str]:
    """The pair, account and IP counters of one attempt.

    >>> keys("ann@t.dev", "10.0.0.1")
    ('pair:ann@t.dev|10.0.0.1', 'account:ann@t.dev', 'ip:10.0.0.1')
    """
    return f"pair:{email}|{ip}", f"account:{email}", f"ip:{ip}"


class LoginThrottle:
    """Counts login attempts in the database (shared by every process and replica)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def limits(self) -> tuple[int, int, int]:
        s = self.settings
        return s.login_max_failures, s.login_max_failures_per_account, s.login_max_failures_per_ip

    async def attempt(self, email: str, ip: str) -> bool:
        """Count one attempt; False when any of its counters is over its limit (refuse
        without hashing). Committed at once, so a concurrent attempt sees it."""
        now = clock.time()
        since = now - self.settings.login_window
        allowed = True
        async with self.db.session() as s:
            for key, limit in zip(keys(email, ip), self.limits()):
                count = (await s.execute(_BUMP, {"key": key, "now": now, "since": since})).scalar_one()
                if count > limit:
                    allowed = False
            await s.commit()
        return allowed

    async def succeeded(self, email: str, ip: str) -> None:
        """A good password: the pair starts afresh; the account and IP get the attempt back."""
        pair, account, by_ip = keys(email, ip)
        async with self.db.session() as s:
            await s.execute(_CLEAR, {"key": pair})
            await s.execute(_REFUND, {"key": account})
            await s.execute(_REFUND, {"key": by_ip})
            await s.commit()

    async def prune(self) -> int:
        """Delete the counters whose window has closed; returns how many."""
        since = clock.time() - self.settings.login_window
        async with self.db.session() as s:
            res = await s.execute(_EXPIRED, {"since": since})
            await s.commit()
        return int(res.rowcount or 0)  # type: ignore[attr-defined]
