"""The one list of linter findings hyperdeliver's deploy files keep, with their reasons:
``lint-skips.txt`` beside this module (``deploy-lint-skips.txt`` at the repository's root).

A line is ``tool check resource-glob reason``; ``#`` starts a comment. For checkov on
Kubernetes manifests the glob matches checkov's resource id, ``Kind.namespace.name``.

Example:
    >>> [s.check for s in lint_skips("checkov") if s.matches("Deployment.shop.shop-worker")]
    ['CKV_K8S_43', 'CKV_K8S_35', 'CKV_K8S_8', 'CKV_K8S_9']
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ConfigurationError


def skips_file() -> Path:
    return Path(str(resources.files("hyperdeliver.deploy"))) / "lint-skips.txt"


@dataclass(frozen=True)
class LintSkip:
    """One kept finding: which tool, which check, on what, and why."""

    tool: str
    check: str
    resource: str
    """A glob on the tool's resource id (``*``: everywhere)."""
    reason: str

    def matches(self, resource_id: str) -> bool:
        return fnmatch.fnmatchcase(resource_id, self.resource)


def lint_skips(tool: str | None = None, path: Path | None = None) -> list[LintSkip]:
    """The skips of ``tool`` (all tools: None), in the file's order."""
    out = []
    for n, line in enumerate((path or skips_file()).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 4:
            raise ConfigurationError(f"lint-skips.txt line {n}: give the tool, the check, the resource and the reason")
        skip = LintSkip(*parts)
        if tool is None or skip.tool == tool:
            out.append(skip)
    return out
