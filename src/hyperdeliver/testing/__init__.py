"""The testing kit: what a project's tests import, and the pytest plugin's parts.

The pytest plugin (:mod:`hyperdeliver.testing.plugin`, installed with hyperdeliver) gives
the fixtures ``app``, ``client``, ``make_user``, ``login_as``, ``api_token``,
``run_jobs``, ``run_cron``, ``clock`` and ``usage``; see docs/testing.md. This module
imports after a plain ``pip install hyperdeliver``; the fixtures also need pytest and
pytest-asyncio (``pip install 'hyperdeliver[testing]'``).

Example:
    async with TestClient(app) as client:
        await client.login("ada@example.com", "correct horse")
        r = await client.post("/tasks", json={"title": "x"})   # CSRF header added for you

    # tests/test_permissions.py: every operation x every role, generated
    test_permission_matrix = permission_matrix()
"""

from .client import TestClient
from .clock import TestClock
from .expectations import Caller, Outcome, callers, expected
from .jobs import JobFailed, JobRun
from .matrix import permission_matrix
from .usage import Call, Event, UsageProbe
from .users import BearerToken

__all__ = [
    "BearerToken",
    "Call",
    "Caller",
    "Event",
    "JobFailed",
    "JobRun",
    "Outcome",
    "TestClient",
    "TestClock",
    "UsageProbe",
    "callers",
    "expected",
    "permission_matrix",
]
