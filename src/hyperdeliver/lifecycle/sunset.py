"""Sunset candidates: features that no longer earn their keep, each with its reasons,
a score and the users still calling it.

The rules (thresholds in :class:`SunsetRules`, all configurable):

- **low adoption**: fewer than 5 % of the active users used the feature over the last
  28 days, and its use is falling (trend below -10 %, or fewer weekly users in the
  last week than in the first)
- **unused**: no call for 14 days
- **deprecated but still used**: a deprecated feature that somebody called in the last
  14 days (they need to hear about the sunset before it happens)

During its first ``grace_days`` (14, ``HYPER_SUNSET_GRACE_DAYS``) after it first ran
(``hd_features_seen``, or its earliest recorded use if that is older) a feature is not
judged on its use (low adoption, unused): a feature added minutes ago has had no chance
to be used. Deprecated but still used applies all the same.

The rules read one row per feature from the usage queries
(:func:`hyperdeliver.usage.queries.feature_table`), so :func:`evaluate` is a pure
function over plain dicts and the same rows the dashboard shows.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    >>> rows = [{"feature": "export", "owner": "o@x.io", "users": 2, "adoption": 0.02, "calls": 40,
    ...          "trend": -0.5, "weekly_users": [5, 3, 2, 1], "last_used": now - timedelta(days=20)}]
    >>> [c] = evaluate(rows, {}, now=now)
    >>> c.feature, c.score, [r.rule for r in c.reasons]
    ('export', 80, ['low_adoption', 'unused'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .. import clock
from .states import DEPRECATED, NEVER_GATED, REMOVED, FeatureState

if TYPE_CHECKING:
    from ..app import App


@dataclass(frozen=True)
class SunsetRules:
    """The thresholds of the sunset rules (the defaults are the documented ones)."""

    window_days: int = 28
    """The period adoption and trend are measured over."""
    adoption_below: float = 0.05
    """Low adoption: feature users / active users below this share (0.05 = 5 %)."""
    falling_below: float = -0.10
    """Falling: the trend against the previous period below this (-0.10 = -10 %)."""
    idle_days: int = 14
    """Unused: no call for this many days."""
    still_used_days: int = 14
    """Deprecated but still used: a call within this many days; also the window of the users listed."""
    weights: Mapping[str, int] = field(default_factory=lambda: {"low_adoption": 40, "unused": 40, "deprecated_in_use": 30})
    """Score points per rule that fires (the score is capped at 100)."""
    grace_days: int = 14
    """A feature first seen fewer days ago than this is no candidate (``Settings.sunset_grace_days``)."""

    @classmethod
    def of(cls, app: App, **overrides: Any) -> SunsetRules:
        """The rules with the app's settings (its grace period)."""
        return cls(**({"grace_days": app.settings.sunset_grace_days} | overrides))

    def grace_until(self, first_seen: Any, now: datetime) -> date | None:
        """The last day of a feature's grace period when ``now`` is within it, else None."""
        seen = _as_datetime(first_seen)
        if seen is None or now - seen >= timedelta(days=self.grace_days):
            return None
        return (seen + timedelta(days=self.grace_days)).date()


@dataclass(frozen=True)
class Reason:
    rule: str
    """``low_adoption``, ``unused`` or ``deprecated_in_use``."""
    text: str
    """One sentence for people: ``adoption 2.0% of active users over 28 days, falling (-50%)``."""


