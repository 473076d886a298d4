"""hyperdeliver's pytest plugin (entry point ``pytest11``): the testing kit's fixtures.

Installed with hyperdeliver, it is active in every pytest run of a project that depends
on it. A project's own ``conftest.py`` fixture of the same name wins over these.

Fixtures (all function-scoped; the async ones need pytest-asyncio):

- ``app``: the project's app, built by its factory on a fresh, migrated, empty database
  and started. The factory is found like ``hyper`` finds it: the ``hyperdeliver_app``
  ini option, else ``HYPER_APP``, else ``[tool.hyperdeliver] app`` in pyproject.toml;
  override the ``app_factory`` fixture to build it yourself, ``app_settings`` to change
  its settings. SQLite by default; PostgreSQL when ``HYPER_TEST_DATABASE_URL`` names a
  server (each test on a database of its own).
- ``client``: a :class:`~hyperdeliver.testing.TestClient` on ``app``.
- ``make_user(*roles, email=, name=, password=)``: a new user.
- ``login_as(role | email | user | id, *roles, client=)``: logs ``client`` in; the user.
- ``api_token(role | email | user | id, *roles)``: an API token (``str``, ``.headers``, ``.user``).
- ``grant(role | email | user | id, scope, scope_id, *roles)``: the user holds the roles in that scope.
- ``run_jobs()``: runs the due jobs in-process; what ran. ``run_cron(name)``: one cron now.
- ``clock``: a :class:`~hyperdeliver.testing.TestClock` the whole framework reads.
- ``usage``: a :class:`~hyperdeliver.testing.UsageProbe` (calls and events recorded).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .. import clock as framework_clock
from .clock import TestClock
from .databases import TEST_DATABASE_ENV, TestDatabases
from .jobs import JobRunner
from .matrix import MATRIX_ATTRIBUTE, TESTING_EXTRA, MatrixOptions, cases
from .usage import UsageProbe
from .users import BearerToken, Users, use_fast_hasher

if TYPE_CHECKING:
    from ..app import App
    from ..auth.models import User
    from ..settings import Settings
    from .client import TestClient

try:
    import pytest_asyncio
except ImportError:  # the fixtures below then fail with the line to run
    pytest_asyncio = None  # type: ignore[assignment]

APP_INI = "hyperdeliver_app"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        APP_INI,
        "module:attribute of the app factory the hyperdeliver testing kit builds "
        "(default: HYPER_APP, or [tool.hyperdeliver] app in pyproject.toml)",
        default="",
    )


def _fail(message: str) -> Any:
    pytest.fail(message, pytrace=False)


def _async_fixture(fn: Callable[..., Any]) -> Any:
    """``pytest_asyncio.fixture`` (so the kit works in strict mode too), or without
    pytest-asyncio a fixture that fails with the install line."""
    if pytest_asyncio is not None:
        return pytest_asyncio.fixture(fn)

    @pytest.fixture(name=fn.__name__)
    def missing() -> None:
        _fail(f"the hyperdeliver fixture {fn.__name__!r} is async and needs pytest-asyncio: {TESTING_EXTRA}")

    return missing


def _factory(spec: str | None, start: Path) -> Callable[[Settings | None], App]:
    from ..cli.loader import app_factory
    from ..errors import ConfigurationError

    try:
        return app_factory(spec, start=start)
    except ConfigurationError as exc:
        _fail(f"hyperdeliver testing kit: {exc}")
        raise  # pragma: no cover - pytest.fail raises


# -- the permission matrix's parametrization ----------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize a ``permission_matrix()`` test with its cases, read from the app's registry."""
    options = getattr(metafunc.function, MATRIX_ATTRIBUTE, None)
    if not isinstance(options, MatrixOptions) or "permission_case" not in metafunc.fixturenames:
        return
    from ..settings import Settings

    spec = options.app or metafunc.config.getini(APP_INI) or None
    app = _factory(spec, metafunc.config.rootpath)(
        Settings(env="test", database_url="sqlite://", access_log=False, usage_enabled=False)
    )
    found = cases(app, options)
    metafunc.parametrize("permission_case", found, ids=[c.id for c in found])


# -- the app and its database --------------------------------------------------------


@pytest.fixture(scope="session")
def hyper_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    """The session's database maker (templates migrated once, copied per test)."""
    dbs = TestDatabases(tmp_path_factory.mktemp("hyper-templates"))
    yield dbs
    if any(t.server_url for t in dbs.templates.values()):
        asyncio.run(dbs.close())


@pytest.fixture
def hyper_test_database_url() -> str | None:
    """The PostgreSQL server the tests' databases go on (``HYPER_TEST_DATABASE_URL``); None: SQLite."""
    return os.environ.get(TEST_DATABASE_ENV) or None


