"""Test against a real PocketBase: a server runner and a pytest plugin.

Installing ``pb-ssr[server]`` brings the PocketBase binary, and the pytest plugin
(``pb_ssr.testing.plugin``) loads by itself. Point it at your migrations, either in
the pytest configuration::

    [tool.pytest.ini_options]
    pocketbase_migrations = "pb_migrations"

or by overriding a fixture in ``conftest.py``::

    from pathlib import Path

    import pytest


    @pytest.fixture(scope="session")
    def pocketbase_migrations() -> Path:
        return Path(__file__).parent / "pb_migrations"

Tests then ask for what they need::

    def test_profile_page(client, pb_user_factory):
        user = pb_user_factory(name="Ada")
        ...

    def test_rate_limit(pocketbase_server_factory):
        server = pocketbase_server_factory()
        server.update_settings({"rateLimits": {"enabled": True}})
        ...

Fault tests freeze the server (``server.pause()`` / ``resume()``, or ``with
server.paused():``) or put a :class:`FaultProxy` between the app and it (latency,
a black hole, answers cut short, refused connections)::

    def test_outage_page(pocketbase_server_factory):
        server = pocketbase_server_factory()
        with FaultProxy(server.url) as proxy:
            app = make_app(proxy.url)
            proxy.blackhole = True
            ...

Outside pytest, run a server directly::

    from pb_ssr.testing import PocketBaseServer

    with PocketBaseServer(migrations_dir="pb_migrations") as server:
        print(server.url, server.create_user().token)
"""

from __future__ import annotations

from ._proxy import FaultProxy as FaultProxy
from ._server import PocketBaseServer as PocketBaseServer
from ._server import ServerAPIError as ServerAPIError
from ._server import TestUser as TestUser
from ._server import binary_version as binary_version
from ._server import find_binary as find_binary

__all__ = [
    "FaultProxy",
    "PocketBaseServer",
    "ServerAPIError",
    "TestUser",
    "binary_version",
    "find_binary",
]
