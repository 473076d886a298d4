"""REST's binding: raw path, query and body into handler arguments, every bad field named
where it was sent (``path.…``, ``query.…``, ``body.…``); a handler's ``ValidationFailed.on``
errors moved to the same names."""

from __future__ import annotations


import pytest
from pydantic import BaseModel

from hyperdeliver import PUBLIC, Context, Feature, ValidationFailed
from hyperdeliver.rest.binding import json_dumper, rest_errors, rest_validator


class ThingIn(BaseModel):
    name: str
    tags: list[str] = []


feature = Feature("things", owner="o@example.com")


@feature.mutation("PUT /things/{thing_id}", roles=PUBLIC)
async def put_thing(ctx: Context, thing_id: int, data: ThingIn, dry_run: bool = False) -> None: ...


def test_handler_field_errors_are_placed_as_rest_names_fields() -> None:
    op = feature.operations["put_thing"]
    for field, where in [
        ("data.tags.1", ["body", "tags", 1]),
        ("data", ["body"]),
        ("thing_id", ["path", "thing_id"]),
        ("dry_run", ["query", "dry_run"]),
        ("elsewhere.x", ["elsewhere", "x"]),  # not a parameter: left as the handler named it
    ]:
        exc = rest_errors(ValidationFailed.on(field, "no good"), op)
        assert exc.status == 422 and [e["loc"] for e in exc.errors] == [where], field
        assert exc.errors[0]["field"] == ".".join(str(p) for p in where)
        assert exc.detail == f"{exc.errors[0]['field']}: no good"


def test_validation_errors_of_the_adapter_are_left_alone() -> None:
    op = feature.operations["put_thing"]
    mine = ValidationFailed([{"loc": ["data", "x"], "field": "data.x", "msg": "m", "type": "t"}])
    assert rest_errors(mine, op) is mine  # not from .on: already in the adapter's names


@feature.query("GET /things", roles=PUBLIC)
async def list_things(ctx: Context, tag: list[str] | None = None, limit: int = 10) -> list[ThingIn]:
    return []



def test_path_query_and_body_become_arguments() -> None:
    validate = rest_validator(feature.operations["put_thing"])
    kwargs = validate({"thing_id": "7"}, {"dry_run": ["false", "true"]}, b'{"name": "a", "tags": ["x"]}')
    assert kwargs == {"thing_id": 7, "dry_run": True, "data": ThingIn(name="a", tags=["x"])}  # the last value of a repeated name
    listed = rest_validator(feature.operations["list_things"])
    assert listed({}, {"tag": ["a", "b"]}, None) == {"tag": ["a", "b"], "limit": 10}  # a list takes every value


def test_every_bad_field_is_named_where_it_was_sent() -> None:
    validate = rest_validator(feature.operations["put_thing"])
    with pytest.raises(ValidationFailed) as err:
        validate({"thing_id": "x"}, {"dry_run": ["maybe"]}, b'{"tags": "no"}')
    assert sorted(e["field"] for e in err.value.errors) == ["body.name", "body.tags", "path.thing_id", "query.dry_run"]
    with pytest.raises(ValidationFailed) as err:
        validate({"thing_id": "1"}, {}, b"")
    assert [e["field"] for e in err.value.errors] == ["body"]
    with pytest.raises(ValidationFailed) as err:
        validate({"thing_id": str(2**63)}, {}, b'{"name": "a\\u0000b"}')
    assert sorted(e["field"] for e in err.value.errors) == ["body.name", "path.thing_id"]  # beyond 64 bits; NUL


def test_results_are_written_as_json() -> None:
    dump = json_dumper(feature.operations["list_things"])
    assert dump([ThingIn(name="a"), {"name": "b", "tags": ["t"]}]) == b'[{"name":"a","tags":[]},{"name":"b","tags":["t"]}]'
