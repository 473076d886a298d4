"""The README: it starts with the two commands, and its feature example works when pasted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_demo_and_test_commands() -> None:
    first_block = re.search(r"```console\n(.*?)```", README, re.S)
    assert first_block is not None and README.index("```console") < README.index("##")
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["./dev demo", "./dev test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.rstrip().endswith("./dev test")


def test_pasting_the_feature_example_into_the_demo_adds_a_working_endpoint(tmp_path: Path) -> None:
    example = re.search(r"```python\n(.*?)```", README, re.S)
    assert example is not None
    code = example.group(1)
    target = code.splitlines()[0].lstrip("# ").strip()
    assert target == "src/hyperdeliver/demo/teamboard/features/greetings/__init__.py"
    assert len([line for line in code.splitlines() if line.strip()]) <= 12
    # The demo copied as a top-level package, so the pasted file is imported from the copy.
    project = tmp_path / "project"
    shutil.copytree(ROOT / "src/hyperdeliver/demo/teamboard", project / "teamboard", ignore=shutil.ignore_patterns("__pycache__"))
    pasted = project / "teamboard/features/greetings/__init__.py"
    pasted.parent.mkdir(parents=True)
    pasted.write_text(code)
    script = """
import asyncio
from hyperdeliver import Settings
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.testing import TestClient
from teamboard.app import create_app

async def main():
    app = create_app(Settings(env="test", database_url="sqlite:///{db}", access_log=False))
    assert app.features["greetings"].owner == "you@example.com"
    await upgrade_async(app)
    async with TestClient(app) as c:
        r = await c.get("/greetings/Ada")
        print(r.status_code, r.text)
        q = await c.post("/graphql", json={{"query": '{{ greet(name: "Ada") {{ message }} }}'}})
        print(q.status_code, q.text)

asyncio.run(main())
""".format(db=tmp_path / "readme.sqlite3")
    env = {**os.environ, "PYTHONPATH": str(project)}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    rest, graphql = r.stdout.strip().splitlines()[-2:]
    assert rest == '200 {"message":"Hello, Ada!"}'
    assert graphql.startswith("200") and '"greet":{"message":"Hello, Ada!"}' in graphql
