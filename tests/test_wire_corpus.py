"""The recorded wire corpus: REST, GraphQL, dashboard and ops answers of the demo app, byte for byte.

A fixed sequence of requests (:data:`STEPS`) runs against teamboard (plus a small feature
that provokes what teamboard cannot: a refused write, a crash) as four callers: nobody,
a viewer, a member and an admin. Each answer's status, headers and body are compared
with ``tests/corpus/wire.json`` after the volatile parts are replaced (session and CSRF
cookies, API tokens, generated request ids, timestamps), one file per database. A refactoring of the adapters
or the front controller must leave every answer as recorded; a change the corpus shows
on purpose is re-recorded with ``HYPER_RECORD_CORPUS=1`` and explained in its commit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field
from sqlalchemy import insert

from hyperdeliver import App, Context, Feature, PUBLIC
from hyperdeliver.auth.models import User
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient

CORPUS = Path(__file__).parent / "corpus"
"""``wire.sqlite.json`` and ``wire.postgres.json``: a few answers differ by database (an id
beyond 32 bits names no row on PostgreSQL's INTEGER)."""
RECORD = os.environ.get("HYPER_RECORD_CORPUS") == "1"

# -- a feature for what teamboard does not provoke --------------------------------------

corpus = Feature("corpus", owner="qa@teamboard.dev", summary="Answers the wire corpus needs")


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=20)
    secret: str = Field(default="", exclude_if=lambda v: v == "")


@corpus.mutation("POST /corpus/duplicate-user", roles={"admin"})
async def duplicate_user(ctx: Context) -> None:
    """A write the database refuses (a unique email): 409."""
    await ctx.db.execute(insert(User).values(email="admin@teamboard.dev", password_hash="x"))


@corpus.mutation("POST /corpus/crash", roles={"member"})
async def crash(ctx: Context) -> None:
    """An unexpected error: 500 without a traceback."""
    raise RuntimeError("boom: the handler's secret detail")


@corpus.query("GET /corpus/note", roles=PUBLIC)
async def note(ctx: Context, text: str = "hi", secret: str = "") -> Note:
    """A model with a field pydantic leaves out when empty (``exclude_if``)."""
    return Note(text=text, secret=secret)


# -- the steps ------------------------------------------------------------------------


@dataclass
class Step:
    who: str
    method: str
    path: str
    json: Any = None
    content: bytes | None = None
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] | None = None
    body: bool = True
    """False: the body is volatile (metrics, usage figures); only status and headers count
    (its Content-Length left out)."""
    rid: bool = True
    """False: no X-Request-ID sent (the generated one is normalised)."""


