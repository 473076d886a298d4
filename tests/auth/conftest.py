"""An app with only the built-in auth feature, a counting password hasher, and three users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hyperdeliver import App, Settings
from hyperdeliver.auth.passwords import Argon2Hasher
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient

PASSWORD = "correct horse battery"


class CountingHasher(Argon2Hasher):
    """The real argon2id hasher, counting how many hashes it computes."""

    def __init__(self) -> None:
        super().__init__()
        self.hashes = 0
        self.verifies = 0

    def hash(self, password: str) -> str:
        self.hashes += 1
        return super().hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        self.verifies += 1
        return super().verify(hashed, password)


@pytest.fixture
async def auth_app(database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", access_log=False)  # type: ignore[arg-type]
    app = App("authtest", roles=["viewer", "member", "admin"], settings=settings, hasher=CountingHasher())
    await upgrade_async(app)
    async with app.database.session() as s:
        for email, role in (("ann@t.dev", "member"), ("bob@t.dev", "viewer")):
            await app.auth.create_user(s, email, PASSWORD, {role})
        await s.commit()
    yield app
    await app.database.dispose()


@pytest.fixture
async def auth_client(auth_app: App) -> AsyncIterator[TestClient]:
    async with TestClient(auth_app) as c:
        yield c
