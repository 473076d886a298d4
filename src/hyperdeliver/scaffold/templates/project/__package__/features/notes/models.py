"""The notes table, as an SQLAlchemy model.

After changing a model, ``./dev hyper db revision -m "what changed"`` writes the
migration (into ``migrations/``) and ``./dev hyper db upgrade`` applies it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hyperdeliver import Model, UTCDateTime, utcnow


class Note(Model):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # hd_users is hyperdeliver's table of users (hyperdeliver.auth.models.User).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("hd_users.id", ondelete="SET NULL"))
    # None until the count_words task has run.
    word_count: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