@dataclass
class Candidate:
    """A feature the rules flag, with why, how strongly, and who still uses it."""

    feature: str
    owner: str
    lifecycle: str
    score: int
    reasons: list[Reason]
    users: list[dict[str, Any]] = field(default_factory=list)
    """``{user_id, email, calls, last_used}`` of the users who called it recently."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "owner": self.owner,
            "lifecycle": self.lifecycle,
            "score": self.score,
            "reasons": [{"rule": r.rule, "text": r.text} for r in self.reasons],
            "users": self.users,
        }


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return None


def _falling(row: Mapping[str, Any], rules: SunsetRules) -> tuple[bool, str]:
    """Falling: the users trend (recent half of the window against the half before) is
    below ``falling_below``; without a trend, fewer weekly users now than at first."""
    trend = row.get("trend")
    if isinstance(trend, (int, float)):
        if trend < rules.falling_below:
            return True, f"falling ({trend:+.0%} users against the period before)"
        return False, ""
    weekly: Sequence[Any] = row.get("weekly_users") or []
    counts = [w.get("users", 0) if isinstance(w, Mapping) else w for w in weekly]
    while counts and not counts[0]:  # weeks before the feature existed
        counts.pop(0)
    if len(counts) >= 2 and counts[-1] < counts[0]:
        return True, f"falling (weekly users {' → '.join(str(c) for c in counts)})"
    return False, ""


def evaluate(
    rows: Iterable[Mapping[str, Any]],
    states: Mapping[str, FeatureState],
    rules: SunsetRules | None = None,
    *,
    now: datetime | None = None,
    first_seen: Mapping[str, Any] | None = None,
) -> list[Candidate]:
    """The candidates among ``rows`` (feature_table rows), highest score first.

    Built-in features and removed ones are never candidates; one in its grace period
    (``first_seen``: when each feature first ran) only when deprecated but still used.
    """
    rules = rules or SunsetRules()
    now = now or clock.now()
    first_seen = first_seen or {}
    out: list[Candidate] = []
    for row in rows:
        name = row["feature"]
        state = states.get(name)
        lifecycle = state.lifecycle if state is not None else row.get("lifecycle", "active")
        if name in NEVER_GATED or lifecycle == REMOVED:
            continue
        seen = _as_datetime(first_seen.get(name))
        # A new feature is not judged on its use yet; a deprecated one still in use is.
        new = rules.grace_until(seen, now) is not None
        reasons: list[Reason] = []
        adoption = float(row.get("adoption") or 0.0)
        falling, how = _falling(row, rules)
        if not new and adoption < rules.adoption_below and falling:
            reasons.append(
                Reason("low_adoption", f"adoption {adoption:.1%} of active users over {rules.window_days} days, {how}")
            )
        last = _as_datetime(row.get("last_used"))
        idle = (now - last).days if last is not None else None
        if new:
            pass
        elif last is None and seen is not None and (now - seen).days < rules.window_days:
            reasons.append(Reason("unused", f"no calls since it appeared {(now - seen).days} days ago ({seen:%Y-%m-%d})"))
        elif last is None:
            reasons.append(Reason("unused", f"no calls in the last {rules.window_days} days"))
        elif idle is not None and idle >= rules.idle_days:
            reasons.append(Reason("unused", f"no calls for {idle} days (last {last:%Y-%m-%d})"))
        if lifecycle == DEPRECATED and idle is not None and idle < rules.still_used_days:
            users = int(row.get("users") or 0)
            sunset = f", sunset {state.sunset:%Y-%m-%d}" if state is not None and state.sunset else ""
            reasons.append(
                Reason("deprecated_in_use", f"deprecated{sunset} but still used: {users} users over {rules.window_days} days")
            )
        if reasons:
            score = min(100, sum(rules.weights.get(r.rule, 0) for r in reasons))
            out.append(Candidate(name, str(row.get("owner", "")), lifecycle, score, reasons))
    out.sort(key=lambda c: (-c.score, c.feature))
    return out


async def first_seen(app: App) -> dict[str, datetime]:
    """When each feature first ran: its ``hd_features_seen`` row, or its first recorded use
    when that is older (usage imported or recorded before the row existed)."""
    import sqlalchemy as sa

    from ..usage import tables as t

    store = app.lifecycle
    seen: dict[str, datetime] = dict(store.first_seen) if store is not None else {}
    d = t.daily
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(sa.select(d.c.feature, sa.func.min(d.c.day)).group_by(d.c.feature))).all()
    for feature, day in rows:
        used = _as_datetime(date.fromisoformat(day) if isinstance(day, str) else day)
        if used is not None and (feature not in seen or used < seen[feature]):
            seen[feature] = used
    return seen


async def sunset_candidates(app: App, rules: SunsetRules | None = None, *, with_users: bool = True) -> list[Candidate]:
    """The app's sunset candidates from its recorded usage, with the users still calling each."""
    from ..usage import queries

    rules = rules or SunsetRules.of(app)
    rows = await queries.feature_table(app, days=rules.window_days)
    store = app.lifecycle
    states = store.states if store is not None else {}
    found = evaluate(rows, states, rules, first_seen=await first_seen(app))
    if with_users:
        for c in found:
            c.users = list(await queries.feature_users(app, c.feature, days=rules.still_used_days))
    return found
