"""The deployment tables (SQLAlchemy Core on the shared metadata; created by ``hd_delivery_0001``).

- ``hd_deployments``: one row per deploy attempt (or rollback) of a version to an
  environment, with its status, start and finish times, the release before it and the
  features its commits touched.
- ``hd_deployment_commits``: the commits a deployment shipped, with their times, authors,
  the files they changed and the features those files belong to.

A succeeded deployment is also recorded in ``hd_releases`` (the usage charts' markers).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..db.model import UTCDateTime, metadata

deployments = sa.Table(
    "hd_deployments", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("sha", sa.String(64), nullable=False, server_default=""),
    sa.Column("environment", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("rollback", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("previous_id", sa.String(100), nullable=True),
    sa.Column("features", sa.JSON(), nullable=False),
    sa.Index("ix_hd_deployments_environment_started_at", "environment", "started_at"),
)

commits = sa.Table(
    "hd_deployment_commits", metadata,
    sa.Column("deployment_id", sa.String(100), sa.ForeignKey("hd_deployments.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("sha", sa.String(64), primary_key=True),
    sa.Column("committed_at", UTCDateTime(), nullable=False),
    sa.Column("author", sa.String(200), nullable=False, server_default=""),
    sa.Column("files", sa.JSON(), nullable=False),
    sa.Column("features", sa.JSON(), nullable=False),
)
