"""The front controller's status paths over REST, on SQLite and PostgreSQL.

Every error leaves as RFC 9457 problem+json with type, title, status, detail, instance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from hyperdeliver import PUBLIC, App, Context, Feature, Model, NotFound, Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient

PROBLEM = "application/problem+json"


class Note(Model):
    """A table only the pipeline tests use (created with metadata.create_all)."""

    __tablename__ = "test_pipeline_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(100))


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=100)


class NoteOut(BaseModel):
    id: int
    text: str


def make_feature() -> Feature:
    f = Feature("notes", owner="tests@hyperdeliver.dev", summary="Pipeline probes")

    @f.query("GET /notes/{note_id}", roles={"viewer"})
    async def note(ctx: Context, note_id: int, upper: bool = False) -> NoteOut:
        row = await ctx.db.get(Note, note_id)
        if row is None:
            raise NotFound(f"no note {note_id}")
        return NoteOut(id=row.id, text=row.text.upper() if upper else row.text)

    @f.mutation("POST /notes", roles={"member"})
    async def create_note(ctx: Context, data: NoteIn) -> NoteOut:
        row = Note(text=data.text)
        ctx.db.add(row)
        await ctx.db.flush()
        return NoteOut(id=row.id, text=row.text)

    @f.mutation("POST /notes/failing", roles={"member"})
    async def create_then_fail(ctx: Context, data: NoteIn) -> NoteOut:
        ctx.db.add(Note(text=data.text))
        await ctx.db.flush()
        raise RuntimeError("boom after the write")

    @f.mutation("POST /notes/twice", roles={"member"})
    async def create_twice(ctx: Context, data: NoteIn) -> NoteOut:
        """Writes a note, then a row the database refuses (NOT NULL): the whole call fails."""
        row = Note(text=data.text)
        ctx.db.add(row)
        await ctx.db.flush()
        ctx.db.add(Note(text=None))
        await ctx.db.flush()
        return NoteOut(id=row.id, text=row.text)

    @f.mutation("DELETE /notes/{note_id}", roles={"admin"})
    async def delete_note(ctx: Context, note_id: int) -> None:
        row = await ctx.db.get(Note, note_id)
        if row is None:
            raise NotFound(f"no note {note_id}")
        await ctx.db.delete(row)

    @f.query("GET /notes-public/ping", roles=PUBLIC)
    async def ping(ctx: Context) -> dict[str, str]:
        return {"pong": "yes"}

    return f


@pytest.fixture
def build_app(database_url: str, tmp_path: Path) -> Callable[..., App]:
    def build(env: str = "test") -> App:
        from hyperdeliver.demo.teamboard.app import ROLES

        settings = Settings(env=env, database_url=database_url, var_dir=tmp_path / "var", access_log=False)  # type: ignore[arg-type]
        return App("pipeline", features=[make_feature()], roles=ROLES, settings=settings)

    return build


async def _prepare(app: App) -> None:
    await upgrade_async(app)
    async with app.database.engine.begin() as conn:
        await conn.run_sync(Note.__table__.create, checkfirst=True)  # type: ignore[attr-defined]
    async with app.database.session() as s:
        for email, role in (("viewer@t.dev", "viewer"), ("member@t.dev", "member"), ("admin@t.dev", "admin")):
            await app.auth.create_user(s, email, "password-123", {role})
        await s.commit()


@pytest.fixture
async def pipeline(build_app: Callable[..., App]) -> AsyncIterator[TestClient]:
    app = build_app()
    await _prepare(app)
    async with TestClient(app) as c:
        yield c
    await app.database.dispose()


def assert_problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    return body


async def test_anonymous_is_401_problem(client: TestClient) -> None:
    r = await client.get("/workspaces")
    body = assert_problem(r, 401)
    assert body["instance"] == "/workspaces"
    assert "www-authenticate" in r.headers


async def test_bad_bearer_token_is_401(client: TestClient) -> None:
    r = await client.get("/workspaces", headers={"Authorization": "Bearer hd_nope_nope"})
    assert_problem(r, 401)


async def test_login_then_list(client: TestClient) -> None:
    await client.login("member@teamboard.dev", "member-password")
    r = await client.get("/workspaces")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert [w["name"] for w in r.json()] == ["Acme"]
    assert r.headers["x-request-id"]


async def test_request_id_is_echoed(pipeline: TestClient) -> None:
    r = await pipeline.get("/notes-public/ping", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200 and r.json() == {"pong": "yes"}
    assert r.headers["x-request-id"] == "abc-123"


async def test_create_201_get_200_delete_204(pipeline: TestClient) -> None:
    await pipeline.login("admin@t.dev", "password-123")
    r = await pipeline.post("/notes", json={"text": "hello"})
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["text"] == "hello"
    r = await pipeline.get(f"/notes/{note['id']}", params={"upper": "true"})
    assert r.status_code == 200 and r.json()["text"] == "HELLO"
    r = await pipeline.delete(f"/notes/{note['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_problem(await pipeline.get(f"/notes/{note['id']}"), 404)


async def test_role_hierarchy_403(pipeline: TestClient) -> None:
    await pipeline.login("viewer@t.dev", "password-123")
    body = assert_problem(await pipeline.post("/notes", json={"text": "x"}), 403)
    assert "member" in body["detail"]
    await pipeline.logout()
    await pipeline.login("member@t.dev", "password-123")
    assert (await pipeline.post("/notes", json={"text": "x"})).status_code == 201
    assert_problem(await pipeline.delete("/notes/1"), 403)


async def test_csrf_missing_on_cookie_write_is_403(pipeline: TestClient) -> None:
    await pipeline.login("member@t.dev", "password-123")
    r = await pipeline.post("/notes", json={"text": "x"}, headers={"X-CSRF-Token": "wrong"})
    body = assert_problem(r, 403)
    assert "CSRF" in body["detail"]
    pipeline.csrf = False
    assert_problem(await pipeline.post("/notes", json={"text": "x"}), 403)
    # reads need no token
    assert (await pipeline.get("/auth/me")).status_code == 200


async def test_unknown_path_404_and_wrong_method_405(pipeline: TestClient) -> None:
    assert_problem(await pipeline.get("/nowhere"), 404)
    r = await pipeline.put("/notes", json={})
    assert_problem(r, 405)
    assert r.headers["allow"] == "POST"


async def test_non_json_body_is_415(pipeline: TestClient) -> None:
    await pipeline.login("member@t.dev", "password-123")
    r = await pipeline.post("/notes", content=b"text=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(r, 415)


async def test_huge_body_is_413(pipeline: TestClient) -> None:
    await pipeline.login("member@t.dev", "password-123")

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(12):
            yield b"x" * (1024 * 1024)

    r = await pipeline.post("/notes", content=chunks(), headers={"Content-Type": "application/json"})
    assert_problem(r, 413)
    r = await pipeline.post("/notes", content=b"x" * (11 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert_problem(r, 413)


async def test_validation_422_names_path_query_and_body_fields(pipeline: TestClient) -> None:
    await pipeline.login("admin@t.dev", "password-123")
    body = assert_problem(await pipeline.get("/notes/abc", params={"upper": "maybe"}), 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"path.note_id", "query.upper"}
    body = assert_problem(await pipeline.post("/notes", json={"text": ""}), 422)
    assert body["errors"][0]["loc"][-1] == "text"
    assert body["errors"][0]["loc"][0] == "body"
    body = assert_problem(await pipeline.post("/notes", content=b"{not json", headers={"Content-Type": "application/json"}), 422)
    assert body["errors"][0]["type"] == "json_invalid"


async def test_non_json_body_is_415_but_json_in_any_case_is_not(pipeline: TestClient) -> None:
    await pipeline.login("member@t.dev", "password-123")
    for ctype in ("APPLICATION/JSON", "Application/Json; charset=UTF-8", "application/vnd.notes+JSON"):
        r = await pipeline.post("/notes", content=b'{"text": "cased"}', headers={"Content-Type": ctype})
        assert r.status_code == 201, (ctype, r.text)
    assert_problem(await pipeline.post("/notes", content=b'{"text": "x"}', headers={"Content-Type": "text/json-ish"}), 415)


async def test_an_int_beyond_64_bits_is_422_not_500(pipeline: TestClient) -> None:
    """A path or query int the database could not hold is a field error, not a driver's
    overflow in the handler."""
    await pipeline.login("admin@t.dev", "password-123")
    body = assert_problem(await pipeline.get("/notes/99999999999999999999"), 422)
    assert [e["field"] for e in body["errors"]] == ["path.note_id"]
    assert_problem(await pipeline.delete(f"/notes/{2**63}"), 422)
    # within 64 bits, a path id the column cannot hold (PostgreSQL's int4 here) names no
    # entity: 404 on every database, as the OpenAPI document says (schemathesis checks it)
    for big in (2**63 - 1, -(2**63), 2**31):
        assert_problem(await pipeline.get(f"/notes/{big}"), 404)


async def test_a_write_the_database_refuses_is_409_and_rolled_back(pipeline: TestClient) -> None:
    await pipeline.login("member@t.dev", "password-123")
    r = await pipeline.post("/notes/twice", json={"text": "first half"})
    body = assert_problem(r, 409)
    assert "constraint" in body["detail"] and "test_pipeline_notes" not in r.text and "INSERT" not in r.text
    async with pipeline.app.database.session() as s:
        assert (await s.execute(select(Note).where(Note.text == "first half"))).first() is None


async def test_failing_handler_rolls_back_its_write_and_hides_traceback(pipeline: TestClient) -> None:
    await pipeline.login("member@t.dev", "password-123")
    r = await pipeline.post("/notes/failing", json={"text": "ghost"})
    body = assert_problem(r, 500)
    assert "traceback" not in body and "boom" not in r.text
    assert body["request_id"] == r.headers["x-request-id"]
    async with pipeline.app.database.session() as s:
        assert (await s.execute(select(Note).where(Note.text == "ghost"))).first() is None


async def test_dev_mode_500_shows_the_traceback(build_app: Callable[..., App]) -> None:
    app = build_app(env="dev")
    await _prepare(app)
    async with TestClient(app) as c:
        await c.login("member@t.dev", "password-123")
        body = assert_problem(await c.post("/notes/failing", json={"text": "ghost"}), 500)
        assert "boom after the write" in body["detail"]
        assert any("RuntimeError" in line for line in body["traceback"])
    await app.database.dispose()


async def test_head_is_served_for_get(pipeline: TestClient) -> None:
    r = await pipeline.head("/notes-public/ping")
    assert r.status_code == 200 and r.content == b""


def test_only_the_drivers_range_errors_count_as_bad_input() -> None:
    from hyperdeliver.error_map import does_not_fit

    assert does_not_fit(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert not does_not_fit(OverflowError("math range error"))  # a handler's own bug stays a 500
    assert not does_not_fit(RuntimeError("boom"))
