"""docs/delivery.md: its commands run as written, its JSON body is accepted by the
endpoint, and its band table says what the code computes."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

from hyper_cli import HYPER

from hyperdeliver import App
from hyperdeliver.delivery import dora
from hyperdeliver.testing import TestClient

DOC = (Path(__file__).resolve().parents[2] / "docs" / "delivery.md").read_text()


def test_the_console_commands_run(sqlite_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "HYPER_DATABASE_URL": sqlite_url, "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app",
           "HYPER_ENV": "test", "NO_COLOR": "1", "COLUMNS": "200"}
    git = lambda *a: subprocess.run(["git", "-c", "user.email=ada@acme.io", "-c", "user.name=Ada", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    for message in ("base", "one"):
        git("commit", "-q", "--allow-empty", "-m", message)
    assert subprocess.run([HYPER, "db", "upgrade"], env=env, capture_output=True).returncode == 0
    block = re.search(r"```console\n(\$ hyper release record.*?)```", DOC, re.S)
    assert block is not None
    lines = block.group(1).splitlines()
    assert len(lines) == 5
    for line in lines:
        args = shlex.split(line.removeprefix("$ ").replace("9e1d2c4..3f2c1ab", "HEAD~1..HEAD"))
        r = subprocess.run([HYPER, *args[1:]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (line, r.stderr)
    r = subprocess.run([HYPER, "release", "list", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert [(d["id"], d["status"]) for d in json.loads(r.stdout)] == [("run-812", "rolled_back"), ("run-813", "succeeded")]  # the rollback undid 1.5.0


async def test_the_json_body_is_accepted(shipping: App, token_for: Callable[[App, str], Awaitable[str]]) -> None:
    body = json.loads(re.search(r"```json\n(.*?)```", DOC, re.S).group(1))
    token = await token_for(shipping, "ci@teamboard.dev")
    async with TestClient(shipping, csrf=False) as ci:
        r = await ci.post("/_hyper/api/releases", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text


def test_the_band_table_matches_the_code() -> None:
    assert "2023 Accelerate State of DevOps report" in DOC and dora.SOURCE.startswith("2023 Accelerate State of DevOps report")
    # the table's edges, read as numbers: daily / weekly / monthly; a day / a week / a month; 5/10/15 %; an hour / a day / a week
    assert [floor for floor, _ in dora.FREQUENCY] == [1.0, 1 / 7, 1 / 30]
    assert [(h, inclusive) for h, inclusive, _ in dora.LEAD_TIME] == [(24.0, False), (168.0, True), (720.0, True)]
    assert [c for c, _ in dora.FAILURE_RATE] == [0.05, 0.10, 0.15]
    assert [(h, inclusive) for h, inclusive, _ in dora.RESTORE] == [(1.0, False), (24.0, False), (168.0, True)]
    for row in ("| deployment frequency | at least daily | at least weekly | at least monthly | less often |",
                "| lead time for changes | under a day | up to a week | up to a month | longer |",
                "| change failure rate | up to 5 % | up to 10 % | up to 15 % | more |",
                "| time to restore | under an hour | under a day | up to a week | longer |"):
        assert row in DOC
    assert "at least 5 points" in DOC and dora.REGRESSION_RISE == 0.05 and dora.REGRESSION_MIN_CALLS == 20
