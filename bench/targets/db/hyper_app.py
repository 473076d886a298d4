"""hyperdeliver's contender: the teamboard demo app itself (its list_tasks and
create_task), in production mode, usage recording off unless HYPER_USAGE_ENABLED=true."""

from __future__ import annotations

import os

from common import POOL, SECRET_KEY, URL

from hyperdeliver import Settings
from hyperdeliver.demo.teamboard.app import create_app

app = create_app(Settings(
    env="production", database_url=URL, secret_key=SECRET_KEY, access_log=False, token_cache_ttl=30.0, db_pool_size=POOL,
    usage_enabled=os.environ.get("HYPER_USAGE_ENABLED", "false") == "true",
))
