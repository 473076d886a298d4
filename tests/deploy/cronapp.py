"""A small app with two crons of its own (and no usage plugin, so no framework cron), a
task, and a cron with a seconds field behind a flag: what tests/deploy render."""

from __future__ import annotations

from hyperdeliver import PUBLIC, App, Context, Feature, Settings

feature = Feature("billing", owner="ada@example.com", summary="Invoices and reminders")


@feature.query("GET /invoices/count", roles=PUBLIC)
async def invoice_count(ctx: Context) -> dict[str, int]:
    return {"count": 0}


@feature.task(retries=2)
async def send_invoice(ctx: Context, invoice_id: int) -> None:
    """Send one invoice."""


@feature.cron("*/15 * * * *")
async def sync_payments(ctx: Context) -> None:
    """Every quarter hour."""


@feature.cron("0 3 * * 1", timeout=600)
async def weekly_report(ctx: Context) -> None:
    """Mondays 03:00 UTC."""


seconds = Feature("fast", owner="bob@example.com", summary="A cron every ten seconds")


@seconds.cron("* * * * * */10")
async def every_ten_seconds(ctx: Context) -> None:
    """Six fields: the sixth is the second."""


def create_app(settings: Settings | None = None) -> App:
    """Two crons, a task, the job queue and the ops endpoints."""
    from hyperdeliver.jobs import JobsPlugin
    from hyperdeliver.ops import OpsPlugin

    return App("cronshop", features=[feature], settings=settings, plugins=[JobsPlugin(), OpsPlugin()])


def create_app_with_seconds(settings: Settings | None = None) -> App:
    """The same and a cron with a seconds field, which a CronJob cannot express."""
    from hyperdeliver.jobs import JobsPlugin
    from hyperdeliver.ops import OpsPlugin

    return App("cronshop", features=[feature, seconds], settings=settings, plugins=[JobsPlugin(), OpsPlugin()])


def create_app_without_ops(settings: Settings | None = None) -> App:
    """No job queue and no /healthz, /readyz: no worker, no CronJob, and probes with nothing to call."""
    return App("cronshop", features=[feature], settings=settings, plugins=[])


def create_app_without_roles(settings: Settings | None = None) -> App:
    """An operation that declares no roles: the app refuses to start (hd.E001)."""
    careless = Feature("careless", owner="eve@example.com", summary="Forgot its roles")

    @careless.query("GET /open")
    async def open_door(ctx: Context) -> dict[str, str]:
        return {}

    return App("cronshop", features=[feature, careless], settings=settings, plugins=[])
