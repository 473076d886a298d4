"""The declarative base shared by framework and app tables (one MetaData for Alembic)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from .. import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        # asyncpg and psycopg give timestamptz values with their zone: nothing to do per row.
        if dialect.name == "postgresql":
            return None
        # Elsewhere the driver's value (SQLite: the naive UTC text SQLAlchemy wrote) parsed
        # as UTC in one call: ``fromisoformat(text + "+00:00")`` costs a fraction of parsing
        # and then ``replace(tzinfo=utc)`` (about 0.2 against 1.5 µs on CPython 3.11).
        parse = self.impl_instance.result_processor(dialect, coltype)
        utc = timezone.utc
        fromisoformat = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value.__class__ is str:
                try:
                    return fromisoformat(value + "+00:00")
                except ValueError:  # text with a zone of its own
                    pass
            if value is None:
                return None
            if parse is not None:
                value = parse(value)
            return value.replace(tzinfo=utc) if value.tzinfo is None else value  # type: ignore[no-any-return]

        return process

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the framework's :mod:`~hyperdeliver.clock`)."""
    return clock.now()


class Model(DeclarativeBase):
    """Base class for app tables: ``class Task(Model): __tablename__ = "tasks"``."""

    metadata = metadata