def gql(who: str, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Step:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    return Step(who, "POST", "/graphql", json=payload, **kw)


CSRF = "{csrf}"
"""Replaced by the caller's CSRF cookie in a form's ``csrf_token`` field."""

STEPS: list[Step] = [
    # -- REST: anonymous --------------------------------------------------------------
    Step("nobody", "GET", "/workspaces"),
    Step("nobody", "GET", "/workspaces", rid=False),
    Step("nobody", "GET", "/workspaces", headers={"authorization": "Bearer hd_nope_nope"}),
    Step("nobody", "GET", "/nowhere"),
    Step("nobody", "PUT", "/tasks/1", json={}),
    Step("nobody", "POST", "/auth/login", json={"email": "admin@teamboard.dev", "password": "wrong-password"}),
    Step("nobody", "POST", "/auth/login", json={"email": "admin@teamboard.dev"}),
    Step("nobody", "POST", "/auth/login", content=b"{not json", headers={"content-type": "application/json"}),
    Step("nobody", "POST", "/auth/login", content=b"email=x", headers={"content-type": "application/x-www-form-urlencoded"}),
    Step("nobody", "GET", "/corpus/note"),
    Step("nobody", "GET", "/corpus/note", params={"secret": "s"}),
    Step("nobody", "GET", "/corpus/note", params={"text": ""}),
    # -- logins -----------------------------------------------------------------------
    Step("viewer", "POST", "/auth/login", json={"email": "viewer@teamboard.dev", "password": "viewer-password"}),
    Step("member", "POST", "/auth/login", json={"email": "member@teamboard.dev", "password": "member-password"}),
    Step("admin", "POST", "/auth/login", json={"email": "admin@teamboard.dev", "password": "admin-password"}),
    # -- REST: reads ------------------------------------------------------------------
    Step("member", "GET", "/auth/me"),
    Step("member", "GET", "/workspaces"),
    Step("member", "HEAD", "/workspaces"),
    Step("member", "GET", "/workspaces/1"),
    Step("member", "GET", "/workspaces/2"),
    Step("member", "GET", "/projects/1/tasks"),
    Step("member", "GET", "/projects/1/tasks", params={"status": "done"}),
    Step("member", "GET", "/projects/1/tasks", params={"status": "bogus", "limit": "0"}),
    Step("member", "GET", "/tasks/1"),
    Step("member", "GET", "/tasks/999"),
    Step("member", "GET", "/tasks/abc"),
    Step("member", "GET", f"/tasks/{2**40}"),
    Step("member", "GET", "/tasks/99999999999999999999"),
    Step("member", "GET", "/projects/1/stats"),
    # -- REST: writes -----------------------------------------------------------------
    Step("member", "POST", "/projects/1/tasks", json={"title": "Corpus task", "priority": 3}),
    Step("member", "POST", "/projects/1/tasks", json={"title": "", "priority": 9}),
    Step("member", "POST", "/projects/1/tasks", json={"title": "Assigned", "assignee_id": 999}),
    Step("member", "POST", "/projects/1/tasks", json=[1, 2]),
    Step("member", "POST", "/projects/1/tasks", content=b"title=x", headers={"content-type": "text/plain"}),
    Step("member", "POST", "/projects/1/tasks", json={"title": "No CSRF"}, headers={"x-csrf-token": "wrong"}),
    Step("member", "PATCH", "/tasks/5", json={"status": "done"}),
    Step("member", "PATCH", "/tasks/5", json={"status": "finished"}),
    Step("member", "DELETE", "/tasks/5"),
    Step("viewer", "POST", "/projects/1/tasks", json={"title": "Viewer task"}),
    Step("member", "POST", "/workspaces", json={"name": "Nope"}),
    Step("admin", "POST", "/workspaces", json={"name": "Corpus Inc"}),
    Step("admin", "DELETE", "/tasks/5"),
    Step("admin", "DELETE", "/tasks/5"),
    Step("admin", "POST", "/corpus/duplicate-user"),
    Step("member", "POST", "/corpus/crash"),
    Step("member", "POST", "/corpus/crash", rid=False),
    Step("admin", "POST", "/auth/tokens", json={"name": "corpus"}),
    Step("token", "GET", "/auth/me"),
    Step("token", "POST", "/projects/1/tasks", json={"title": "By token"}),
    Step("token", "DELETE", "/auth/tokens/999"),
    # -- GraphQL ----------------------------------------------------------------------
    gql("nobody", "{ listWorkspaces { id name } }"),
    gql("member", "{ listWorkspaces { id name } }"),
    gql("member", "query($id: Int!) { getTask(taskId: $id) { id title status } }", {"id": 1}),
    gql("member", "query($id: Int!) { getTask(taskId: $id) { id title } }", {"id": 999}),
    gql("member", "query($id: Int!) { getTask(taskId: $id) { id title } }", {"id": "x"}),
    gql("member", "{ getTask(taskId: 1) { nope } }"),
    gql("member", "{ getTask(taskId: 1) { id "),
    gql("member", 'mutation { createTask(projectId: 1, data: {title: "GraphQL task"}) { id title priority } }'),
    gql("member", 'mutation { createTask(projectId: 1, data: {title: "", priority: 9}) { id } }'),
    gql("member", 'mutation { createTask(projectId: 1, data: {title: "x", assigneeId: 999}) { id } }'),
    gql("member", 'mutation { createTask(projectId: 1, data: {title: "no csrf"}) { id } }', headers={"x-csrf-token": "wrong"}),
    gql("viewer", 'mutation { createTask(projectId: 1, data: {title: "viewer"}) { id } }'),
    gql("member", "mutation { crash }"),
    gql("admin", "mutation { duplicateUser }"),
    gql("member", "{ a: getTask(taskId: 1) { id } b: getTask(taskId: 999) { id } }"),
    Step("member", "GET", "/graphql", params={"query": "{ getTask(taskId: 1) { id } }"}),
    Step("member", "GET", "/graphql", params={"query": "mutation { crash }"}),
    Step("member", "PUT", "/graphql", json={"query": "{ listWorkspaces { id } }"}),
    Step("member", "POST", "/graphql", content=b"{not json", headers={"content-type": "application/json"}),
    Step("member", "POST", "/graphql", content=b"query=x", headers={"content-type": "application/x-www-form-urlencoded"}),
    Step("member", "POST", "/graphql", content=b"{ listWorkspaces { id } }", headers={"content-type": "application/graphql"}),
    Step("member", "POST", "/graphql", json=[{"query": "{ listWorkspaces { id } }"}]),
    Step("member", "POST", "/graphql", json={"variables": {}}),
    Step("member", "GET", "/graphql/static/nothing.js"),
    # -- ops --------------------------------------------------------------------------
    Step("nobody", "GET", "/healthz"),
    Step("nobody", "HEAD", "/healthz"),
    Step("nobody", "POST", "/healthz"),
    Step("nobody", "GET", "/healthz/more"),
    Step("nobody", "GET", "/readyz"),
    Step("nobody", "GET", "/metrics", body=False),
    # -- the dashboard ----------------------------------------------------------------
    Step("nobody", "GET", "/_hyper/"),
    Step("nobody", "GET", "/_hyper"),
    Step("nobody", "GET", "/_hyper/login", params={"next": "/_hyper/jobs"}),
    Step("nobody", "GET", "/_hyper/login", params={"next": "https://evil.example"}),
    Step("member", "GET", "/_hyper/"),
    Step("admin", "GET", "/_hyper/nothing"),
    Step("admin", "POST", "/_hyper/"),
    Step("admin", "GET", "/_hyper/features/nothing"),
    Step("admin", "GET", "/_hyper/static/nothing.js"),
    Step("admin", "GET", "/_hyper/static/dashboard.css", body=False),
    Step("admin", "GET", "/_hyper/", body=False),
    Step("admin", "GET", "/_hyper/features", body=False),
    Step("admin", "GET", "/_hyper/jobs", body=False),
    Step("admin", "POST", "/_hyper/features/legacy_export/lifecycle", data={"lifecycle": "removed", "csrf_token": "wrong"}),
    Step("member", "POST", "/_hyper/features/legacy_export/lifecycle", data={"lifecycle": "removed", "csrf_token": CSRF}),
    Step("nobody", "POST", "/_hyper/api/releases", json={"version": "1.0"}),
    Step("admin", "POST", "/_hyper/api/releases", content=b"x", headers={"content-type": "text/plain"}),
    # -- lifecycle: removed, deprecated, flagged off (set through the dashboard) ------
    Step("admin", "POST", "/_hyper/features/legacy_export/lifecycle", data={"lifecycle": "removed", "csrf_token": CSRF}),
    Step("member", "GET", "/projects/1/export.csv"),
    gql("member", "{ exportTasksCsv(projectId: 1) { filename } }"),
    Step(
        "admin",
        "POST",
        "/_hyper/features/workspaces/lifecycle",
        data={"lifecycle": "deprecated", "sunset": "2027-03-01", "link": "https://example.com/new-workspaces", "csrf_token": CSRF},
    ),
    Step("member", "GET", "/workspaces"),
    gql("member", "{ listWorkspaces { id } }"),
    Step("admin", "POST", "/_hyper/features/comments/flag", data={"mode": "off", "csrf_token": CSRF}),
    Step("member", "GET", "/tasks/1/comments"),
    gql("member", "{ listComments(taskId: 1) { id } }"),
    Step("admin", "POST", "/_hyper/features/comments/flag", data={"mode": "sideways", "csrf_token": CSRF}, body=False),
    # -- logout -----------------------------------------------------------------------
    Step("member", "POST", "/auth/logout"),
    Step("member", "GET", "/auth/me"),
]

# -- normalising ----------------------------------------------------------------------

TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
GENERATED_RID = re.compile(r"\b[0-9a-f]{8}-\d+\b")
EPOCH = re.compile(r"^@\d+$")
"""A ``Deprecation`` header's date (RFC 9745): when the feature was deprecated, i.e. during the run."""


class Secrets:
    """Volatile values seen so far (cookies, tokens), each replaced by a stable name."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def add(self, value: str, kind: str) -> None:
        if value and value not in self.names:
            self.names[value] = f"<{kind}-{len(self.names) + 1}>"

    def scrub(self, text: str) -> str:
        for value, name in sorted(self.names.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(value, name)
        text = TIME.sub("<time>", text)
        return GENERATED_RID.sub("<rid>", text)


def learn(secrets: Secrets, r: httpx.Response) -> None:
    for cookie in r.headers.get_list("set-cookie"):
        name, _, rest = cookie.partition("=")
        secrets.add(rest.split(";", 1)[0], name)
    if r.headers.get("content-type", "").startswith("application/json") and r.content:
        try:
            body = r.json()
        except ValueError:
            return
        if isinstance(body, dict):
            for key in ("token", "csrf_token"):
                if isinstance(body.get(key), str):
                    secrets.add(body[key], key)


def record(secrets: Secrets, step: Step, r: httpx.Response) -> dict[str, Any]:
    """The answer as compared: headers sorted by name (a repeated one keeps its order)."""
    skipped = {"date", "server"} if step.body else {"date", "server", "content-length"}
    # A generated request id's length grows with the process's count of requests.
    generated = GENERATED_RID.search(r.content.decode("utf-8", "replace")) is not None
    headers = []
    for k, v in r.headers.raw:
        name, value = k.decode("latin-1").lower(), secrets.scrub(v.decode("latin-1"))
        if name == "deprecation":
            value = EPOCH.sub("@<epoch>", value)
        if name == "content-length" and generated:
            value = "<length>"
        if name not in skipped:
            headers.append((name, value))
    headers.sort(key=lambda kv: kv[0])
    return {
        "request": f"{step.who} {step.method} {step.path}" + (f"?{httpx.QueryParams(step.params)}" if step.params else ""),
        "status": r.status_code,
        "headers": [list(h) for h in headers],
        "body": secrets.scrub(r.content.decode("utf-8", "replace")) if step.body else None,
    }


# -- the run --------------------------------------------------------------------------


@pytest.fixture
async def corpus_app(database_url: str, settings_for: Any) -> AsyncIterator[App]:
    from hyperdeliver.demo.teamboard import app as teamboard_app
    from hyperdeliver.demo.teamboard.app import ROLES, WORKSPACE
    from hyperdeliver.demo.teamboard.seed import seed

    app = App(
        "teamboard",
        features=["hyperdeliver.demo.teamboard.features", corpus],
        roles=ROLES,
        scopes=[WORKSPACE],
        settings=settings_for(database_url),
        migrations=Path(teamboard_app.__file__).parent / "migrations",
    )
    await upgrade_async(app)
    await seed(app)
    yield app
    await app.shutdown()
    await app.database.dispose()


async def run_corpus(app: App) -> list[dict[str, Any]]:
    secrets = Secrets()
    clients = {who: TestClient(app) for who in ("nobody", "viewer", "member", "admin", "token")}
    out = []
    async with clients["nobody"]:
        for n, step in enumerate(STEPS):
            c = clients[step.who]
            headers = dict(step.headers)
            if step.rid:
                headers.setdefault("x-request-id", f"corpus-{n}")
            data = step.data
            if data is not None:
                data = {k: (c.cookies.get(app.settings.csrf_cookie) or "" if v == CSRF else v) for k, v in data.items()}
            r = await c.request(
                step.method, step.path, json=step.json, content=step.content, data=data, headers=headers, params=step.params
            )
            learn(secrets, r)
            if step.path == "/auth/tokens" and r.status_code == 201:
                clients["token"].headers["authorization"] = f"Bearer {r.json()['token']}"
            out.append(record(secrets, step, r))
        for c in clients.values():
            if c is not clients["nobody"]:
                await c.aclose()
    return out


async def test_every_answer_is_as_recorded(corpus_app: App) -> None:
    answers = await run_corpus(corpus_app)
    database = "sqlite" if corpus_app.database.dialect == "sqlite" else "postgres"
    path = CORPUS / f"wire.{database}.json"
    if RECORD:
        path.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")
    recorded = json.loads(path.read_text())
    assert [a["request"] for a in answers] == [a["request"] for a in recorded], "the steps changed: re-record the corpus"
    for got, want in zip(answers, recorded):
        assert got == want, got["request"]
