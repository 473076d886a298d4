"""``hyper db check``: exit 0 when the models match the migrations, 1 (with the changes)
when a model has no migration; on SQLite (scratch database) and PostgreSQL (current one)."""

from __future__ import annotations

from pathlib import Path

from hyper_cli import hyper

DRIFTED = '''
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hyperdeliver import App, Model


class Invoice(Model):
    __tablename__ = "invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    amount_cents: Mapped[int] = mapped_column(sa.Integer())


def create_app():
    return App("drifted", migrations=Path(__file__).parent / "drifted_migrations")
'''


def test_the_demo_is_in_sync(database_url: str) -> None:
    env = {"HYPER_DATABASE_URL": database_url, "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app"}
    if not database_url.startswith("sqlite"):
        r = hyper("db", "check", env=env)
        assert r.returncode == 1 and "hyper db upgrade" in r.stderr and r.stderr.count("\n") == 1
        assert hyper("db", "upgrade", env=env).returncode == 0
    r = hyper("db", "check", env=env)
    assert r.returncode == 0 and "the models match the migrations" in r.stdout, r.stdout + r.stderr


def test_a_model_without_a_migration_fails(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "drifted.py").write_text(DRIFTED)
    env = {"HYPER_DATABASE_URL": sqlite_url, "HYPER_APP": "drifted:create_app", "PYTHONPATH": str(tmp_path)}
    r = hyper("db", "check", env=env, cwd=tmp_path)
    assert r.returncode == 1 and "add_table invoices" in r.stdout and "disagree (1 changes above)" in r.stderr, r.stdout + r.stderr
    assert hyper("db", "revision", "-m", "add invoices", env=env, cwd=tmp_path).returncode == 0
    r = hyper("db", "check", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
