"""Deployment records: what a deploy of a version to an environment was, as plain data.

A deployment has a status, one of :data:`STATUSES`:

- ``started``: the deploy is under way (``hyper release record --status started``)
- ``succeeded``: the new version serves
- ``failed``: the deploy did not complete (a migration Job or the rollout failed)
- ``rolled_back``: it was deployed, then undone by a rollback deployment

A rollback is itself a deployment (``rollback=True``) of an earlier version; when it
succeeds, the deployment it undid becomes ``rolled_back``. The same id recorded again
updates the record, so a CD pipeline records ``started`` and later ``succeeded`` or
``failed`` under one id.

Example:
    >>> c = parse_commit("3f2c1ab@2026-12-01T10:00:00Z")
    >>> c.sha, c.committed_at.isoformat()
    ('3f2c1ab', '2026-12-01T10:00:00+00:00')
    >>> parse_commit("nope")
    Traceback (most recent call last):
    ...
    ValueError: bad --commit 'nope': use SHA@TIME, e.g. 3f2c1ab@2026-12-01T10:00:00Z
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

STATUSES = ("started", "succeeded", "failed", "rolled_back")
"""Every status a deployment can have."""
FINISHED = frozenset({"succeeded", "failed", "rolled_back"})
"""The statuses that end a deployment (it gets a finish time)."""
FAILED = frozenset({"failed", "rolled_back"})
"""The statuses that count as a failed change."""
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/@-]{0,63}")
"""Versions, environments and ids: 1 to 64 visible characters, no spaces."""
SHA = re.compile(r"[0-9a-fA-F]{4,64}")


@dataclass(frozen=True)
class Commit:
    """One commit a deployment shipped."""

    sha: str
    committed_at: datetime
    author: str = ""
    files: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    """The features whose folders ``files`` touch."""

    def as_dict(self) -> dict[str, Any]:
        return {"sha": self.sha, "committed_at": self.committed_at, "author": self.author,
                "files": list(self.files), "features": list(self.features)}


@dataclass(frozen=True)
class Deployment:
    """One deploy (or rollback) of ``version`` to ``environment``."""

    id: str
    version: str
    environment: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    sha: str = ""
    rollback: bool = False
    previous_id: str | None = None
    features: tuple[str, ...] = ()
    """The features the commits touched (or given explicitly)."""
    commits: tuple[Commit, ...] = field(default=())

    @property
    def ended_at(self) -> datetime:
        """When it finished, or when it started for one still under way."""
        return self.finished_at or self.started_at

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "version": self.version, "sha": self.sha, "environment": self.environment,
            "status": self.status, "rollback": self.rollback, "started_at": self.started_at,
            "finished_at": self.finished_at, "previous_id": self.previous_id,
            "features": list(self.features), "commits": [c.as_dict() for c in self.commits],
        }


def parse_time(value: str, what: str = "time") -> datetime:
    """An ISO 8601 time (``Z`` allowed) or a Unix timestamp, as aware UTC."""
    text = (value or "").strip()
    try:
        if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), timezone.utc)
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"bad {what} {value!r}: use ISO 8601 like 2026-12-01T10:00:00Z") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def parse_commit(value: str) -> Commit:
    """``SHA@TIME`` (``--commit``) → :class:`Commit`."""
    sha, sep, when = (value or "").partition("@")
    if not sep or not SHA.fullmatch(sha.strip()):
        raise ValueError(f"bad --commit {value!r}: use SHA@TIME, e.g. 3f2c1ab@2026-12-01T10:00:00Z")
    try:
        at = parse_time(when)
    except ValueError:
        raise ValueError(f"bad --commit {value!r}: the time after @ must be ISO 8601 like 2026-12-01T10:00:00Z") from None
    return Commit(sha=sha.strip().lower(), committed_at=at)


def check_name(value: str, what: str) -> str:
    """``value`` stripped, or ValueError naming ``what`` when it is not 1 to 64 visible characters."""
    text = (value or "").strip()
    if not NAME.fullmatch(text):
        raise ValueError(f"bad {what} {value!r}: 1 to 64 letters, digits or ._:+/@- (no spaces)")
    return text


def check_status(value: str) -> str:
    text = (value or "").strip().lower().replace("-", "_")
    if text not in STATUSES:
        raise ValueError(f"bad status {value!r}: use {', '.join(STATUSES)}")
    return text


def check_sha(value: str) -> str:
    text = (value or "").strip().lower()
    if text and not SHA.fullmatch(text):
        raise ValueError(f"bad sha {value!r}: 4 to 64 hex digits")
    return text


def default_id(environment: str, version: str) -> str:
    """The id of a deployment recorded without one: ``<environment>-<version>``."""
    return f"{environment}-{version}"[:100]
