"""``hyperdeliver.cli.asgi:app``: the app named by HYPER_APP, for uvicorn (and its reloader).

Under ``hyper dev`` (``HYPER_DEV_MIGRATE=1``) each process the reloader starts applies the
pending migrations at start-up (:class:`MigrateOnStartup`), so a revision added while it
runs is applied at the reload it triggers.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

from ..plugins import Plugin
from .loader import load_app

if TYPE_CHECKING:
    from ..app import App


class MigrateOnStartup(Plugin):
    """The plugin ``hyper dev`` puts first in the app's: every (re)start applies the
    pending migrations, then says in one line each which model tables no migration
    creates, and what to run."""

    name = "dev-migrate"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr

    async def startup(self, app: App) -> None:
        from ..db.migrate import current_async, missing_model_tables, upgrade_async

        before = await current_async(app)
        await upgrade_async(app)
        after = await current_async(app)
        if after != before:
            self.out.write(f"hyper dev: migrated the database to {', '.join(sorted(after))}\n")
        for table in await missing_model_tables(app):
            self.out.write(
                f"hyper dev: no migration creates the table {table!r} of a model: "
                f"run hyper db revision -m 'add {table}' (applied at the next reload)\n"
            )
        self.out.flush()


app = load_app()
if os.environ.get("HYPER_DEV_MIGRATE") == "1":
    app.plugins.insert(0, MigrateOnStartup())  # before the plugins that read the tables
