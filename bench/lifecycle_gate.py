"""What the lifecycle gate costs per call, from its in-memory snapshot (no database).

Run: ``.venv/bin/python bench/lifecycle_gate.py``. Prints nanoseconds per gate call for
an active feature (the common case), a deprecated one (three headers), and a 20 %
rollout (a sha256 of the feature and user id per call).
"""

from __future__ import annotations

import timeit
from datetime import date, datetime, timezone

from hyperdeliver import PUBLIC, App, Feature, Settings
from hyperdeliver.auth.principal import Principal
from hyperdeliver.context import Context
from hyperdeliver.lifecycle.gate import LifecycleGate
from hyperdeliver.lifecycle.states import FeatureState, Flag


def main() -> None:
    features = [Feature(n, owner="bench@example.com") for n in ("plain", "old", "rollout")]
    for f in features:

        async def handler(ctx: Context) -> None:
            return None

        handler.__name__ = f"get_{f.name}"
        f.query(f"GET /{f.name}", roles=PUBLIC)(handler)
    app = App("bench", features=features, settings=Settings(env="test", database_url="sqlite://", access_log=False))
    store = app.lifecycle
    since = datetime(2026, 11, 1, tzinfo=timezone.utc)
    store.rules = {
        "old": FeatureState("old", "deprecated", date(2027, 3, 1), "https://example.com/m", since),
        "rollout": FeatureState("rollout", "active", flag=Flag(True, 20)),
    }
    gate = LifecycleGate(store)
    user = Principal(user_id=42, email="u@example.com", roles=frozenset({"member"}), effective_roles=frozenset({"member"}), via="session")
    n = 200_000
    print(f"lifecycle gate, {n:,} calls each (ns per call, best of 5)")
    for name in ("plain", "old", "rollout"):
        op = next(o for o in app.operations if o.feature.name == name)
        uid = 42 if name != "rollout" else next(u for u in range(1, 1000) if Flag(True, 20).allows(u, user.effective_roles, "rollout"))
        principal = Principal(user_id=uid, roles=user.roles, effective_roles=user.effective_roles, via="session")
        ctx = Context(app, "r", principal, "rest", op)

        def call() -> None:
            ctx.response_headers.clear()
            gate(op, ctx)

        best = min(timeit.repeat(call, number=n, repeat=5)) / n * 1e9
        label = {"plain": "active feature", "old": "deprecated (3 headers)", "rollout": "20% rollout (sha256)"}[name]
        print(f"  {label:<26} {best:8.0f} ns")


if __name__ == "__main__":
    main()
