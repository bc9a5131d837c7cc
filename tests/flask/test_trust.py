"""The Flask adapter fails closed: forged cookies, sign out everywhere, 401 without a
login page, and the security advice in ``flask pb check``."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pb_ssr import PocketBase
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_flask.testing import login

from ..core.test_session_trust import SUPERUSER_RECORD, js_sdk_cookie
from .conftest import auth_cookie, csrf_of, get_csrf, make_app


def whoami(client: FlaskClient) -> str:
    return client.get("/whoami").get_data(as_text=True)


@pytest.fixture(autouse=True)
def _no_superuser_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PB_SUPERUSER_EMAIL", "PB_SUPERUSER_PASSWORD", "PB_SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def service_app(server: PocketBaseServer, url: str | None = None, **config: Any) -> Flask:
    return make_app(
        url or server.url,
        POCKETBASE_SUPERUSER_EMAIL=server.superuser_email,
        POCKETBASE_SUPERUSER_PASSWORD=server.superuser_password,
        **config,
    )


@pytest.mark.parametrize("bad", ["\n", "\x7f", "\r\nX-Evil: 1", "é"])
def test_a_forged_js_sdk_cookie_is_anonymous(
    pocketbase_server: PocketBaseServer, user: TestUser, bad: str
) -> None:
    app = make_app(pocketbase_server.url, POCKETBASE_COOKIE_FORMAT="js-sdk")
    client = app.test_client()
    forged = js_sdk_cookie(user.token[:-2] + bad + user.token[-2:], SUPERUSER_RECORD)
    client.set_cookie("pb_auth", forged)
    response = client.get("/whoami")
    assert response.get_data(as_text=True) == "anonymous authenticated=False"
    assert auth_cookie(response).startswith("pb_auth=;")  # type: ignore[union-attr]


def test_sign_out_everywhere(pocketbase_server: PocketBaseServer, user: TestUser) -> None:
    app = service_app(pocketbase_server, POCKETBASE_VALIDATE_TTL=0)
    browser, other_device = app.test_client(), app.test_client()
    laptop = PocketBase(pocketbase_server.url)
    laptop.collection("users").auth_with_password(user.email, user.password)
    login(other_device, token=laptop.auth_store.token, record=user.record)
    login(browser, user)
    assert whoami(browser) == whoami(other_device) == f"user:{user.email}"

    assert browser.get("/auth/logout/everywhere").status_code == 405
    assert browser.post("/auth/logout/everywhere").status_code == 400  # no CSRF token
    response = browser.post("/auth/logout/everywhere", data={"csrf_token": get_csrf(browser)})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "signed out on every device" in response.get_data(as_text=True)
    assert auth_cookie(response).startswith("pb_auth=;")  # type: ignore[union-attr]
    assert whoami(browser).startswith("anonymous")
    assert whoami(other_device).startswith("anonymous")


def test_sign_out_everywhere_needs_the_service_client(
    pocketbase_server: PocketBaseServer, user: TestUser
) -> None:
    client = make_app(pocketbase_server.url).test_client()
    login(client, user)
    response = client.post("/auth/logout/everywhere", data={"csrf_token": get_csrf(client)})
    assert response.status_code == 501
    assert "not available on this site" in response.get_data(as_text=True)
    assert auth_cookie(response) is None
    assert whoami(client) == f"user:{user.email}"


def test_sign_out_everywhere_during_an_outage_keeps_the_user(
    pocketbase_server: PocketBaseServer, user: TestUser
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = service_app(pocketbase_server, dead, POCKETBASE_TIMEOUT=2).test_client()
    login(client, user)
    page = client.get("/auth/login")
    response = client.post("/auth/logout/everywhere", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 503
    assert auth_cookie(response) is None


def test_login_required_is_a_401_without_a_login_page(
    pocketbase_server: PocketBaseServer,
) -> None:
    client = make_app(pocketbase_server.url, blueprint=False).test_client()
    response = client.get("/private")
    assert response.status_code == 401
    assert response.get_json()["status"] == 401
    response = client.get("/private-async")
    assert response.status_code == 401


def test_check_reports_the_security_advice(pocketbase_server: PocketBaseServer) -> None:
    app = make_app(
        pocketbase_server.url,
        blueprint=False,
        POCKETBASE_TRUSTED_PROXIES=["0.0.0.0/0"],
        POCKETBASE_COOKIE_FORMAT="js-sdk",
        POCKETBASE_COOKIE_HTTPONLY=False,
    )
    result = app.test_cli_runner().invoke(args=["pb", "check"])
    assert result.exit_code == 1
    assert "WARN  POCKETBASE_TRUSTED_PROXIES trusts 0.0.0.0/0" in result.output
    assert "WARN  POCKETBASE_COOKIE_HTTPONLY is False" in result.output
    assert "WARN  POCKETBASE_COOKIE_FORMAT is 'js-sdk'" in result.output
