"""A small project for the testing kit's tests: notes, three roles, no tables of its own.

``NOTES_EXTRA=1`` adds an operation (the matrix must cover it untouched);
``NOTES_BUG=1`` adds a gate that wrongly refuses readers their list (the matrix must fail).
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from hyperdeliver import PUBLIC, App, Context, Feature, Forbidden, NotFound, Plugin, Settings, Unauthorized

feature = Feature("notes", owner="ada@example.com", summary="Notes")


class NoteIn(BaseModel):
    title: str = Field(min_length=3, max_length=20, pattern=r"^[A-Za-z ]+$")
    stars: int = Field(ge=1, le=5)
    tags: list[str] = Field(default_factory=list)


class Note(BaseModel):
    id: int
    title: str


@feature.query("GET /notes", roles={"reader"})
async def list_notes(ctx: Context) -> list[Note]:
    return [Note(id=1, title="first")]


@feature.query("GET /notes/public", roles=PUBLIC)
async def public_notes(ctx: Context) -> list[Note]:
    return []


@feature.mutation("POST /notes", roles={"writer"})
async def create_note(ctx: Context, data: NoteIn) -> Note:
    return Note(id=2, title=data.title)


@feature.mutation("DELETE /notes/{note_id}", roles={"owner"})
async def delete_note(ctx: Context, note_id: int) -> None:
    raise NotFound(f"no note {note_id}")


@feature.mutation("POST /notes/{note_id}/unlock", roles={"reader"}, status=200)
async def unlock_note(ctx: Context, note_id: int, code: str) -> Note:
    """The handler's own check answers 401 and 403: the matrix must not take them for the role check."""
    if code != "sesame":
        raise Unauthorized("wrong code")
    raise Forbidden("locked for good")


if os.environ.get("NOTES_EXTRA") == "1":

    @feature.query("GET /notes/{note_id}/history", roles={"writer"})
    async def note_history(ctx: Context, note_id: int) -> list[Note]:
        return []


class ReaderBug(Plugin):
    """A gate that refuses readers their list: what the matrix exists to catch."""

    name = "reader-bug"

    def setup(self, app: App) -> None:
        def gate(op, ctx) -> None:
            if op.name == "list_notes" and ctx.principal.effective_roles == {"reader"}:
                raise Forbidden("nope")

        app.controller.gates.append(gate)


def create_app(settings: Settings | None = None) -> App:
    app = App("notes", features=[feature], roles=["reader", "writer", "owner"], settings=settings)
    if os.environ.get("NOTES_BUG") == "1":
        app.add_plugin(ReaderBug())
    return app


def create_other(settings: Settings | None = None) -> App:
    """Another app, for the ini option's test."""
    other = Feature("other", owner="bob@example.com")

    @other.query("GET /other", roles={"staff"})
    async def other_thing(ctx: Context) -> list[Note]:
        return []

    return App("other", features=[other], roles=["staff"], settings=settings)
