"""The Django adapter fails closed: forged cookies, logout everywhere, sensitive data,
401 without a login page, the security checks, and no event-loop stalls under ASGI."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import AsyncClient, Client
from django.views.debug import SafeExceptionReporterFilter

from pb_ssr import PocketBase
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_django import checks
from pb_ssr_django.test import login

from ..core.test_session_trust import SUPERUSER_RECORD, js_sdk_cookie
from .conftest import Configure, auth_cookie, csrf_of, post_form, text
from .test_checks import CSRF, MIDDLEWARE, SESSION, pb_ids


def whoami(client: Client) -> str:
    return text(client.get("/whoami/"))


# -- forged js-sdk cookies -------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\n", "\x7f", "\r\nX-Evil: 1", "é"])
def test_a_forged_js_sdk_cookie_is_never_a_superuser(
    client: Client, configure: Configure, user: TestUser, bad: str
) -> None:
    configure(COOKIE_FORMAT="js-sdk")
    forged = js_sdk_cookie(user.token[:-2] + bad + user.token[-2:], SUPERUSER_RECORD)
    client.cookies["pb_auth"] = forged
    response = client.get("/whoami/")
    assert text(response) == "anonymous authenticated=False"
    assert auth_cookie(response).value == ""  # type: ignore[union-attr]
    client.cookies["pb_auth"] = forged
    response = client.get("/admin-only/")
    assert response.status_code == 302 and "/auth/login/" in response["Location"]


# -- sign out of all devices -----------------------------------------------------------


@pytest.fixture
def service_keys(pocketbase_server: PocketBaseServer) -> dict[str, str]:
    return {
        "SUPERUSER_EMAIL": pocketbase_server.superuser_email,
        "SUPERUSER_PASSWORD": pocketbase_server.superuser_password,
    }


def test_sign_out_everywhere_ends_every_session(
    client: Client,
    configure: Configure,
    service_keys: dict[str, str],
    pocketbase_url: str,
    user: TestUser,
) -> None:
    configure(VALIDATE_TTL=0, **service_keys)
    other_device = Client()
    laptop = PocketBase(pocketbase_url)
    laptop.collection("users").auth_with_password(user.email, user.password)
    login(other_device, token=laptop.auth_store.token, record=user.record)
    login(client, user)
    assert whoami(other_device) == whoami(client) == f"user:{user.email}"

    assert client.get("/auth/logout/everywhere/").status_code == 405
    assert Client(enforce_csrf_checks=True).post("/auth/logout/everywhere/").status_code == 403
    response = post_form(client, "/auth/logout/everywhere/", {}, form="/auth/login/")
    assert response.status_code == 200, text(response)
    assert "signed out on every device" in text(response)
    assert auth_cookie(response).value == ""  # type: ignore[union-attr]
    assert whoami(client).startswith("anonymous")
    assert whoami(other_device).startswith("anonymous")
    # The password still signs in.
    PocketBase(pocketbase_url).collection("users").auth_with_password(user.email, user.password)


def test_sign_out_everywhere_without_a_service_client_changes_nothing(
    client: Client, configure: Configure, user: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PB_SUPERUSER_EMAIL", "PB_SUPERUSER_PASSWORD", "PB_SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    configure()
    login(client, user)
    response = post_form(client, "/auth/logout/everywhere/", {}, form="/auth/login/")
    assert response.status_code == 501
    assert "not available on this site" in text(response)
    assert auth_cookie(response) is None
    assert whoami(client) == f"user:{user.email}"


def test_sign_out_everywhere_while_pocketbase_is_down_keeps_the_user(
    client: Client, configure: Configure, service_keys: dict[str, str], user: TestUser
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    configure(dead, **service_keys)
    login(client, user)
    page = client.get("/auth/login/")
    response = client.post("/auth/logout/everywhere/", {"csrfmiddlewaretoken": csrf_of(page)})
    assert response.status_code == 503
    assert "unavailable" in text(response)
    assert auth_cookie(response) is None


# -- sensitive data in error reports ------------------------------------------------------


def test_auth_pages_hide_their_post_data_from_error_reports(client: Client, user: TestUser) -> None:
    response = post_form(client, "/auth/login/", {"email": user.email, "password": "hunter2!!"})
    request = response.wsgi_request
    assert request.sensitive_post_parameters == "__ALL__"
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleansed["password"] != "hunter2!!" and set(cleansed["password"]) == {"*"}


# -- login_required without a login page -----------------------------------------------


def test_login_required_is_a_401_when_login_url_names_no_page(
    client: Client, settings: Any
) -> None:
    settings.LOGIN_URL = "missing:login"
    response = client.get("/private/")
    assert response.status_code == 401
    assert response.json()["status"] == 401


# -- checks W004-W007 ---------------------------------------------------------------------


def test_w004_trusting_every_address(configure: Configure) -> None:
    configure(TRUSTED_PROXIES=["10.0.0.1", "0.0.0.0/0"])
    assert pb_ids(checks.check_advice()) == ["pb_ssr.W004"]
    assert "pb_ssr.W004" in pb_ids(run_checks())
    configure(TRUSTED_PROXIES=["::/0"])
    assert pb_ids(checks.check_advice()) == ["pb_ssr.W004"]
    configure(TRUSTED_PROXIES=["10.0.0.0/8"])
    assert checks.check_advice() == []


def test_w005_w006_cookie_trade_offs_in_deploy_checks(configure: Configure) -> None:
    configure(COOKIE_FORMAT="js-sdk", COOKIE_HTTPONLY=False)
    assert pb_ids(checks.check_deploy()) == ["pb_ssr.W005", "pb_ssr.W006"]
    assert not {"pb_ssr.W005", "pb_ssr.W006"} & set(pb_ids(run_checks()))
    assert {"pb_ssr.W005", "pb_ssr.W006"} <= set(pb_ids(run_checks(include_deployment_checks=True)))
    configure(COOKIE_FORMAT="js-sdk", ON_BACKEND_ERROR="anonymous")
    assert checks.check_deploy() == []


def test_w007_auth_urls_without_csrf_middleware(settings: Any) -> None:
    assert checks.check_csrf_for_auth_urls() == []
    settings.MIDDLEWARE = [SESSION, MIDDLEWARE]
    assert pb_ids(checks.check_csrf_for_auth_urls()) == ["pb_ssr.W007"]
    settings.MIDDLEWARE = [SESSION, CSRF, MIDDLEWARE]
    assert checks.check_csrf_for_auth_urls() == []


def test_the_auth_views_check_csrf_even_without_the_middleware(
    settings: Any, user: TestUser
) -> None:
    settings.MIDDLEWARE = [SESSION, MIDDLEWARE]
    browser = Client(enforce_csrf_checks=True)
    refused = browser.post("/auth/login/", {"email": user.email, "password": user.password})
    assert refused.status_code == 403


# -- no event-loop stalls -------------------------------------------------------------------


class SlowProxy:
    """A loopback TCP proxy, in its own threads, that holds each connection a while."""

    def __init__(self, target: str, delay: float) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.delay = delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        upstream = socket.create_connection(self.target)

        def pipe(src: socket.socket, dst: socket.socket, slow: bool) -> None:
            try:
                while data := src.recv(65536):
                    if slow:
                        time.sleep(self.delay)
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        forward = threading.Thread(target=pipe, args=(conn, upstream, True), daemon=True)
        forward.start()
        pipe(upstream, conn, False)
        forward.join()
        conn.close()
        upstream.close()

    def close(self) -> None:
        self.closed = True
        self.sock.close()


@pytest.fixture
def slow_pocketbase(pocketbase_url: str) -> Iterator[SlowProxy]:
    proxy = SlowProxy(pocketbase_url, delay=0.3)
    yield proxy
    proxy.close()


@pytest.mark.anyio
async def test_a_sync_user_read_in_an_async_view_never_stalls_the_loop(
    configure: Configure, slow_pocketbase: SlowProxy, user: TestUser
) -> None:
    configure(slow_pocketbase.url)
    first, second = AsyncClient(), AsyncClient()
    login(first, user)
    login(second, user)
    start = time.monotonic()
    # One request awaits the validation (0.3 s through the slow proxy); the other
    # reads request.pb_user synchronously while it is in flight, on the same loop.
    a, b = await asyncio.gather(first.get("/async/whoami/"), second.get("/async/sync-read/"))
    elapsed = time.monotonic() - start
    assert text(a) == f"user:{user.email}"
    assert text(b) == f"must await, then user:{user.email}"
    assert elapsed < 1.0, f"the two requests took {elapsed:.2f} s together"
    # Once the answer is known, a sync read in an async view is served at once.
    third = AsyncClient()
    login(third, user)
    assert text(await third.get("/async/sync-read/")) == f"known: user:{user.email}"


def test_random_token_hex_is_not_a_session(client: Client) -> None:
    client.cookies["pb_auth"] = secrets.token_hex(32)
    assert whoami(client).startswith("anonymous")
