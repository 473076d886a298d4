"""hyper k8s render's manifests, read back as YAML: what each resource promises."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from deployhelpers import IMAGE, docs, of_kind, settings
from hyperdeliver import App
from hyperdeliver.deploy.image import ImageRef
from hyperdeliver.deploy.k8s import GRACE_MARGIN_SECONDS, PRE_STOP_SECONDS, UID, K8sOptions, render, slug
from hyperdeliver.errors import ConfigurationError

Render = Callable[..., dict[str, str]]


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]  # type: ignore[no-any-return]


def _deployment(files: dict[str, str], component: str) -> dict[str, Any]:
    [d] = [d for d in of_kind(files, "Deployment") if d["metadata"]["labels"]["app.kubernetes.io/component"] == component]
    return d


def test_a_project_with_two_crons_renders_two_cronjobs_with_their_schedules(cron_app: App, render_app: Render) -> None:
    files = render_app(cron_app)
    cronjobs = {c["metadata"]["annotations"]["hyperdeliver.dev/cron"]: c for c in of_kind(files, "CronJob")}
    assert set(cronjobs) == {"billing.sync_payments", "billing.weekly_report"}
    assert cronjobs["billing.sync_payments"]["spec"]["schedule"] == "*/15 * * * *"
    assert cronjobs["billing.weekly_report"]["spec"]["schedule"] == "0 3 * * 1"
    for task, cj in cronjobs.items():
        spec = cj["spec"]
        assert spec["timeZone"] == "Etc/UTC" and spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        job = spec["jobTemplate"]["spec"]
        assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] > 0 and job["ttlSecondsAfterFinished"] > 0
        [container] = _pod(cj)["containers"]
        assert container["command"] == ["hyper", "cron", "run", task]
        assert len(cj["metadata"]["name"]) <= 52
    # The cron's own timeout bounds its Job (with a minute to start); no timeout: an hour.
    assert cronjobs["billing.weekly_report"]["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 660
    assert cronjobs["billing.sync_payments"]["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 3600
    # The worker does not enqueue crons too: the CronJobs do.
    assert _deployment(files, "worker")["spec"]["template"]["spec"]["containers"][0]["command"] == ["hyper", "worker", "--no-scheduler"]
    assert "base/cronjob-billing-sync-payments.yaml" in files and "base/cronjob-billing-weekly-report.yaml" in files


def test_a_cron_with_seconds_needs_the_scheduler_deployment(render_app: Render) -> None:
    import cronapp

    app = cronapp.create_app_with_seconds(settings())
    with pytest.raises(ConfigurationError) as err:
        render_app(app)
    message = str(err.value)
    assert "\n" not in message and "fast.every_ten_seconds" in message and "--scheduler deployment" in message
    files = render_app(app, scheduler="deployment")
    assert of_kind(files, "CronJob") == []
    scheduler = _deployment(files, "scheduler")
    assert scheduler["spec"]["replicas"] == 1 and scheduler["spec"]["strategy"]["type"] == "Recreate"
    assert scheduler["spec"]["template"]["spec"]["containers"][0]["command"] == ["hyper", "scheduler"]


def test_web_deployment_rolls_safely_and_probes_the_right_endpoints(teamboard_app: App, render_app: Render) -> None:
    files = render_app(teamboard_app)
    web = _deployment(files, "web")
    assert web["spec"]["replicas"] >= 2
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    [c] = web["spec"]["template"]["spec"]["containers"]
    assert c["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"  # never the database
    assert c["command"][:2] == ["hyper", "serve"] and c["image"] == IMAGE
    assert {"requests", "limits"} <= set(c["resources"]) and {"cpu", "memory"} <= set(c["resources"]["limits"])
    assert len(web["spec"]["template"]["spec"]["topologySpreadConstraints"]) == 2
    [pdb] = of_kind(files, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == web["spec"]["selector"]["matchLabels"]
    [svc] = of_kind(files, "Service")
    assert svc["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert of_kind(files, "HorizontalPodAutoscaler") == []


def test_grace_period_covers_pre_stop_and_the_drain(render_app: Render) -> None:
    """terminationGracePeriodSeconds = preStop sleep + HYPER_GRACEFUL_TIMEOUT + margin, from the app's settings."""
    from hyperdeliver.demo.teamboard.app import create_app

    files = render_app(create_app(settings(graceful_timeout=42.5, worker_drain_timeout=50)))
    web = _deployment(files, "web")["spec"]["template"]["spec"]
    assert web["containers"][0]["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRE_STOP_SECONDS)]
    assert web["terminationGracePeriodSeconds"] == PRE_STOP_SECONDS + 43 + GRACE_MARGIN_SECONDS
    assert _deployment(files, "worker")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 50
    [cm] = of_kind(files, "ConfigMap")
    assert cm["data"]["HYPER_GRACEFUL_TIMEOUT"] == "43" and cm["data"]["HYPER_WORKER_DRAIN_TIMEOUT"] == "50"


def test_every_pod_is_locked_down(teamboard_app: App, render_app: Render) -> None:
    files = render_app(teamboard_app, hpa=True)
    pods = [d for d in docs(files) if d["kind"] in ("Deployment", "Job", "CronJob")]
    assert {d["kind"] for d in pods} == {"Deployment", "Job", "CronJob"}
    for doc in pods:
        pod = _pod(doc)
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert pod["automountServiceAccountToken"] is False, where
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == UID, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"], where
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"] and sc["runAsUser"] == UID and sc["runAsNonRoot"] is True, where
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"], where
            assert c["image"] == IMAGE and c["imagePullPolicy"] == "Always", where
    [sa] = of_kind(files, "ServiceAccount")
    assert sa["automountServiceAccountToken"] is False


def test_secrets_are_referenced_by_name_never_rendered(teamboard_app: App, render_app: Render) -> None:
    files = render_app(teamboard_app)
    assert of_kind(files, "Secret") == []
    [cm] = of_kind(files, "ConfigMap")
    assert not {"HYPER_DATABASE_URL", "HYPER_SECRET_KEY"} & set(cm["data"])
    assert cm["data"]["HYPER_ENV"] == "production" and cm["data"]["HYPER_TRUSTED_PROXIES"] == "10.0.0.0/8"
    assert cm["data"]["HYPER_RELEASE"] == "1.4.0" and cm["data"]["HYPER_SECURE_COOKIES"] == "true"
    for doc in docs(files):
        if doc["kind"] in ("Deployment", "Job", "CronJob"):
            for c in _pod(doc)["containers"]:
                refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]}
                assert refs == {
                    "HYPER_DATABASE_URL": {"name": "teamboard-secrets", "key": "database-url"},
                    "HYPER_SECRET_KEY": {"name": "teamboard-secrets", "key": "secret-key"},
                }
                assert c["envFrom"] == [{"configMapRef": {"name": "teamboard-settings"}}]


