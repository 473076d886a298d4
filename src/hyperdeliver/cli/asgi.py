"""``hyperdeliver.cli.asgi:app``: the app named by HYPER_APP, for uvicorn (and its reloader).

Under ``hyper dev`` (``HYPER_DEV_MIGRATE=1``) each process the reloader starts applies the
pending migrations at start-up, so a revision added while it runs is applied at the
reload it triggers.
"""

from __future__ import annotations

import os

from .loader import load_app

app = load_app()
if os.environ.get("HYPER_DEV_MIGRATE") == "1":
    from ..db.migrate import MigrateOnStartup

    app.plugins.insert(0, MigrateOnStartup())  # before the plugins that read the tables
