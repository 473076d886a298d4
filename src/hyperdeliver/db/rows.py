"""Rows as output models: a ``select()`` of columns validated once into Pydantic models.

Loading ORM objects to return them as output models builds every object twice (the ORM
instance with its identity-map entry and change tracking, then the model read from its
attributes). :func:`rows_of` goes from the driver's rows to the models in one validation,
each row a ``dict`` of its column names (``.label()`` renames a column to its field).

Example:
    >>> from pydantic import BaseModel
    >>> from sqlalchemy import create_engine, literal, select
    >>> class Pair(BaseModel):
    ...     a: int
    ...     b: str
    >>> with create_engine("sqlite://").connect() as conn:
    ...     rows_of(conn.execute(select(literal(1).label("a"), literal("x").label("b"))), Pair)
    [Pair(a=1, b='x')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import TypeAdapter

M = TypeVar("M")
_adapters: dict[Any, TypeAdapter[Any]] = {}


def list_adapter(model: type[M]) -> TypeAdapter[list[M]]:
    """The (cached) ``TypeAdapter(list[model])``."""
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter


def rows_of(result: Any, model: type[M]) -> list[M]:
    """``result``'s rows (a SQLAlchemy ``Result``) as ``model`` instances, validated once."""
    return models_of(list(result.keys()), result.all(), model)


def models_of(keys: Sequence[str], rows: Iterable[Sequence[Any]], model: type[M]) -> list[M]:
    """``rows`` (tuples of the columns ``keys``) as ``model`` instances, validated once."""
    return list_adapter(model).validate_python([dict(zip(keys, row)) for row in rows])  # type: ignore[no-any-return]