def test_migration_job_is_named_per_release_and_runs_once(teamboard_app: App, render_app: Render) -> None:
    [job] = of_kind(render_app(teamboard_app), "Job")
    assert job["metadata"]["name"] == "teamboard-migrate-1-4-0"
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] > 0 and job["spec"]["ttlSecondsAfterFinished"] > 0
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["containers"][0]["command"] == ["hyper", "db", "upgrade"]
    digest = "sha256:" + "0123456789abcdef" * 4
    [job2] = of_kind(render_app(teamboard_app, image=f"registry.example.com/teamboard@{digest}"), "Job")
    assert job2["metadata"]["name"] == "teamboard-migrate-sha256-0123456789ab"
    assert _pod(job2)["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_hpa_replaces_the_fixed_replica_count(teamboard_app: App, render_app: Render) -> None:
    files = render_app(teamboard_app, hpa=True)
    [hpa] = of_kind(files, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "teamboard-web" and hpa["spec"]["minReplicas"] >= 2
    assert "replicas" not in _deployment(files, "web")["spec"]


def test_network_policies_admit_http_to_web_only(teamboard_app: App, render_app: Render) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(render_app(teamboard_app), "NetworkPolicy")}
    assert policies["teamboard-default"]["podSelector"] == {} and "ingress" not in policies["teamboard-default"]
    assert policies["teamboard-web"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8000}]}]


