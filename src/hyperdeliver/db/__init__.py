"""Database: SQLAlchemy 2 async engine, the declarative base, Alembic migrations."""

from .database import Database
from .model import Model, metadata

__all__ = ["Database", "Model", "metadata"]
