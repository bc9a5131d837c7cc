"""The pb-ssr pytest plugin: a real PocketBase server and clients as fixtures.

Registered through the ``pytest11`` entry point, so it loads wherever pb-ssr is
installed; a server only starts when a test asks for one. Disable it with
``-p no:pb_ssr``.

Configuration (the command line wins over the ini file):

``pocketbase_migrations`` (ini, relative to the rootdir) or
``--pocketbase-migrations`` (relative to the current directory)
    The directory of PocketBase migrations applied to every test server.

Fixtures:

``pocketbase_migrations`` (session)
    The migrations directory, or ``None``. Override it in ``conftest.py``.
``pocketbase_collections`` (session)
    Collection definitions imported after start, or ``None``. Override it.
``pocketbase_server`` / ``pocketbase_url`` (session)
    The shared :class:`~pb_ssr.testing.PocketBaseServer` and its URL.
``pocketbase_server_factory``
    Starts extra, isolated servers; closed after the test.
``pb_user_factory``
    Creates logged-in users on the shared server; deleted after the test.
``pb_superuser``, ``pb_client``, ``pb_async_client``
    pb-ssr clients for the shared server: superuser, anonymous, anonymous async.
``pb_reset_breakers`` (autouse)
    Closes every circuit breaker before each test, so a test that stops
    PocketBase does not leave the next one failing fast.
``pocketbase_version`` (session)
    The binary's version as a tuple, e.g. ``(0, 40, 6)``, for tests that expect
    what each PocketBase release does.

The binary is the one :func:`~pb_ssr.testing.find_binary` finds: set
``PB_SSR_POCKETBASE_BIN`` to run the suite against another release. The pytest
header names the binary and its version.

This module imports neither Django nor Flask, and imports the pb-ssr client only
inside the fixtures that need it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._server import PocketBaseServer, ServerAPIError, TestUser, binary_version, find_binary

if TYPE_CHECKING:
    from pb_ssr import AsyncPocketBase, PocketBase

_INI_NAME = "pocketbase_migrations"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``pocketbase_migrations`` ini key and ``--pocketbase-migrations``."""
    help_text = "directory of PocketBase migrations applied to the pb-ssr test servers"
    parser.addini(_INI_NAME, help=f"{help_text} (relative to the rootdir)", default="")
    group = parser.getgroup("pb_ssr", "pb-ssr PocketBase test server")
    group.addoption(
        "--pocketbase-migrations",
        dest=_INI_NAME,
        default=None,
        metavar="DIR",
        help=f"{help_text}; overrides the ini key",
    )


@pytest.fixture(autouse=True)
def pb_reset_breakers() -> None:
    """Start every test with closed circuit breakers (:func:`pb_ssr.reset_breakers`)."""
    from pb_ssr import reset_breakers

    reset_breakers()


def pytest_report_header(config: pytest.Config) -> str:
    """Name the PocketBase binary the tests will run, and its version."""
    try:
        path = find_binary()
        version = ".".join(map(str, binary_version(path)))
    except RuntimeError as exc:
        return f"pocketbase: none ({exc})"
    return f"pocketbase: {version} ({path})"


@pytest.fixture(scope="session")
def pocketbase_version() -> tuple[int, ...]:
    """Return the PocketBase binary's version, e.g. ``(0, 40, 6)``."""
    return binary_version()


@pytest.fixture(scope="session")
def pocketbase_migrations(pytestconfig: pytest.Config) -> Path | None:
    """Return the migrations directory for the test servers, or ``None``.

    Read from ``--pocketbase-migrations``, then the ``pocketbase_migrations`` ini key.
    Override this fixture to compute the path in ``conftest.py``::

        @pytest.fixture(scope="session")
        def pocketbase_migrations():
            return Path(__file__).parent / "pb_migrations"
    """
    option: str | None = pytestconfig.getoption(_INI_NAME)
    if option:
        return pytestconfig.invocation_params.dir / option
    ini = str(pytestconfig.getini(_INI_NAME))
    if ini:
        return pytestconfig.rootpath / ini
    return None


@pytest.fixture(scope="session")
def pocketbase_collections() -> Sequence[Mapping[str, Any]] | None:
    """Return collection definitions to import into each test server, or ``None``.

    Override it to define the schema in Python instead of migrations::

        @pytest.fixture(scope="session")
        def pocketbase_collections():
            return [{"name": "notes", "type": "base",
                     "fields": [{"name": "body", "type": "text"}]}]
    """
    return None


