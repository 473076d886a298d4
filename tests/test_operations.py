"""Where a handler's field errors land in REST: ``ValidationFailed.on`` names fields by the
operation's parameters; the REST adapter puts them at ``body.…``, ``path.…``, ``query.…``."""

from __future__ import annotations

from pydantic import BaseModel

from hyperdeliver import PUBLIC, Context, Feature, ValidationFailed
from hyperdeliver.operations import rest_errors


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
