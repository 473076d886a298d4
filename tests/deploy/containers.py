"""Helpers for the container tests (importable: pytest puts this folder on sys.path).

Podman runs with a containers.conf and a storage root of the test's own (nothing of the
machine's podman configuration or images is read or changed), and the base image is a
minimal Debian built by mmdebstrap, cached for the day under ~/.cache/hyperdeliver/: no
registry is reached.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from waiting import wait_until

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CONTAINERS_CONF = """\
# Written by hyperdeliver's container tests: no systemd here, so runc with cgroupfs,
# events to a file, and explicit ulimits.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
DEBIAN_SUITES = {(3, 11): "bookworm", (3, 13): "trixie"}
"""The Debian release whose python3 is this Python: the wheels built here install there."""


def missing_tools() -> str | None:
    """Why real containers cannot run here, or None."""
    if os.geteuid() != 0:
        return "podman and mmdebstrap need root here (./dev test and .ci/run install them as root)"
    for tool in ("podman", "mmdebstrap", "runc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install podman buildah runc mmdebstrap uidmap fuse-overlayfs slirp4netns)"
    if sys.version_info[:2] not in DEBIAN_SUITES:
        return f"no Debian release ships Python {sys.version_info.major}.{sys.version_info.minor} to build a matching base image"
    return None


class Podman:
    """``podman(*args)``: podman with this test session's config and storage."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.conf = home / "containers.conf"
        self.conf.write_text(CONTAINERS_CONF)
        self.env = {**os.environ, "CONTAINERS_CONF": str(self.conf)}
        self.base = ["podman", "--root", str(home / "storage"), "--runroot", str(home / "run"), "--storage-driver", "overlay"]

    def __call__(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([*self.base, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def inspect(self, kind: str, name: str) -> dict[str, Any]:
        return json.loads(self(kind, "inspect", name).stdout)[0]

    def exit_code(self, container: str) -> int:
        return int(self.inspect("container", container)["State"]["ExitCode"])

    def logs(self, container: str) -> str:
        r = self("logs", container, check=False)
        return r.stdout + r.stderr

    def wait_for_log(self, container: str, needle: str, timeout: float = 60) -> None:
        wait_until(lambda: needle in self.logs(container), f"{needle!r} in the logs of {container}", timeout=timeout)

    def file_lines(self, container: str, path: str) -> list[str]:
        r = self("exec", container, "cat", path, check=False)
        return r.stdout.split() if r.returncode == 0 else []

    def cleanup(self) -> None:
        """Remove every pod and container, then the storage: nothing is mounted once no
        container is left. Deleting a few hundred MB of layers takes half a minute on a
        busy machine, so ``rm -rf`` goes on in the background after the session."""
        self("pod", "rm", "--all", "--force", check=False)
        self("rm", "--all", "--force", "--time", "0", check=False)
        subprocess.Popen(["rm", "-rf", "--one-file-system", str(self.home)], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def base_image(podman: Podman) -> str:
    """A Debian image with python3 and its venv module, imported into ``podman``'s storage.

    mmdebstrap builds it once a day (about 40 s); the tarball is kept under
    ~/.cache/hyperdeliver/ keyed by the date, and older ones are deleted.
    """
    suite = DEBIAN_SUITES[sys.version_info[:2]]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hyperdeliver"
    cache.mkdir(parents=True, exist_ok=True)
    stamp = datetime.date.today().strftime("%Y%m%d")
    tarball = cache / f"debian-{suite}-python3-{stamp}.tar"
    if not tarball.is_file():
        partial = cache / f"partial-{os.getpid()}-{tarball.name}"
        r = subprocess.run(
            ["mmdebstrap", "--quiet", "--variant=apt", "--format=tar", "--include=python3,python3-venv,ca-certificates",
             suite, str(partial)],
            capture_output=True, text=True, timeout=600,
        )
        if r.returncode != 0:
            partial.unlink(missing_ok=True)
            raise AssertionError(f"mmdebstrap failed ({r.returncode}):\n{r.stderr[-3000:]}")
        os.replace(partial, tarball)
        for old in cache.glob(f"debian-{suite}-python3-*.tar"):
            if old != tarball:
                old.unlink(missing_ok=True)
    image = f"localhost/hyperdeliver-test-base:{suite}-{stamp}"
    podman("import", str(tarball), image, timeout=300)
    return image


def status(url: str) -> int | None:
    """The status ``GET url`` answers, or None when nothing answers."""
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None
