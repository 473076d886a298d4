"""LifecycleStore: the lifecycle and flag of every feature, stored in the database and
held in memory so the gate costs a dict lookup.

The store loads at start-up, reloads after each of its own writes, and every
``settings.lifecycle_refresh_interval`` seconds (so a change made by another replica,
the CLI or the dashboard of another pod is seen within that time).

A feature's lifecycle comes from its row in ``hd_feature_states`` when there is one,
else from its declaration (``Feature(..., lifecycle="deprecated", sunset=..., link=...)``).
A declared non-active lifecycle is written once with ``updated_by="code"`` so the
``Deprecation`` date is stable across restarts and replicas; such rows follow later
changes of the declaration, while rows written by a person (CLI, dashboard) win.

Example:
    >>> store = LifecycleStore.__new__(LifecycleStore)  # doctest: +SKIP
    >>> await store.set_lifecycle("reports", "deprecated", sunset=date(2027, 3, 1))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..background import cancel
from ..db.greenlets import run_sync
from ..db.model import utcnow
from ..features import check_link
from .models import FeatureSeen, FeatureStateRow, FlagRow
from .states import ACTIVE, NEVER_GATED, FeatureState, Flag, check_lifecycle

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("hyperdeliver.lifecycle")
CODE = "code"
"""``updated_by`` of rows that mirror a feature's declaration."""


class LifecycleError(ValueError):
    """A bad lifecycle or flag change (unknown feature, bad value); the message is one line."""


def parse_date(value: str | date | None) -> date | None:
    """``"2027-03-01"`` -> ``date(2027, 3, 1)``; LifecycleError on anything else."""
    if value is None or isinstance(value, date):
        return value
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LifecycleError(f"bad date {value!r}: use YYYY-MM-DD") from None


