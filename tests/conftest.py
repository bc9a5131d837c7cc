from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pb_ssr.testing import PocketBaseServer

from .peers import MailSink, OIDCProvider, ignoring_mock_warnings
from .redis_peer import RedisServer


@pytest.fixture
def anyio_backend() -> str:
    # The async client is asyncio-only (its shared pool is per asyncio loop).
    return "asyncio"


# -- real peers for the auth-flow tests (tests/peers.py) --------------------------


@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    """An SMTP sink on a free loopback port, stopped after the test."""
    with MailSink() as sink:
        yield sink


@pytest.fixture
def mail_server(
    pocketbase_server_factory: Callable[..., PocketBaseServer], mail_sink: MailSink
) -> PocketBaseServer:
    """An isolated PocketBase server that mails to ``mail_sink``."""
    server = pocketbase_server_factory()
    mail_sink.configure(server)
    return server


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OIDCProvider]:
    """An OpenID Connect provider (oidc-provider-mock) on a free loopback port.

    Exchange codes with it inside ``ignoring_mock_warnings()``, as ``oauth_server`` does.
    """
    with OIDCProvider() as provider:
        yield provider


@pytest.fixture
def oauth_server(
    pocketbase_server_factory: Callable[..., PocketBaseServer], oidc_provider: OIDCProvider
) -> Iterator[PocketBaseServer]:
    """An isolated PocketBase server whose ``users`` accept OAuth2 from ``oidc_provider``."""
    server = pocketbase_server_factory()
    oidc_provider.configure_pocketbase(server)
    # For the whole test: the provider's thread shares this process's warning filters.
    with ignoring_mock_warnings():
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real ``redis-server`` on a free loopback port, persistence off, for the session."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied before the test (and started again if a test stopped it)."""
    redis_server.start()
    redis_server.flush()
    return redis_server.url


# -- many users, each owning one private note (tests/core/test_session*.py) -----------

from pb_ssr.testing import TestUser  # noqa: E402  (kept next to the fixture that uses it)


@pytest.fixture(scope="session")
def users_with_private_notes(pocketbase_server: PocketBaseServer) -> Iterator[list[TestUser]]:
    """Fifty users on the shared server, each owning one ``private_notes`` record.

    The note's title is ``"note of <user id>"``. Built once per session (in parallel:
    every user costs two bcrypt rounds) and deleted at the end, notes included.
    """
    from concurrent.futures import ThreadPoolExecutor

    def create(i: int) -> TestUser:
        user = pocketbase_server.create_user(name=f"isolation-{i}")
        pocketbase_server.api(
            "POST",
            "/api/collections/private_notes/records",
            json={"title": f"note of {user.id}", "owner": user.id},
        )
        return user

    # Log the helper in before the threads share its HTTP client and token.
    pocketbase_server.superuser_token()
    with ThreadPoolExecutor(max_workers=8) as pool:
        users = list(pool.map(create, range(50)))
    yield users
    if pocketbase_server.is_running:
        for user in users:
            pocketbase_server.api("DELETE", f"/api/collections/users/records/{user.id}")
