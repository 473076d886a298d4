"""``POST /_hyper/api/releases``: record a deployment over HTTP, for CD systems that cannot
run ``hyper release record``. Mounted by the dashboard.

The caller needs the dashboard's role (``admin``) or ``settings.deploy_role``
(``deployer``), usually through an API token (``Authorization: Bearer …``); a session
cookie also needs its ``X-CSRF-Token`` header. The body is JSON with the CLI's fields:

.. code-block:: json

    {"id": "run-812", "version": "1.4.0", "sha": "3f2c1ab", "environment": "production",
     "status": "started", "commits": [{"sha": "3f2c1ab", "committed_at": "2026-12-01T10:00:00Z",
     "author": "ada@acme.io", "files": ["acme/features/invoices/__init__.py"]}]}

It answers 201 with the deployment when the id is new, 200 when it updated one; bad
input is problem+json: 400 (not JSON), 415 (not ``application/json``), 422 (a field,
with ``errors``), 409 (a status that cannot follow the recorded one), 401 and 403.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import BadRequest, Conflict, Forbidden, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed
from .gitlog import feature_folders, features_of
from .records import Commit, check_name, check_sha, check_status
from .store import DeploymentError, record_deployment

if TYPE_CHECKING:
    from ..app import App

MAX_BODY = 1024 * 1024


class CommitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha: str = Field(pattern=r"^[0-9a-fA-F]{4,64}$")
    committed_at: datetime
    author: str = Field(default="", max_length=200)
    files: list[str] = Field(default_factory=list, max_length=10_000)

    @field_validator("committed_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)


class ReleaseIn(BaseModel):
    """The body of ``POST /_hyper/api/releases``: the fields of ``hyper release record``."""

    model_config = ConfigDict(extra="forbid")

    version: str
    sha: str = ""
    environment: str = "production"
    status: str = "succeeded"
    id: str | None = None
    commits: list[CommitIn] = Field(default_factory=list, max_length=5_000)
    features: list[str] = Field(default_factory=list)
    rollback: bool = False
    at: datetime | None = None

    @field_validator("version", "environment", "id")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else check_name(v, "value")

    @field_validator("at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return v if v is None or v.tzinfo else v.replace(tzinfo=timezone.utc)

    @field_validator("status")
    @classmethod
    def _status(cls, v: str) -> str:
        return check_status(v)

    @field_validator("sha")
    @classmethod
    def _sha(cls, v: str) -> str:
        return check_sha(v)


def parse(content_type: str, body: bytes) -> ReleaseIn:
    """The request body as a :class:`ReleaseIn`, or the problem to answer."""
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("send the release as application/json")
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return ReleaseIn.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *e["loc"]], "field": ".".join(str(p) for p in e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise ValidationFailed(errors, "; ".join(f"{e['field']}: {e['msg']}" for e in errors)) from None


async def record(app: App, data: ReleaseIn) -> tuple[dict[str, Any], bool]:
    """Record the posted release; returns the stored deployment (JSON-ready) and whether it is new."""
    unknown = sorted(set(data.features) - set(app.features))
    if unknown:
        raise ValidationFailed([{"loc": ["body", "features"], "field": "features", "msg": f"unknown feature {unknown[0]!r}", "type": "value_error"}])
    folders = feature_folders(app, Path.cwd())
    shipped = [
        Commit(sha=c.sha.lower(), committed_at=c.committed_at, author=c.author, files=tuple(c.files), features=features_of(c.files, folders))
        for c in data.commits
    ]
    try:
        stored, new = await record_deployment(
            app, version=data.version, sha=data.sha, environment=data.environment, status=data.status, id=data.id,
            commits=shipped, features=data.features, rollback=data.rollback, at=data.at,
        )
    except DeploymentError as exc:
        raise Conflict(str(exc)) from None
    return orjson.loads(orjson.dumps(stored.as_dict(), default=str)), new