@pytest.fixture
def app_factory(request: pytest.FixtureRequest) -> Callable[[Settings | None], App]:
    """``settings -> App``: the project's app factory (override to build the app yourself)."""
    return _factory(request.config.getini(APP_INI) or None, request.config.rootpath)


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    """The test app's settings (its ``database_url`` is replaced by the test's own database)."""
    from ..settings import Settings

    return Settings(env="test", var_dir=tmp_path / "var", access_log=False, worker_in_process=False)


@_async_fixture
async def app(
    app_factory: Callable[[Settings | None], App],
    app_settings: Settings,
    hyper_databases: TestDatabases,
    hyper_test_database_url: str | None,
    tmp_path: Path,
) -> AsyncIterator[App]:
    """The project's app on a fresh, migrated database of its own, started."""
    try:
        target = hyper_databases.new_target(hyper_test_database_url, tmp_path)
    except ValueError as exc:
        _fail(str(exc))
    application = app_factory(app_settings.model_copy(update={"database_url": target.url}))
    use_fast_hasher(application)
    try:
        await hyper_databases.materialize(application, target)
        await application.startup()
        yield application
    finally:
        await application.shutdown()
        await application.database.dispose()
        await hyper_databases.release(target)


@_async_fixture
async def client(app: App) -> AsyncIterator[TestClient]:
    """An HTTP client on ``app`` (in-process; cookies kept; CSRF header sent after a login)."""
    from .client import TestClient

    async with TestClient(app) as c:
        yield c


# -- users ---------------------------------------------------------------------------


@pytest.fixture
def hyper_users(app: App) -> Users:
    return Users(app)


@pytest.fixture
def make_user(hyper_users: Users) -> Callable[..., Awaitable[User]]:
    """``await make_user("member", email=..., password=...)``: a new user with those roles."""
    return hyper_users.create


@pytest.fixture
def login_as(hyper_users: Users, client: TestClient) -> Callable[..., Awaitable[User]]:
    """``await login_as("member")``: ``client`` logged in as a new member (or as an email,
    a ``User``, a user id; ``client=`` another client); returns the user."""
    default = client

    async def login(who: Any = None, *roles: str, client: TestClient | None = None) -> User:
        user = await hyper_users.resolve(who, roles)
        await hyper_users.log_in(client if client is not None else default, user)
        return user

    return login


@pytest.fixture
def api_token(hyper_users: Users) -> Callable[..., Awaitable[BearerToken]]:
    """``await api_token("viewer")``: an API token of a new viewer (or of an email, a
    ``User``, a user id), a ``str`` with ``.headers`` and ``.user``."""

    async def issue(who: Any = None, *roles: str, name: str = "test") -> BearerToken:
        return await hyper_users.token(await hyper_users.resolve(who, roles), name)

    return issue


@pytest.fixture
def grant(hyper_users: Users) -> Callable[..., Awaitable[User]]:
    """``await grant(who, "workspace", 3, "member")``: ``who`` (a role name: a new user with
    it; an email, a ``User``, a user id) holds the role in that scope; returns the user."""

    async def give(who: Any, scope: str, scope_id: int | str, *roles: str) -> User:
        if not roles:
            raise TypeError("grant(who, scope, scope_id, role, ...) needs at least one role")
        user = await hyper_users.resolve(who)
        for role in roles:
            await hyper_users.app.memberships.grant(user.id, scope, scope_id, role)
        return user

    return give


# -- jobs, time, usage ---------------------------------------------------------------


@pytest.fixture
def hyper_jobs(app: App) -> JobRunner:
    return JobRunner(app)


@pytest.fixture
def run_jobs(hyper_jobs: JobRunner) -> Callable[..., Awaitable[Any]]:
    """``await run_jobs()``: run the due jobs (and those they enqueue) in-process; the runs."""
    return hyper_jobs.run_jobs


@pytest.fixture
def run_cron(hyper_jobs: JobRunner) -> Callable[..., Awaitable[Any]]:
    """``await run_cron("feature.function")``: run a cron for its latest schedule time now."""
    return hyper_jobs.run_cron


@pytest.fixture
def clock() -> Iterator[TestClock]:
    """The framework's clock for this test: starts now and ticks; ``travel``, ``travel_to``, ``freeze``."""
    test_clock = TestClock()
    restore = framework_clock.install(test_clock)
    try:
        yield test_clock
    finally:
        restore()


@pytest.fixture
def usage(app: App) -> UsageProbe:
    """The usage ``app`` recorded: ``await usage.count("tasks.create_task", user=u)``, ``await usage.events(...)``."""
    return UsageProbe(app)
