"""plain_json: orjson writes a plain model's JSON byte for byte as pydantic does, and
every model it cannot vouch for is left to pydantic."""

from __future__ import annotations

import random
import struct
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, computed_field, field_serializer

from hyperdeliver.plain_json import plain_dumper


class Item(BaseModel):
    id: int
    name: str = Field(min_length=1, max_length=100)
    price: float = Field(ge=0)
    tags: list[str]
    owner: int | None = None
    flags: dict[str, bool] = {}
    scores: list[list[float]] | None = None


def pydantic_json(value: BaseModel) -> bytes:
    return type(value).__pydantic_serializer__.to_json(value)  # type: ignore[no-any-return]


def test_a_plain_model_is_written_as_pydantic_writes_it() -> None:
    dump = plain_dumper(Item)
    assert dump is not None
    rnd = random.Random(7)
    floats = [0.0, -0.0, 1.0, 0.1 + 0.2, 1e16, 1e17, 1e-7, 5e-324, 1.7976931348623157e308, float("inf"), float("nan"), 2.0**53]
    floats += [struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0] for _ in range(3000)]
    texts = ["", "widget", "é\u2028\x00\"\\<>&", "a\x7f\x80\xff\U0001f600", "\t\n\r\x1f"]
    for i, f in enumerate(floats):
        item = Item(
            id=rnd.choice([0, -1, 2**63 - 1, -(2**63), 2**64 - 1, i]),
            name=texts[i % len(texts)] or "x",
            price=abs(f) if f == f else 0.5,
            tags=texts[: i % 4],
            owner=None if i % 3 else i,
            flags={"on": bool(i % 2)},
            scores=[[f, 1.5]] if i % 5 else None,
        )
        assert dump(item) == pydantic_json(item), item


def test_what_orjson_refuses_is_answered_by_pydantic() -> None:
    dump = plain_dumper(Item)
    assert dump is not None
    big = Item(id=2**64, name="x", price=1.0, tags=[])  # beyond 64 bits: orjson refuses
    assert dump(big) == pydantic_json(big) == b'{"id":18446744073709551616,"name":"x","price":1.0,"tags":[],"owner":null,"flags":{},"scores":null}'
    partial = Item.model_construct(id=1, name="x")  # required fields left out: pydantic decides
    assert len(partial.__dict__) < len(Item.model_fields)
    assert dump(partial) == pydantic_json(partial)


class Stamped(BaseModel):
    at: datetime


class Colour(Enum):
    RED = "red"


class Painted(BaseModel):
    colour: Colour


class Aliased(BaseModel):
    item_id: int = Field(serialization_alias="itemId")


class Generated(BaseModel):
    model_config = ConfigDict(alias_generator=lambda name: name.upper())
    n: int


class Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    n: int


class Hidden(BaseModel):
    n: int
    secret: str = Field(exclude=True)


class Serialized(BaseModel):
    n: int

    @field_serializer("n")
    def twice(self, n: int) -> int:
        return n * 2


class Computed(BaseModel):
    n: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def double(self) -> int:
        return self.n * 2


class InfAsConstant(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="constants")
    x: float


class Nested(BaseModel):
    item: Item


class Anything(BaseModel):
    value: Any


class Tupled(BaseModel):
    pair: tuple[int, int]


class Annotated_(BaseModel):
    n: Annotated[int, PlainSerializer(lambda n: str(n))]


@pytest.mark.parametrize(
    "model",
    [Stamped, Painted, Aliased, Generated, Extra, Hidden, Serialized, Computed, InfAsConstant, Nested, Anything, Tupled, Annotated_],
)
def test_any_other_model_is_left_to_pydantic(model: type[BaseModel]) -> None:
    assert plain_dumper(model) is None
