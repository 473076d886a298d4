"""The lifecycle tables: ``hd_feature_states`` (one row per feature whose lifecycle was
set), ``hd_flags`` (one row per feature behind a flag) and ``hd_features_seen`` (when each
feature first ran).

The migrations ``hd_lifecycle_0001`` and ``hd_lifecycle_0002`` create the same tables. A feature with no row in
``hd_feature_states`` has the lifecycle its :class:`~hyperdeliver.Feature` declares; a
feature with no row in ``hd_flags`` is on for everyone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db.model import Model, UTCDateTime, utcnow


class FeatureStateRow(Model):
    """A feature's lifecycle as stored. ``since`` is when ``lifecycle`` took its value
    (the ``Deprecation`` date of a deprecated feature)."""

    __tablename__ = "hd_feature_states"

    feature: Mapped[str] = mapped_column(String(100), primary_key=True)
    lifecycle: Mapped[str] = mapped_column(String(20))
    sunset: Mapped[date | None] = mapped_column(Date, nullable=True)
    link: Mapped[str | None] = mapped_column(String(500), nullable=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class FlagRow(Model):
    """A feature flag: ``enabled``, a ``percentage`` of users (by a stable hash), and the
    ``roles`` (space-separated; empty: every role) it targets."""

    __tablename__ = "hd_flags"

    feature: Mapped[str] = mapped_column(String(100), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    percentage: Mapped[int] = mapped_column(Integer, default=100)
    roles: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class FeatureSeen(Model):
    """When a running app first had each feature: the sunset rules give a new feature a
    grace period (``sunset_grace_days``) from then, before no calls count against it."""

    __tablename__ = "hd_features_seen"

    feature: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
