"""The queue's tables: ``hd_jobs`` (one row per job) and ``hd_cron_ticks`` (one row per
schedule time that was enqueued, so replicas never double-run a cron).

The migration ``hd_jobs_0001`` creates the same tables; these models are what the CLI
and tests read. The worker's hot path runs hand-written SQL (``jobs/sql.py``).

A job's ``status``:

- ``queued``: waiting for ``run_at``
- ``running``: claimed by the worker named in ``locked_by``, which heartbeats it
- ``done``: the task returned (final)
- ``failed``: an attempt failed; the next one is due at ``run_at``
- ``dead``: out of attempts (final; ``hyper jobs retry ID`` queues it again)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..db.model import Model, UTCDateTime, utcnow

STATUSES = ("queued", "running", "done", "failed", "dead")
FINAL = ("done", "dead")
READY = "status IN ('queued', 'failed')"

JobId = BigInteger().with_variant(Integer(), "sqlite")
Args = JSON().with_variant(JSONB(), "postgresql")


class Job(Model):
    """One background job."""

    __tablename__ = "hd_jobs"

    id: Mapped[int] = mapped_column(JobId, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(100), default="default")
    task: Mapped[str] = mapped_column(String(200))
    args: Mapped[dict[str, Any]] = mapped_column(Args, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_hd_jobs_ready", "run_at", "id", postgresql_where=text(READY), sqlite_where=text(READY)),
        Index(
            "ix_hd_jobs_running",
            "locked_by",
            "heartbeat_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        Index("ix_hd_jobs_status_finished_at", "status", "finished_at"),
    )

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.task} {self.status} attempt {self.attempts}/{self.max_attempts}>"


class CronTick(Model):
    """A schedule time of a cron that some scheduler enqueued (unique per name and time)."""

    __tablename__ = "hd_cron_ticks"

    id: Mapped[int] = mapped_column(JobId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    tick_at: Mapped[datetime] = mapped_column(UTCDateTime)
    job_id: Mapped[int | None] = mapped_column(JobId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("name", "tick_at", name="uq_hd_cron_ticks_name_tick_at"),)
