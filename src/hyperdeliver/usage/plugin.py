"""UsagePlugin: registers the recorder as a front-controller observer, starts the flusher,
records the running release at start-up, flushes on shutdown."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..plugins import Plugin
from .recorder import UsageRecorder

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("hyperdeliver.usage")


class UsagePlugin(Plugin):
    name = "usage"

    def setup(self, app: App) -> None:
        if not app.settings.usage_enabled:
            return
        from .retention import register_purge_cron

        rec = UsageRecorder(app)
        rec.purge_in_flusher = not register_purge_cron(app)
        app.usage = rec
        app.controller.observers.append(rec.observe)

    async def startup(self, app: App) -> None:
        rec = app.usage
        if rec is None:
            return
        await rec.start()
        if app.settings.release:
            from .queries import record_release

            try:
                await record_release(app, app.settings.release, app.settings.release_sha, if_new=True)
            except Exception:  # noqa: BLE001  (tables not migrated yet: the app still serves)
                log.warning("could not record release %s (is the database migrated?)", app.settings.release)

    async def shutdown(self, app: App) -> None:
        rec = app.usage
        if rec is not None:
            await rec.stop()
