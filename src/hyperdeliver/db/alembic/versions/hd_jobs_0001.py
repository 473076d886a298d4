"""hyperdeliver jobs tables: hd_jobs and hd_cron_ticks

Revision ID: hd_jobs_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from hyperdeliver.db.model import UTCDateTime

revision = "hd_jobs_0001"
down_revision = None
branch_labels = ("hd_jobs",)
depends_on = None

READY = "status IN ('queued', 'failed')"
RUNNING = "status = 'running'"


def upgrade() -> None:
    job_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "hd_jobs",
        sa.Column("id", job_id, autoincrement=True, nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("task", sa.String(200), nullable=False),
        sa.Column("args", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(200), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hd_jobs"),
    )
    op.create_index(
        "ix_hd_jobs_ready", "hd_jobs", ["run_at", "id"], postgresql_where=sa.text(READY), sqlite_where=sa.text(READY)
    )
    op.create_index(
        "ix_hd_jobs_running",
        "hd_jobs",
        ["locked_by", "heartbeat_at"],
        postgresql_where=sa.text(RUNNING),
        sqlite_where=sa.text(RUNNING),
    )
    op.create_index("ix_hd_jobs_status_finished_at", "hd_jobs", ["status", "finished_at"])
    op.create_table(
        "hd_cron_ticks",
        sa.Column("id", job_id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tick_at", UTCDateTime(), nullable=False),
        sa.Column("job_id", job_id, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hd_cron_ticks"),
        sa.UniqueConstraint("name", "tick_at", name="uq_hd_cron_ticks_name_tick_at"),
    )


def downgrade() -> None:
    op.drop_table("hd_cron_ticks")
    op.drop_index("ix_hd_jobs_status_finished_at", table_name="hd_jobs")
    op.drop_index("ix_hd_jobs_running", table_name="hd_jobs")
    op.drop_index("ix_hd_jobs_ready", table_name="hd_jobs")
    op.drop_table("hd_jobs")
