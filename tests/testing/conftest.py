"""The testing kit's own tests use the kit's fixtures on teamboard (this repository's
``[tool.hyperdeliver] app``), on SQLite and on PostgreSQL.

The root conftest's ``client`` (seeded teamboard on ``database_url``) is replaced here by
the kit's own, so ``login_as`` and ``client`` talk to the kit's ``app``.
"""

from __future__ import annotations

import pytest

from hyperdeliver.testing.plugin import client  # noqa: F401  (the kit's client, over the root conftest's)

collect_ignore = ["project"]
"""A user's project that test_testing_matrix.py copies and runs pytest in, not tests of this suite."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hyper_test_database_url(request: pytest.FixtureRequest) -> str | None:
    """Each kit test runs twice: the kit's SQLite databases, and its PostgreSQL ones on the
    test server (as ``HYPER_TEST_DATABASE_URL`` would set)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_server")
    return url
