"""Plausible inputs: what validation accepts, from declared types and constraints."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Literal
from uuid import UUID

import pytest
from pydantic import BaseModel, Field

from hyperdeliver import PUBLIC, Feature
from hyperdeliver.testing.values import Unfillable, for_operation, from_schema


class Kind(str, Enum):
    a = "a"
    b = "b"


class Line(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d{3}$")
    qty: int = Field(gt=0, multiple_of=5)


class Order(BaseModel):
    email: str
    kind: Kind
    mode: Literal["fast", "slow"]
    when: datetime
    day: date
    ref: UUID
    lines: list[Line] = Field(min_length=2)
    price: float = Field(ge=0.5, le=0.75)
    note: str = Field(default="", max_length=3)
    code: str = Field(min_length=12, max_length=12)
    parent: "Order | None" = None


def test_a_value_for_each_kind_of_field_validates() -> None:
    value = from_schema(Order.model_json_schema())
    Order.model_validate(value)  # raises if not valid
    assert "note" not in value and "parent" not in value  # optional fields keep their defaults
    assert value["email"] == "user@example.com" and len(value["lines"]) == 2 and value["lines"][0]["qty"] == 5


def test_bounded_numbers_and_an_email_named_field() -> None:
    class Signup(BaseModel):
        contact_email: str = Field(max_length=40)
        age: Annotated[int, Field(ge=18, lt=130)]
        ratio: float = Field(gt=0, lt=1)

    Signup.model_validate(from_schema(Signup.model_json_schema()))


def test_patterns() -> None:
    for pattern in (r"^[A-Z]{3}-\d{3}$", r"^(inv|crd)_[0-9a-f]{8}$", r"^\w+@\w+\.com$", r"^[^@\s]+$", r"v\d+(\.\d+)?"):
        value = from_schema({"type": "string", "pattern": pattern})
        assert __import__("re").search(pattern, value), (pattern, value)


def test_an_unfillable_pattern_says_so() -> None:
    with pytest.raises(Unfillable, match="no plausible value for the pattern"):
        from_schema({"type": "string", "pattern": r"^(?=x)\d{4}$"})  # a look-ahead no shortest string passes


def test_an_operations_path_query_and_body() -> None:
    f = Feature("orders", owner="o@example.com")

    @f.mutation("POST /shops/{shop_id}/orders/{code}", roles=PUBLIC)
    async def place(ctx, shop_id: int, code: str, data: Order, dry_run: bool, page: int = 1) -> None: ...

    path, query, body = for_operation(f.operations["place"])
    assert path == {"shop_id": "1", "code": "example"}
    assert query == {"dry_run": "true"}  # required ones only
    Order.model_validate(body)
