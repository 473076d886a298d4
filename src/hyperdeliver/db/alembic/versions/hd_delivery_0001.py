"""hyperdeliver delivery: hd_deployments and hd_deployment_commits (deploys with status, DORA)

Revision ID: hd_delivery_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hyperdeliver.db.model import UTCDateTime

revision = "hd_delivery_0001"
down_revision = None
branch_labels = ("hd_delivery",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hd_deployments",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False, server_default=""),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rollback", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("previous_id", sa.String(100), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hd_deployments"),
    )
    op.create_index("ix_hd_deployments_environment_started_at", "hd_deployments", ["environment", "started_at"])
    op.create_table(
        "hd_deployment_commits",
        sa.Column("deployment_id", sa.String(100), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("committed_at", UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False, server_default=""),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["hd_deployments.id"], ondelete="CASCADE",
            name="fk_hd_deployment_commits_deployment_id_hd_deployments",
        ),
        sa.PrimaryKeyConstraint("deployment_id", "sha", name="pk_hd_deployment_commits"),
    )


def downgrade() -> None:
    op.drop_table("hd_deployment_commits")
    op.drop_index("ix_hd_deployments_environment_started_at", table_name="hd_deployments")
    op.drop_table("hd_deployments")
