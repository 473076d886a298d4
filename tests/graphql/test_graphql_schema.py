"""The schema built from operations: types, names, descriptions; and ``hyper graphql sdl``."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path

from hyper_cli import hyper
from pydantic import BaseModel, Field

from hyperdeliver import PUBLIC, Context, Feature
from hyperdeliver.graphql import build_schema, print_sdl


class Color(str, Enum):
    red = "red"
    dark_blue = "dark-blue"


class Tag(BaseModel):
    """A label."""

    tag_name: str
    color: Color


class ThingIn(BaseModel):
    """What a thing is made of."""

    display_name: str = Field(min_length=1, description="Shown to users")
    tags: list[Tag] = []
    due_at: datetime | None = None


class ThingOut(BaseModel):
    id: int
    """The thing's number."""
    display_name: str
    tags: list[Tag]
    maybe_tags: list[Tag] | None = None
    due_at: datetime | None
    created_at: datetime
    extra: dict[str, int] = {}


def things() -> Feature:
    f = Feature("things", owner="ada@example.com")

    @f.query("GET /things/{thing_id}", roles=PUBLIC)
    async def get_thing(ctx: Context, thing_id: int, with_tags: bool = True) -> ThingOut:
        """One thing.

        With its tags.
        """
        raise NotImplementedError

    @f.mutation("POST /things", roles=PUBLIC)
    async def create_thing(ctx: Context, data: ThingIn) -> ThingOut:
        """Make a thing."""
        raise NotImplementedError

    @f.mutation("DELETE /things/{thing_id}", roles=PUBLIC)
    async def delete_thing(ctx: Context, thing_id: int) -> None:
        """Remove a thing."""

    return f


def test_schema_maps_models_lists_optionals_enums_datetimes() -> None:
    sdl = print_sdl(build_schema(things().operations.values()))
    # Query and Mutation from the operation kinds; camelCase names and arguments.
    assert '"""\n  One thing.\n  \n  With its tags.\n  """\n  getThing(thingId: Int!, withTags: Boolean): Thing' in sdl
    assert '"""Make a thing."""\n  createThing(data: ThingInput!): Thing' in sdl
    assert '"""Remove a thing."""\n  deleteThing(thingId: Int!): Boolean' in sdl
    # Output model with nested list of models, optionals, DateTime, JSON fallback.
    assert 'type Thing {\n  """The thing\'s number."""\n  id: Int!\n  displayName: String!\n  tags: [Tag!]!\n  maybeTags: [Tag!]\n  dueAt: DateTime\n  createdAt: DateTime!\n  extra: JSON!\n}' in sdl
    assert '"""A label."""\ntype Tag {\n  tagName: String!\n  color: Color!\n}' in sdl
    assert "enum Color {\n  red\n  dark_blue\n}" in sdl
    assert "scalar DateTime" in sdl
    # Input model: required only when Pydantic requires it; descriptions kept.
    assert '"""What a thing is made of."""\ninput ThingInput {\n  """Shown to users"""\n  displayName: String!\n  tags: [TagInput!]\n  dueAt: DateTime\n}' in sdl
    assert "input TagInput {\n  tagName: String!\n  color: Color!\n}" in sdl


def test_teamboard_schema_has_every_operation() -> None:
    from hyperdeliver import Settings
    from hyperdeliver.demo.teamboard.app import create_app

    app = create_app(Settings(env="test", database_url="sqlite://"))
    from hyperdeliver.graphql import GraphQLPlugin
    from hyperdeliver.graphql.names import field_name

    schema = app.plugin(GraphQLPlugin).schema
    query = schema.query_type
    mutation = schema.mutation_type
    assert query is not None and mutation is not None
    for op in app.operations:
        root = query if op.kind == "query" else mutation
        assert field_name(op) in root.fields, op.qualname


def test_cli_prints_the_sdl(tmp_path: Path) -> None:
    env = {"HYPER_ENV": None, "HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "HYPER_VAR_DIR": str(tmp_path)}
    out = hyper("graphql", "sdl", "--app", "hyperdeliver.demo.teamboard.app:create_app", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("type Query {")
    assert "createTask(projectId: Int!, data: TaskInput!): Task" in out.stdout
    assert "listTasks(projectId: Int!, status: Status, limit: Int): [Task!]" in out.stdout
    assert '"""Add a task to a project."""' in out.stdout
    bad = hyper("graphql", "sdl", "--app", "nowhere:app", env=env)
    assert bad.returncode == 1
    assert bad.stderr.startswith("hyper: cannot import 'nowhere'") and "Traceback" not in bad.stderr
