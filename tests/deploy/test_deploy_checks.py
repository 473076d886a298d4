"""``hyper check [--deploy]``: each check's finding, the exit codes, and the database check
(the only connection it makes) on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployhelpers import hyper, settings
from hyperdeliver import Settings
from hyperdeliver.deploy import checks
from hyperdeliver.deploy.checks import CheckContext, Finding, Level, run

GOOD_KEY = secrets.token_urlsafe(48)
PROD = {"HYPER_ENV": "production", "HYPER_SECRET_KEY": GOOD_KEY, "HYPER_SECURE_COOKIES": "true", "HYPER_TRUSTED_PROXIES": "10.0.0.0/8"}
"""A sound production configuration but its database URL, as environment variables."""


def ids(findings: list[Finding]) -> list[str]:
    return [f.id for f in findings]


def production(**kw: object) -> Settings:
    # trusted_proxies: ignored by Settings that do not have it (extra="ignore")
    sound = {"env": "production", "secret_key": GOOD_KEY, "database_url": "postgresql://u@db.invalid/x", "secure_cookies": True,
             "trusted_proxies": "10.0.0.0/8"}
    return settings(**(sound | kw))


def test_a_sound_production_configuration_has_no_settings_findings() -> None:
    assert run(CheckContext(production(), deploy=True, database=False)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"env": "dev"}, "hd.E101"),
        ({"secret_key": "dev-insecure-secret-change-me"}, "hd.E102"),
        ({"secret_key": "short-key"}, "hd.W103"),
        ({"secret_key": "ab" * 40}, "hd.W103"),  # long, but two distinct characters
        ({"database_url": None}, "hd.E104"),
        ({"database_url": "sqlite:////var/lib/app.sqlite3"}, "hd.E104"),
        ({"database_url": "sqlite+aiosqlite:///app.db"}, "hd.E104"),
        ({"secure_cookies": False}, "hd.W107"),
        ({"graphql_introspection": True}, "hd.W109"),
        ({"db_echo": True}, "hd.W110"),
        ({"hsts_max_age": 0}, "hd.W108"),
        ({"hsts_max_age": 86400}, "hd.W108"),
        ({"security_headers": False}, "hd.W117"),
        ({"graphql_suggestions": True}, "hd.W118"),
        ({"login_max_failures_per_ip": 1000}, "hd.W119"),
        ({"login_window": 10}, "hd.W119"),
        ({"auth_epoch_interval": 60}, "hd.W120"),
        ({"token_cache_ttl": 3600}, "hd.W120"),
        ({"trusted_proxies": ""}, "hd.W105"),
        ({"trusted_proxies": "0.0.0.0/0"}, "hd.W105"),
    ],
)
def test_each_weakened_setting_is_named(change: dict[str, object], expected: str) -> None:
    assert ids(run(CheckContext(production(**change), deploy=True, database=False))) == [expected]


def test_deploy_checks_run_only_with_deploy() -> None:
    ctx = CheckContext(production(env="dev", secret_key="dev-insecure-secret-change-me"), deploy=False, database=False)
    assert run(ctx) == []


class ProxySettings(Settings):
    """Settings with the security settings another part of hyperdeliver adds."""

    trusted_proxies: list[str] = []
    allowed_hosts: list[str] = []
    hsts_max_age: int = 0


def test_trusted_proxies_allowed_hosts_and_hsts_when_the_settings_have_them() -> None:
    base = {"env": "production", "secret_key": GOOD_KEY, "database_url": "postgresql://u@h/x", "secure_cookies": True}
    weak = ProxySettings(**base)  # type: ignore[arg-type]
    assert ids(run(CheckContext(weak, deploy=True, database=False))) == ["hd.W105", "hd.W106", "hd.W108"]
    everyone = ProxySettings(**base, trusted_proxies=["0.0.0.0/0"], allowed_hosts=["*"], hsts_max_age=0)  # type: ignore[arg-type]
    assert "trusts every peer" in run(CheckContext(everyone, deploy=True, database=False))[0].message
    strong = ProxySettings(**base, trusted_proxies=["10.0.0.0/8"], allowed_hosts=["shop.example.com"], hsts_max_age=31536000)  # type: ignore[arg-type]
    assert run(CheckContext(strong, deploy=True, database=False)) == []


def test_a_check_that_raises_is_reported_and_the_others_still_run() -> None:
    def broken(ctx: CheckContext) -> Iterator[Finding]:
        raise RuntimeError("boom")
        yield  # pragma: no cover

    extra = [checks.Check(broken, deploy=True), *checks.CHECKS]
    found = run(CheckContext(production(env="dev"), deploy=True, database=False), extra)
    assert ids(found) == ["hd.E100", "hd.E101"] and "broken failed: RuntimeError: boom" in found[0].message


def test_a_check_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered already"):
        checks.register()(checks.env_is_production)


def test_checks_are_small_functions_with_documented_ids() -> None:
    """Every id a check can give is in docs/deploy.md, and every check says its ids in its docstring."""
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    for check in checks.CHECKS:
        said = re.findall(r"hd\.[EWI]\d{3}", check.function.__doc__ or "")
        assert said, f"{check.function.__name__} names no id in its docstring"
        for ident in said:
            assert f"`{ident}`" in docs, f"{ident} is not documented in docs/deploy.md"


# -- the command -------------------------------------------------------------------------


def test_check_without_deploy_passes_a_sound_app(tmp_path: Path) -> None:
    run_ = hyper("check", cwd=tmp_path)
    assert run_.returncode == 0, run_.stdout + run_.stderr
    assert run_.stdout.strip() == "hyper check: no issues (0 at or above ERROR)"


def test_check_deploy_on_dev_defaults_fails_with_each_problem(tmp_path: Path) -> None:
    run_ = hyper("check", "--deploy", "--no-database", cwd=tmp_path)
    assert run_.returncode == 1
    lines = run_.stdout.splitlines()
    found = [line.split()[0] for line in lines[:-1]]
    assert found[:3] == ["hd.E101", "hd.E102", "hd.E104"] and "hd.W107" in found
    assert re.fullmatch(r"hyper check --deploy: \d warnings?, 3 errors \(3 at or above ERROR\)", lines[-1]), lines[-1]


def test_an_operation_without_roles_is_a_finding(tmp_path: Path) -> None:
    run_ = hyper("check", cwd=tmp_path, app="cronapp:create_app_without_roles")
    assert run_.returncode == 1
    assert run_.stdout.startswith("hd.E001 ERROR: careless.open_door (GET /open) declares no roles"), run_.stdout


def test_render_problems_are_findings(tmp_path: Path) -> None:
    env = PROD | {"HYPER_DATABASE_URL": "postgresql://u@h/x"}
    run_ = hyper("check", "--deploy", "--no-database", cwd=tmp_path, app="cronapp:create_app_with_seconds", **env)
    assert run_.returncode == 1 and run_.stdout.startswith("hd.E113 ERROR: hyper k8s render fails: cron fast.every_ten_seconds")
    run_ = hyper("check", "--deploy", "--no-database", "--scheduler", "deployment", cwd=tmp_path, app="cronapp:create_app_with_seconds", **env)
    assert run_.returncode == 0, run_.stdout
    run_ = hyper("check", "--deploy", "--no-database", cwd=tmp_path, app="cronapp:create_app_without_ops", **env)
    assert run_.returncode == 1 and run_.stdout.startswith("hd.E115 ERROR: the app serves no /healthz and /readyz"), run_.stdout


def test_fail_level_and_json(tmp_path: Path) -> None:
    env = PROD | {"HYPER_DATABASE_URL": "postgresql://u@h/x", "HYPER_DB_ECHO": "true"}
    warned = hyper("check", "--deploy", "--no-database", "--json", cwd=tmp_path, **env)
    assert warned.returncode == 0, warned.stdout
    report = json.loads(warned.stdout)
    assert [f["id"] for f in report["findings"]] == ["hd.W110"] and report["failed"] is False
    strict = hyper("check", "--deploy", "--no-database", "--fail-level", "warning", cwd=tmp_path, **env)
    assert strict.returncode == 1 and strict.stdout.splitlines()[-1].endswith("(1 at or above WARNING)")
    bad = hyper("check", "--fail-level", "loud", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr == "hyper: --fail-level 'loud': use DEBUG, INFO, WARNING, ERROR, CRITICAL\n"


def test_an_unreachable_database_is_one_finding_within_the_timeout(tmp_path: Path) -> None:
    env = PROD | {"HYPER_DATABASE_URL": "postgresql://u@127.0.0.1:1/x"}
    run_ = hyper("check", "--deploy", "--db-timeout", "2", cwd=tmp_path, **env)
    assert run_.returncode == 1 and run_.stdout.startswith("hd.E112 ERROR: "), run_.stdout
    skipped = hyper("check", "--deploy", "--no-database", cwd=tmp_path, **env)
    assert skipped.returncode == 0, skipped.stdout


@pytest.mark.postgres
def test_migrations_at_head_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    from hyperdeliver.db.migrate import upgrade_async
    from hyperdeliver.demo.teamboard.app import create_app

    env = PROD | {"HYPER_DATABASE_URL": postgres_url}
    spec = "hyperdeliver.demo.teamboard.app:create_app"
    behind = hyper("check", "--deploy", cwd=tmp_path, app=spec, **env)
    assert behind.returncode == 1 and behind.stdout.startswith("hd.E111 ERROR: the database is not migrated (pending: "), behind.stdout
    app = create_app(settings(database_url=postgres_url))

    async def migrate() -> None:
        try:
            await upgrade_async(app)
        finally:
            await app.database.dispose()

    asyncio.run(migrate())
    current = hyper("check", "--deploy", cwd=tmp_path, app=spec, **env)
    assert current.returncode == 0, current.stdout
    assert current.stdout.strip() == "hyper check --deploy: no issues (0 at or above ERROR)"

    async def newer_release() -> None:
        import sqlalchemy as sa

        try:
            async with app.database.engine.begin() as conn:
                await conn.execute(sa.text("UPDATE alembic_version SET version_num = 'teamboard_0999' WHERE version_num = 'teamboard_0002'"))
        finally:
            await app.database.dispose()

    asyncio.run(newer_release())
    ahead = hyper("check", "--deploy", cwd=tmp_path, app=spec, **env)
    assert ahead.returncode == 0, ahead.stdout
    assert ahead.stdout.startswith("hd.W116 WARNING: the database is ahead of this code (revisions it does not know: teamboard_0999)")


def test_levels_order() -> None:
    assert Level.WARNING < Level.ERROR < Level.CRITICAL


def test_unsound_manifests_are_named() -> None:
    """hd.E114 on what a template change could break: no kind, a name Kubernetes refuses, a name twice."""
    from hyperdeliver.deploy.checks import _sound

    seen: dict[tuple[str, str, str], str] = {}
    good = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop-web", "namespace": "shop"}}
    assert list(_sound("a.yaml", good, seen)) == []
    found = [
        *_sound("b.yaml", good, seen),
        *_sound("c.yaml", {"kind": "Service"}, seen),
        *_sound("d.yaml", {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "x" * 53}}, seen),
        *_sound("e.yaml", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Shop_Settings"}}, seen),
    ]
    assert [f.id for f in found] == ["hd.E114"] * 4
    assert "also rendered in a.yaml" in found[0].message and "without apiVersion" in found[1].message
    assert "at most 52" in found[2].message and "'Shop_Settings'" in found[3].message
