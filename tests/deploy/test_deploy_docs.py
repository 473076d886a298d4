"""docs/deploy.md's Containers section and the Dockerfiles name only variables hyper reads."""

from __future__ import annotations

import re
from pathlib import Path

from hyperdeliver import Settings

REPO = Path(__file__).resolve().parents[2]
CLI_VARIABLES = {"HYPER_APP", "HYPER_HOST", "HYPER_PORT", "HYPER_WORKERS"}
"""Read by the ``hyper`` command line itself, not by Settings."""


def _known() -> set[str]:
    return {f"HYPER_{name.upper()}" for name in Settings.model_fields} | CLI_VARIABLES


def test_the_containers_section_names_real_variables() -> None:
    doc = (REPO / "docs/deploy.md").read_text()
    section = doc.split("\n## Containers\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"\bHYPER_[A-Z_]+\b", section))
    assert {"HYPER_GRACEFUL_TIMEOUT", "HYPER_WORKER_DRAIN_TIMEOUT", "HYPER_DATABASE_URL"} <= named
    assert named - _known() == set()


def test_the_dockerfiles_set_real_variables() -> None:
    template = REPO / "src/hyperdeliver/scaffold/templates/project/Dockerfile.j2"
    for path in (template, REPO / "Dockerfile"):
        named = set(re.findall(r"\b(HYPER_[A-Z_]+)=", path.read_text()))
        assert named and named - _known() == set(), path
