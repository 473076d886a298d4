"""The generated project's image, built and run for real with podman (no registry, no
Docker engine): non-root with a read-only root filesystem, migrations as a one-off and
never on boot, /healthz and /readyz, SIGTERM drained by the web server and by the worker,
crons and the scheduler from the same image, and a web Deployment through ``podman kube play``.

Skipped with the reason where podman or mmdebstrap is missing or not root; run, never
skipped, under CI=true (``.ci/run`` and ``./dev test`` install them). One image is built
per session (about a minute with a cached base image).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml
from containers import CI, Podman, base_image, missing_tools, status
from hyper_cli import HYPER
from waiting import wait_until

from hyperdeliver.scaffold.new import new_project

pytestmark = pytest.mark.container
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
IMAGE = "localhost/acme:container-test"
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "wheels", ".pytest_cache", "node_modules", "test-output")
SECRET = "HYPER_SECRET_KEY=container-test-secret-not-for-production"


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    reason = missing_tools()
    if reason:
        if CI:
            pytest.fail(f"container tests must run under CI=true: {reason}")
        pytest.skip(f"container tests skipped: {reason}")
    # A short path of its own: podman's run root holds sockets, whose paths are limited.
    p = Podman(Path(tempfile.mkdtemp(prefix="hd-podman-")))
    yield p
    p.cleanup()


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of this checkout (no stale build/ or wheels/ to leak in)."""
    copy = tmp_path_factory.mktemp("hd-source") / "hyperdeliver"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE), symlinks=True)
    return copy


@pytest.fixture(scope="session")
def base(podman: Podman) -> str:
    return base_image(podman)


@pytest.fixture(scope="session")
def acme_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("container") / "acme"