def parse_roles(value: str | list[str] | frozenset[str] | set[str] | None) -> frozenset[str]:
    """``"admin,member"`` or ``"admin member"`` -> ``frozenset({"admin", "member"})``."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return frozenset(v.strip() for v in value if v.strip())


class LifecycleStore:
    """Reads and writes ``hd_feature_states`` / ``hd_flags``; holds the gate's snapshot."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.states: dict[str, FeatureState] = {}
        """Every feature's effective state (for listing)."""
        self.rules: dict[str, FeatureState] = {}
        """Only the states the gate acts on (deprecated, removed, flagged)."""
        self.loaded = False
        self.first_seen: dict[str, datetime] = {}
        """When each feature first ran (``hd_features_seen``): the sunset grace period starts there."""
        self.loaded_seen = False
        self.started = False
        """True once :meth:`start` (app start-up) or :meth:`start_late` ran."""
        self._task: asyncio.Task[None] | None = None
        self._compute({}, {})

    # -- reading ------------------------------------------------------------------

    def declared(self, name: str) -> FeatureState:
        f = self.app.features[name]
        return FeatureState(
            name,
            getattr(f, "lifecycle", ACTIVE) or ACTIVE,
            sunset=getattr(f, "sunset", None),
            link=getattr(f, "link", None),
        )

    def _compute(self, rows: dict[str, FeatureStateRow], flags: dict[str, FlagRow]) -> None:
        states: dict[str, FeatureState] = {}
        for name in self.app.features:
            row = rows.get(name)
            base = self.declared(name) if row is None else FeatureState(
                name, row.lifecycle, row.sunset, row.link, row.since, None, row.updated_at, row.updated_by
            )
            fr = flags.get(name)
            flag = Flag(fr.enabled, fr.percentage, parse_roles(fr.roles)) if fr is not None else None
            states[name] = FeatureState(
                name, base.lifecycle, base.sunset, base.link, base.since, flag, base.updated_at, base.updated_by
            )
        self.states = states
        # Swapped in one assignment: the gate never sees a half-built dict.
        self.rules = {n: s for n, s in states.items() if not s.trivial and n not in NEVER_GATED}

    async def load(self) -> None:
        """Read both tables (mirroring declared lifecycles first) and swap the snapshot."""
        async with self.app.database.session() as s:
            rows = {r.feature: r for r in (await s.execute(select(FeatureStateRow))).scalars()}
            if self._sync_declarations(s, rows):
                try:
                    await s.commit()
                except Exception:  # another replica wrote the same rows first
                    await s.rollback()
                    rows = {r.feature: r for r in (await s.execute(select(FeatureStateRow))).scalars()}
            flags = {r.feature: r for r in (await s.execute(select(FlagRow))).scalars()}
            self._compute(rows, flags)
        self.loaded = True
        await self._load_first_seen()

    async def refresh(self) -> None:
        """The periodic re-read (every ``lifecycle_refresh_interval`` seconds): both tables
        read in one hop on a connection of the reads pool (Core rows, no ORM session, no
        transaction), and the snapshot swapped. The full :meth:`load` runs instead before
        the first load, or when a declared lifecycle is not mirrored in the table."""
        if not self.loaded:
            await self.load()
            return
        rows, flags = await run_sync(self._read_tables)
        if any(_unmirrored(self.declared(name), rows.get(name)) for name in self.app.features):
            await self.load()
            return
        self._compute(rows, flags)
        await self._load_first_seen()

    def _read_tables(self) -> tuple[dict[str, Any], dict[str, Any]]:
        with self.app.database.reads_engine.sync_engine.connect() as conn:
            rows = {r.feature: r for r in conn.execute(select(FeatureStateRow.__table__))}
            flags = {r.feature: r for r in conn.execute(select(FlagRow.__table__))}
        return rows, flags

    async def _load_first_seen(self) -> None:
        """Read when each feature first ran, recording now for those never seen before
        (the first start-up with a new feature). A database without the table yet (not
        upgraded) leaves :attr:`first_seen` as it was: the gate's states are loaded anyway."""
        missing = [n for n in self.app.features if n not in self.first_seen]
        if not missing and self.loaded_seen:
            return
        try:
            async with self.app.database.session() as s:
                seen = {r.feature: r.first_seen_at for r in (await s.execute(select(FeatureSeen))).scalars()}
                new = [n for n in self.app.features if n not in seen]
                if new:
                    now = utcnow()
                    s.add_all(FeatureSeen(feature=n, first_seen_at=now) for n in new)
                    try:
                        await s.commit()
                        seen.update(dict.fromkeys(new, now))
                    except IntegrityError:  # another replica recorded them first
                        await s.rollback()
                        seen = {r.feature: r.first_seen_at for r in (await s.execute(select(FeatureSeen))).scalars()}
        except DBAPIError as exc:
            log.warning("hd_features_seen unreadable (%s); run 'hyper db upgrade'", str(exc).splitlines()[0])
            return
        self.first_seen = seen
        self.loaded_seen = True

    def _sync_declarations(self, s: Any, rows: dict[str, FeatureStateRow]) -> bool:
        changed = False
        now = utcnow()
        for name in self.app.features:
            d = self.declared(name)
            row = rows.get(name)
            if not _unmirrored(d, row):
                continue
            if row is None:
                row = FeatureStateRow(
                    feature=name, lifecycle=d.lifecycle, sunset=d.sunset, link=d.link, since=now, updated_at=now, updated_by=CODE
                )
                s.add(row)
                rows[name] = row
                changed = True
            else:
                if row.lifecycle != d.lifecycle:
                    row.since = now
                row.lifecycle, row.sunset, row.link, row.updated_at = d.lifecycle, d.sunset, d.link, now
                changed = True
        return changed

    def get(self, feature: str) -> FeatureState:
        """The effective state of ``feature``; LifecycleError for an unknown name."""
        self._check_feature(feature)
        return self.states[feature]

    def _check_feature(self, feature: str) -> None:
        if feature not in self.app.features:
            known = ", ".join(sorted(self.app.features))
            raise LifecycleError(f"unknown feature {feature!r}; this app has: {known}")
        if feature in NEVER_GATED:
            raise LifecycleError(f"the {feature!r} feature cannot be gated (nobody could log in to undo it)")

    # -- writing ------------------------------------------------------------------

    async def set_lifecycle(
        self,
        feature: str,
        lifecycle: str | None = None,
        *,
        sunset: str | date | None = None,
        link: str | None = None,
        by: str = "",
    ) -> FeatureState:
        """Store a lifecycle (and for ``deprecated`` its sunset date and link); returns the new state.

        ``None`` keeps the current value; ``sunset=""`` / ``link=""`` clear them.
        """
        self._check_feature(feature)
        if lifecycle is not None:
            try:
                check_lifecycle(lifecycle)
            except ValueError as exc:
                raise LifecycleError(str(exc)) from None
        new_sunset = parse_date(sunset)
        if link is not None and link.strip():
            try:
                check_link(link.strip())
            except ValueError as exc:
                raise LifecycleError(str(exc)) from None
        now = utcnow()
        async with self.app.database.session() as s:
            row = await s.get(FeatureStateRow, feature)
            if row is None:
                d = self.declared(feature)
                row = FeatureStateRow(feature=feature, lifecycle=d.lifecycle, sunset=d.sunset, link=d.link, since=now)
                s.add(row)
            if lifecycle is not None and lifecycle != row.lifecycle:
                row.lifecycle = lifecycle
                row.since = now
            if sunset is not None:
                row.sunset = new_sunset
            if link is not None:
                row.link = link.strip() or None
            row.updated_at, row.updated_by = now, by or "unknown"
            await s.commit()
        await self.load()
        return self.states[feature]

    async def set_flag(
        self,
        feature: str,
        *,
        enabled: bool = True,
        percentage: int = 100,
        roles: str | list[str] | frozenset[str] | set[str] | None = None,
        by: str = "",
    ) -> FeatureState:
        """Put ``feature`` behind a flag: on for ``percentage`` % of the callers holding
        one of ``roles`` (all callers when empty), or off for everyone."""
        self._check_feature(feature)
        if not 0 <= percentage <= 100:
            raise LifecycleError(f"bad percentage {percentage}: use 0 to 100")
        wanted = parse_roles(roles)
        unknown = self.app.role_hierarchy.unknown(wanted) if wanted else set()
        if unknown:
            raise LifecycleError(f"unknown roles {sorted(unknown)}; the app declares {sorted(self.app.role_hierarchy.names)}")
        now = utcnow()
        async with self.app.database.session() as s:
            row = await s.get(FlagRow, feature)
            if row is None:
                row = FlagRow(feature=feature)
                s.add(row)
            row.enabled, row.percentage, row.roles = enabled, percentage, " ".join(sorted(wanted))
            row.updated_at, row.updated_by = now, by or "unknown"
            await s.commit()
        await self.load()
        return self.states[feature]

    async def clear_flag(self, feature: str) -> FeatureState:
        """Remove the flag: the feature is on for everyone again."""
        self._check_feature(feature)
        async with self.app.database.session() as s:
            row = await s.get(FlagRow, feature)
            if row is not None:
                await s.delete(row)
                await s.commit()
        await self.load()
        return self.states[feature]

    # -- background refresh ---------------------------------------------------------

    def start(self, interval: float) -> None:
        self.started = True
        if interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh_loop(interval), name="hd-lifecycle-refresh")

    def start_late(self) -> None:
        """For processes that run calls without the app's start-up (``hyper worker``): load
        in the background now, then refresh; the calls until then see the declarations."""
        self.started = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        interval = float(getattr(self.app.settings, "lifecycle_refresh_interval", 5.0))
        self._task = loop.create_task(self._refresh_loop(interval, first=0.0), name="hd-lifecycle-refresh")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel(task)

    async def _refresh_loop(self, interval: float, first: float | None = None) -> None:
        delay = interval if first is None else first
        while True:
            await asyncio.sleep(delay)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: keep the last snapshot
                log.warning("lifecycle refresh failed (%s: %s); keeping the last known states", type(exc).__name__, exc)
            if interval <= 0:
                return
            delay = interval


def _unmirrored(declared: FeatureState, row: Any) -> bool:
    """Whether the table should mirror ``declared`` (a feature's lifecycle in code) and does
    not: no row for a lifecycle other than the default, or a row the code wrote that says
    something else now. A row an operator wrote (``updated_by`` not the code) stands."""
    if row is None:
        return not (declared.lifecycle == ACTIVE and declared.sunset is None and declared.link is None)
    return row.updated_by == CODE and (row.lifecycle, row.sunset, row.link) != (declared.lifecycle, declared.sunset, declared.link)