def test_overlays_set_namespace_and_replicas(teamboard_app: App, render_app: Render) -> None:
    import yaml

    files = render_app(teamboard_app, envs=("production",))
    assert not any(p.startswith("overlays/staging/") for p in files)
    k = yaml.safe_load(files["overlays/production/kustomization.yaml"])
    assert k["namespace"] == "teamboard-production" and k["resources"] == ["../../base"]
    patches = {p["target"]["name"]: yaml.safe_load(p["patch"]) for p in k["patches"]}
    assert patches["teamboard-web"] == [{"op": "add", "path": "/spec/replicas", "value": 3}]


def test_an_app_without_jobs_has_no_worker_nor_cronjobs(render_app: Render) -> None:
    import cronapp

    files = render_app(cronapp.create_app_without_ops(settings()))
    assert [d["metadata"]["name"] for d in of_kind(files, "Deployment")] == ["cronshop-web"]
    assert of_kind(files, "CronJob") == []


def test_rendering_is_deterministic(teamboard_app: App, render_app: Render) -> None:
    assert render_app(teamboard_app) == render_app(teamboard_app)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"image": "teamboard"}, "has no tag or digest"),
        ({"image": ""}, "--image is empty"),
        ({"image": "teamboard:latest"}, "'latest' names no release"),
        ({"image": "Team Board:1"}, "is not an image reference"),
        ({"image": "teamboard:1", "envs": ("prod",)}, "--env 'prod' is not an environment"),
        ({"image": "teamboard:1", "envs": ()}, "no environment"),
        ({"image": "teamboard:1", "scheduler": "systemd"}, "--scheduler 'systemd'"),
        ({"image": "teamboard:1", "namespace": "Team_Board"}, "--namespace 'Team_Board' is not a Kubernetes name"),
        ({"image": "teamboard:1", "trusted_proxies": "everyone"}, "--trusted-proxies 'everyone'"),
    ],
)
def test_bad_options_fail_in_one_line(options: dict[str, Any], says: str, teamboard_app: App) -> None:
    with pytest.raises(ConfigurationError) as err:
        render(teamboard_app, K8sOptions(**options))
    assert says in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "repository", "tag", "digest"),
    [
        ("shop:1.4.0", "shop", "1.4.0", None),
        ("localhost:5000/acme/shop:v2", "localhost:5000/acme/shop", "v2", None),
        ("ghcr.io/acme/shop:1.4.0@sha256:" + "a" * 64, "ghcr.io/acme/shop", "1.4.0", "sha256:" + "a" * 64),
    ],
)
def test_image_references(text: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = ImageRef.parse(text)
    assert (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)


def test_a_registry_port_is_not_a_tag() -> None:
    with pytest.raises(ConfigurationError, match="has no tag or digest"):
        ImageRef.parse("localhost:5000/shop")


def test_long_names_are_shortened_to_kubernetes_limits() -> None:
    name = slug("a_very_long_feature_name.with_an_even_longer_cron_function_name", 52)
    assert len(name) == 52 and name == slug("a_very_long_feature_name.with_an_even_longer_cron_function_name", 52)
    assert name != slug("a_very_long_feature_name.with_an_even_longer_cron_function_name_2", 52)


def test_the_configmap_sets_only_settings_hyper_reads(teamboard_app: App, render_app: Render) -> None:
    from hyperdeliver import Settings

    [cm] = of_kind(render_app(teamboard_app), "ConfigMap")
    known = {f"HYPER_{name.upper()}" for name in Settings.model_fields} | {"HYPER_APP"}
    # HYPER_TRUSTED_PROXIES: the trusted proxies setting of the security work (issue 17);
    # Settings without it ignore the variable (extra="ignore").
    assert set(cm["data"]) - known <= {"HYPER_TRUSTED_PROXIES"}