@pytest.fixture(scope="session")
def acme_image(podman: Podman, base: str, source: Path, acme_project: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``hyper new acme`` plus a slow feature, its wheelhouse, and the image its Dockerfile
    builds on the local Debian base: the commands acme's README gives."""
    built = tmp_path_factory.mktemp("hd-wheel")
    _ok([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(built), str(source)], cwd=built)
    (wheel,) = built.glob("hyperdeliver-*.whl")
    project = new_project("acme", acme_project, owner="ada@acme.io", hyperdeliver_path=str(wheel), git=False)
    (project / "acme/features/slow").mkdir()
    shutil.copy(HERE / "slow_feature.py", project / "acme/features/slow/__init__.py")
    _ok([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", "wheels", "."], cwd=project)
    podman("build", "--pull=never", *_base_args(base), "--tag", IMAGE, str(project), timeout=900)
    return IMAGE


def _base_args(base: str) -> list[str]:
    image, tag = base.rsplit(":", 1)
    return ["--build-arg", f"BASE_IMAGE={image}", "--build-arg", f"BASE_TAG={tag}"]


def _ok(args: list[str], cwd: Path) -> None:
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{args} exited {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _name(role: str) -> str:
    return f"hd-test-{role}-{uuid.uuid4().hex[:8]}"


def _run(database_url: str, *env: str) -> list[str]:
    """``podman run`` as production would: read-only root, /tmp a tmpfs, settings from the
    environment. Host networking reaches PostgreSQL on 127.0.0.1 and lets the test reach
    the server."""
    flags = ["run", "--no-healthcheck", "--network", "host", "--read-only", "--tmpfs", "/tmp",
             "--env", f"HYPER_DATABASE_URL={database_url}", "--env", SECRET]
    for item in env:
        flags += ["--env", item]
    return flags


def _start_web(podman: Podman, image: str, database_url: str) -> tuple[str, str]:
    """The image's own command (``hyper serve``) on a free port; (container, base url)."""
    port = _free_port()
    web = _name("web")
    podman(*_run(database_url, f"HYPER_PORT={port}", "HYPER_GRACEFUL_TIMEOUT=20"), "--detach", "--name", web, image)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: status(base + "/healthz") == 200 or not _running(podman, web), "the web container to answer /healthz")
    assert _running(podman, web), podman.logs(web)
    return web, base


def _running(podman: Podman, container: str) -> bool:
    return bool(podman.inspect("container", container)["State"]["Running"])


def _upgrade(podman: Podman, image: str, database_url: str) -> None:
    r = podman(*_run(database_url), "--rm", image, "hyper", "db", "upgrade")
    assert "database at" in r.stdout + r.stderr


def _fetch(url: str) -> int:
    async def go() -> int:
        conn = await asyncpg.connect(url.split("?")[0])
        try:
            return int(await conn.fetchval("SELECT count(*) FROM hd_jobs WHERE task LIKE '%nap' AND status = 'done'"))
        finally:
            await conn.close()

    return asyncio.run(go())


def test_the_image_runs_as_uid_10001_serves_by_default_and_ships_no_build_tools(podman: Podman, acme_image: str) -> None:
    config = podman.inspect("image", acme_image)["Config"]
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == ["hyper", "serve"]  # exec form: hyper is PID 1 and receives SIGTERM
    assert not config.get("Entrypoint")
    assert "8000/tcp" in config["ExposedPorts"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert (env["HYPER_HOST"], env["HYPER_PORT"], env["HYPER_APP"]) == ("0.0.0.0", "8000", "acme.app:create_app")
    assert env["HYPER_VAR_DIR"].startswith("/tmp/") and "HYPER_SECRET_KEY" not in env
    r = podman("run", "--rm", "--no-healthcheck", "--network", "none", "--read-only", "--tmpfs", "/tmp", acme_image,
               "sh", "-c", "id -u; test ! -e /wheels && test ! -e /opt/venv/bin/pip && echo clean; touch /opt/x || echo read-only")
    assert r.stdout.split() == ["10001", "clean", "read-only"], r.stdout + r.stderr


def test_web_never_migrates_on_boot_answers_probes_and_drains_requests_on_sigterm(
    podman: Podman, acme_image: str, postgres_url: str
) -> None:
    web, base = _start_web(podman, acme_image, postgres_url)
    # Booting did not migrate: alive, not ready.
    ready = httpx.get(base + "/readyz", timeout=5)
    assert (ready.status_code, ready.json()["migrations_current"]) == (503, False)
    _upgrade(podman, acme_image, postgres_url)  # the one-off, as a migration Job runs it
    assert httpx.get(base + "/readyz", timeout=5).json() == {"status": "ok", "database": True, "migrations_current": True}

    results: list[object] = []

    def get() -> None:
        try:
            results.append(httpx.get(base + "/slow", params={"seconds": 3}, timeout=60).status_code)
        except httpx.HTTPError as exc:
            results.append(repr(exc))

    threads = [threading.Thread(target=get, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    wait_until(lambda: podman.file_lines(web, "/tmp/hd-started").count("request") == 3, "three slow requests in flight")
    # podman stop: SIGTERM (the image's STOPSIGNAL), SIGKILL after 25 s. Exit code 0 means
    # the server drained and exited by itself within that grace period.
    podman("stop", "--time", "25", web, timeout=120)
    for thread in threads:
        thread.join(timeout=60)
    assert results == [200, 200, 200]
    assert podman.exit_code(web) == 0
    logs = podman.logs(web)
    assert "Application shutdown complete" in logs and "Traceback" not in logs
    assert status(base + "/healthz") is None  # nothing listens any more


def test_worker_drains_its_job_on_sigterm_and_crons_run_from_the_same_image(
    podman: Podman, acme_image: str, postgres_url: str
) -> None:
    _upgrade(podman, acme_image, postgres_url)
    web, base = _start_web(podman, acme_image, postgres_url)
    assert httpx.post(base + "/naps", json={"seconds": 3}, timeout=10).status_code in (200, 204)
    podman("stop", "--time", "25", web, timeout=120)

    worker = _name("worker")
    podman(*_run(postgres_url, "HYPER_WORKER_POLL_INTERVAL=0.2", "HYPER_WORKER_DRAIN_TIMEOUT=20"),
           "--detach", "--name", worker, acme_image, "hyper", "worker", "--no-scheduler")
    wait_until(lambda: "job" in podman.file_lines(worker, "/tmp/hd-started"), "the worker to start the job")
    podman("stop", "--time", "25", worker, timeout=120)
    assert podman.exit_code(worker) == 0, podman.logs(worker)
    assert "draining 1 running job(s)" in podman.logs(worker)
    assert _fetch(postgres_url) == 1  # finished during the drain, not given back

    # A Kubernetes CronJob's command, and the in-process scheduler as its own process.
    r = podman(*_run(postgres_url), "--rm", acme_image, "hyper", "cron", "run", "count_missed_words")
    assert "Traceback" not in r.stdout + r.stderr
    scheduler = _name("scheduler")
    podman(*_run(postgres_url), "--detach", "--name", scheduler, acme_image, "hyper", "scheduler")
    podman.wait_for_log(scheduler, "cron(s): notes.count_missed_words")
    podman("stop", "--time", "25", scheduler, timeout=120)
    assert podman.exit_code(scheduler) == 0, podman.logs(scheduler)


def _web_deployment(name: str, image: str, database_url: str, port: int) -> dict[str, object]:
    """A web Deployment in the shape production wants: non-root, read-only root with an
    emptyDir at /tmp, no privilege escalation, no capabilities, a grace period above the
    drain. Host networking, as podman kube play here has no cluster network: the pod
    reaches PostgreSQL on 127.0.0.1 and the test reaches the pod."""
    labels = {"app.kubernetes.io/name": "acme", "app.kubernetes.io/component": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "hostNetwork": True,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001},
                    "containers": [{
                        "name": "web",
                        "image": image,
                        "imagePullPolicy": "Never",
                        "env": [
                            {"name": "HYPER_DATABASE_URL", "value": database_url},
                            {"name": "HYPER_PORT", "value": str(port)},
                            {"name": "HYPER_SECRET_KEY", "value": SECRET.split("=", 1)[1]},
                        ],
                        "securityContext": {
                            "readOnlyRootFilesystem": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def test_a_web_deployment_runs_under_podman_kube_play(podman: Podman, acme_image: str, postgres_url: str, tmp_path: Path) -> None:
    _upgrade(podman, acme_image, postgres_url)
    name, port = _name("deploy"), _free_port()
    manifest = tmp_path / "web-deployment.yaml"
    manifest.write_text(yaml.safe_dump(_web_deployment(name, acme_image, postgres_url, port), sort_keys=False))
    podman("kube", "play", str(manifest))
    pod, container = f"{name}-pod-0", f"{name}-pod-0-web"
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: status(base + "/healthz") == 200, "the kube-played web pod to answer /healthz")
        assert httpx.get(base + "/readyz", timeout=5).json()["status"] == "ok"
        info = podman.inspect("container", container)
        assert (info["HostConfig"]["ReadonlyRootfs"], info["Config"]["User"]) == (True, "10001:10001")
        podman("pod", "stop", "--time", "25", pod, timeout=120)
        assert podman.exit_code(container) == 0, podman.logs(container)
    finally:
        podman("kube", "down", str(manifest), check=False)


def test_the_demo_image_builds_from_the_root_dockerfile_and_runs_hyper_demo(podman: Podman, base: str, source: Path) -> None:
    """The teamboard demo's image, built as this repository's README says."""
    _ok([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", "wheels", "."], cwd=source)
    podman("build", "--pull=never", *_base_args(base), "--tag", "localhost/teamboard:container-test", str(source), timeout=900)
    demo, port = _name("demo"), _free_port()
    podman("run", "--detach", "--name", demo, "--no-healthcheck", "--network", "host", "--read-only", "--tmpfs", "/tmp",
           "localhost/teamboard:container-test", "hyper", "demo", "--port", str(port))
    base_url = f"http://127.0.0.1:{port}"
    wait_until(lambda: status(base_url + "/readyz") == 200 or not _running(podman, demo), "the demo to be ready")
    assert status(base_url + "/readyz") == 200, podman.logs(demo)
    assert "admin@teamboard.dev" in podman.logs(demo)  # seeded, its logins printed
    podman("stop", "--time", "25", demo, timeout=120)
    assert podman.exit_code(demo) == 0


@pytest.fixture(scope="session")
def k8s_render() -> None:
    """A skip where this checkout has no ``hyper k8s render`` yet, before any image is built."""
    r = subprocess.run([HYPER, "k8s", "render", "--help"], capture_output=True, timeout=120)
    if r.returncode != 0:
        pytest.skip("hyper k8s render is not in this checkout yet (issue 15's Kubernetes half)")


def _render(project: Path, image: str, out: Path) -> None:
    """``hyper k8s render`` of acme, as its README says (acme importable from its folder)."""
    env = {**os.environ, "PYTHONPATH": str(project), "HYPER_APP": "acme.app:create_app", "NO_COLOR": "1"}
    r = subprocess.run([HYPER, "k8s", "render", "--image", image, "--out", str(out)], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def _for_this_machine(deployment: dict, port: int, secrets: dict[str, str]) -> dict:
    """The rendered web Deployment, changed only where podman kube play on one machine
    differs from a cluster: host networking (no cluster network: the pod reaches
    PostgreSQL on 127.0.0.1, the test reaches the pod), so the port is a free one and no
    containerPort is mapped; one replica; the image is local; and the Secret's values
    given inline (podman 4.3 cannot read a Kubernetes Secret for secretKeyRef). Security
    contexts, the emptyDir at /tmp, the ConfigMap, preStop and the grace period stay."""
    spec = deployment["spec"]
    spec["replicas"] = 1
    pod = spec["template"]["spec"]
    pod["hostNetwork"] = True
    (container,) = pod["containers"]
    container.pop("ports", None)
    container["imagePullPolicy"] = "Never"
    command = container.get("command") or container.get("args")
    if command and "--port" in command:
        command[command.index("--port") + 1] = str(port)
    container["env"] = [
        {"name": e["name"], "value": secrets[e["name"]]} if "valueFrom" in e else e for e in container.get("env", [])
    ] + [{"name": "HYPER_PORT", "value": str(port)}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe in container and "httpGet" in container[probe]:
            container[probe]["httpGet"]["port"] = port
    return deployment


def test_the_rendered_web_deployment_runs_under_podman_kube_play(
    k8s_render: None, podman: Podman, acme_image: str, acme_project: Path, postgres_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "k8s"
    _render(acme_project, acme_image, out)
    _upgrade(podman, acme_image, postgres_url)  # what the release's migration Job runs
    deployment = yaml.safe_load((out / "base/web-deployment.yaml").read_text())
    grace = int(deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])
    port = _free_port()
    secrets = {"HYPER_DATABASE_URL": postgres_url, "HYPER_SECRET_KEY": SECRET.split("=", 1)[1]}
    manifest = tmp_path / "web-deployment.yaml"
    manifest.write_text(yaml.safe_dump(_for_this_machine(deployment, port, secrets), sort_keys=False))
    podman("kube", "play", "--configmap", str(out / "base/configmap.yaml"), str(manifest))
    name = deployment["metadata"]["name"]
    pod, container = f"{name}-pod-0", f"{name}-pod-0-{deployment['spec']['template']['spec']['containers'][0]['name']}"
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: status(base + "/readyz") == 200, "the rendered web pod to be ready", timeout=120)
        assert status(base + "/healthz") == 200
        info = podman.inspect("container", container)
        assert info["HostConfig"]["ReadonlyRootfs"] is True and info["Config"]["User"].startswith("10001")
        podman("pod", "stop", "--time", str(grace), pod, timeout=grace + 60)
        assert podman.exit_code(container) == 0, podman.logs(container)
    finally:
        podman("kube", "down", str(manifest), check=False)