@pytest.fixture(scope="session")
def pocketbase_server(
    pocketbase_migrations: Path | None,
    pocketbase_collections: Sequence[Mapping[str, Any]] | None,
) -> Iterator[PocketBaseServer]:
    """Yield a PocketBase server shared by the whole session.

    It has the ``pocketbase_migrations`` applied and the ``pocketbase_collections``
    imported. Tests that change settings or stop the server should use
    ``pocketbase_server_factory`` instead.
    """
    with PocketBaseServer(migrations_dir=pocketbase_migrations) as server:
        if pocketbase_collections:
            server.import_collections(pocketbase_collections)
        yield server


@pytest.fixture(scope="session")
def pocketbase_url(pocketbase_server: PocketBaseServer) -> str:
    """Return the URL of the shared server, e.g. ``http://127.0.0.1:53127``."""
    return pocketbase_server.url


@pytest.fixture
def pocketbase_server_factory(
    pocketbase_migrations: Path | None,
    pocketbase_collections: Sequence[Mapping[str, Any]] | None,
) -> Iterator[Callable[..., PocketBaseServer]]:
    """Return a function that starts an extra, isolated server; all close after the test.

    It takes the :class:`~pb_ssr.testing.PocketBaseServer` keyword arguments, with
    ``migrations_dir`` defaulting to the ``pocketbase_migrations`` fixture, plus
    ``collections`` defaulting to the ``pocketbase_collections`` fixture::

        def test_login_is_rate_limited(pocketbase_server_factory):
            server = pocketbase_server_factory()
            server.update_settings({"rateLimits": {"enabled": True}})
    """
    servers: list[PocketBaseServer] = []

    def factory(**kwargs: Any) -> PocketBaseServer:
        collections = kwargs.pop("collections", pocketbase_collections)
        kwargs.setdefault("migrations_dir", pocketbase_migrations)
        server = PocketBaseServer(**kwargs)
        servers.append(server)
        server.start()
        if collections:
            server.import_collections(collections)
        return server

    yield factory
    for server in reversed(servers):
        server.close()


@pytest.fixture
def pb_user_factory(pocketbase_server: PocketBaseServer) -> Iterator[Callable[..., TestUser]]:
    """Return a function that creates a logged-in user on the shared server.

    It takes the keyword arguments of
    :meth:`~pb_ssr.testing.PocketBaseServer.create_user`. The users are deleted
    after the test::

        def test_profile(pb_user_factory):
            user = pb_user_factory(name="Ada")
            assert user.token
    """
    created: list[TestUser] = []

    def factory(**fields: Any) -> TestUser:
        user = pocketbase_server.create_user(**fields)
        created.append(user)
        return user

    yield factory
    if not pocketbase_server.is_running:
        return
    for user in created:
        try:
            pocketbase_server.api("DELETE", f"/api/collections/{user.collection}/records/{user.id}")
        except ServerAPIError as exc:
            # The test may have deleted the user itself.
            if exc.status != 404:
                raise


@pytest.fixture
def pb_superuser(pocketbase_server: PocketBaseServer) -> Iterator[PocketBase]:
    """Yield a :class:`pb_ssr.PocketBase` client logged in as the superuser."""
    from pb_ssr import PocketBase

    pb = PocketBase(pocketbase_server.url)
    pb.collection("_superusers").auth_with_password(
        pocketbase_server.superuser_email, pocketbase_server.superuser_password
    )
    yield pb
    pb.close()


@pytest.fixture
def pb_client(pocketbase_server: PocketBaseServer) -> Iterator[PocketBase]:
    """Yield an anonymous :class:`pb_ssr.PocketBase` client for the shared server."""
    from pb_ssr import PocketBase

    pb = PocketBase(pocketbase_server.url)
    yield pb
    pb.close()


@pytest.fixture
def pb_async_client(pocketbase_server: PocketBaseServer) -> AsyncPocketBase:
    """Return an anonymous :class:`pb_ssr.AsyncPocketBase` client for the shared server.

    The fixture is synchronous, so it cannot close the client: a test that opens a
    realtime connection should ``await pb_async_client.aclose()`` itself.
    """
    from pb_ssr import AsyncPocketBase

    return AsyncPocketBase(pocketbase_server.url)
