"""``hyper features``: list features with their lifecycle and flag; change them.

Example:
    .. code-block:: console

        $ hyper features list
        $ hyper features set reports --lifecycle deprecated --sunset 2027-03-01 --link https://acme.io/reports-v2
        $ hyper features flag reports --percent 20 --roles admin,member
        $ hyper features flag reports --off
        $ hyper features flag reports --clear      # on for everyone, no flag

Running web processes see a change within ``HYPER_LIFECYCLE_REFRESH_INTERVAL`` seconds.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console

from ..errors import BadRequest, first_line
from .loader import load_app
from .output import print_json, table

if TYPE_CHECKING:
    from ..app import App
    from ..lifecycle.states import FeatureState
    from ..lifecycle.store import LifecycleStore

features_cli = typer.Typer(help="Feature lifecycles (experimental, active, deprecated, removed) and flags.", no_args_is_help=True)
console = Console()
AppOpt = Annotated[Optional[str], typer.Option("--app", envvar="HYPER_APP", help="module:attribute of the app [env: HYPER_APP]")]
T = TypeVar("T")


def _run(spec: str | None, fn: Callable[[LifecycleStore], Awaitable[T]]) -> tuple[App, T]:
    from ..lifecycle.store import LifecycleError

    app = load_app(spec)
    store = app.lifecycle
    if store is None:
        raise BadRequest("this app has no lifecycle plugin (its plugins= leave out hyperdeliver.lifecycle.LifecyclePlugin)")

    async def go() -> T:
        try:
            try:
                await store.load()
            except Exception as exc:
                first = first_line(exc) or type(exc).__name__
                if "hd_feature_states" in first or "hd_flags" in first:
                    raise BadRequest("the database has no lifecycle tables: run 'hyper db upgrade' first") from None
                raise BadRequest(f"cannot read feature states: {first}") from None
            return await fn(store)
        except LifecycleError as exc:
            raise BadRequest(str(exc)) from None
        finally:
            await app.database.dispose()

    return app, asyncio.run(go())


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


def _row(app: App, s: FeatureState) -> dict[str, Any]:
    f = app.features[s.feature]
    return {
        "feature": s.feature,
        "owner": f.owner,
        "lifecycle": s.lifecycle,
        "sunset": s.sunset.isoformat() if s.sunset else None,
        "link": s.link,
        "flag": s.flag.describe() if s.flag else None,
        "updated_by": s.updated_by or None,
    }


def _print_state(app: App, s: FeatureState) -> None:
    r = _row(app, s)
    extra = []
    if r["sunset"]:
        extra.append(f"sunset {r['sunset']}")
    if r["link"]:
        extra.append(f"link {r['link']}")
    extra.append(f"flag: {r['flag'] or 'none (on for everyone)'}")
    console.print(f"{s.feature}: {s.lifecycle}; " + "; ".join(extra))


@features_cli.command("list")
def list_features(app: AppOpt = None, json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Every feature: owner, lifecycle, sunset date, flag."""

    async def read(store: LifecycleStore) -> list[FeatureState]:
        return [store.states[n] for n in sorted(store.states)]

    application, states = _run(app, read)
    rows = [_row(application, s) for s in states]
    if json:
        print_json(rows)
        return
    console.print(
        table(
            f"{application.name}: {len(rows)} features",
            ("feature", "owner", "lifecycle", "sunset", "flag"),
            [(r["feature"], r["owner"], r["lifecycle"], r["sunset"] or "", r["flag"] or "") for r in rows],
        )
    )


@features_cli.command("set")
def set_feature(
    name: Annotated[str, typer.Argument(help="the feature")],
    lifecycle: Annotated[Optional[str], typer.Option("--lifecycle", help="experimental, active, deprecated or removed")] = None,
    sunset: Annotated[Optional[str], typer.Option("--sunset", help="YYYY-MM-DD: the day it stops being served ('' clears)")] = None,
    link: Annotated[Optional[str], typer.Option("--link", help="URL explaining the replacement ('' clears)")] = None,
    app: AppOpt = None,
) -> None:
    """Set a feature's lifecycle, sunset date and link."""
    if lifecycle is None and sunset is None and link is None:
        raise BadRequest("nothing to set: pass --lifecycle, --sunset or --link")

    async def write(store: LifecycleStore) -> FeatureState:
        return await store.set_lifecycle(name, lifecycle, sunset=sunset, link=link, by=_who())

    application, state = _run(app, write)
    _print_state(application, state)


@features_cli.command("flag")
def flag_feature(
    name: Annotated[str, typer.Argument(help="the feature")],
    percent: Annotated[Optional[int], typer.Option("--percent", help="0-100: share of users (stable hash of feature and user id)")] = None,
    roles: Annotated[Optional[str], typer.Option("--roles", help="comma-separated roles the flag is on for (default: every role)")] = None,
    on: Annotated[bool, typer.Option("--on", help="on for everyone (or for --roles)")] = False,
    off: Annotated[bool, typer.Option("--off", help="off for everyone: the feature answers 404")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="remove the flag")] = False,
    app: AppOpt = None,
) -> None:
    """Put a feature behind a flag: a percentage rollout, role targeting, on or off."""
    if sum((on, off, clear)) > 1:
        raise BadRequest("use only one of --on, --off, --clear")
    if not (on or off or clear) and percent is None and roles is None:
        raise BadRequest("nothing to set: pass --percent, --roles, --on, --off or --clear")
    if (off or clear) and (percent is not None or roles is not None):
        raise BadRequest("--off and --clear take no --percent or --roles")

    async def write(store: LifecycleStore) -> FeatureState:
        if clear:
            return await store.clear_flag(name)
        if off:
            current = store.get(name).flag
            return await store.set_flag(
                name,
                enabled=False,
                percentage=current.percentage if current else 100,
                roles=current.roles if current else None,
                by=_who(),
            )
        pct = 100 if on or percent is None else percent
        return await store.set_flag(name, enabled=True, percentage=pct, roles=roles, by=_who())

    application, state = _run(app, write)
    _print_state(application, state)
