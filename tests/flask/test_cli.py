"""``flask pb check`` and ``flask pb users create`` against a real PocketBase."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable

from flask import Flask

from pb_ssr.testing import PocketBaseServer

from .conftest import make_app


def cli_app(server: PocketBaseServer) -> Flask:
    return make_app(
        server.url,
        blueprint=False,
        POCKETBASE_SUPERUSER_EMAIL=server.superuser_email,
        POCKETBASE_SUPERUSER_PASSWORD=server.superuser_password,
    )


def test_check_reports_ok_then_warns_about_the_proxy_header(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    server.update_settings({"trustedProxy": {"headers": ["X-Forwarded-For"]}})
    runner = cli_app(server).test_cli_runner()

    result = runner.invoke(args=["pb", "check"])
    assert result.exit_code == 0, result.output
    assert f"PocketBase at {server.url}" in result.output
    assert "ok    reachable" in result.output
    assert "auth collection 'users' exists" in result.output
    assert "PocketBase trusts X-Forwarded-For" in result.output
    assert "WARN" not in result.output

    server.update_settings({"trustedProxy": {"headers": []}})
    result = runner.invoke(args=["pb", "check"])
    assert result.exit_code == 1, result.output
    assert "WARN  PocketBase does not trust X-Forwarded-For" in result.output


def test_check_fails_when_pocketbase_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(f"http://127.0.0.1:{port}", blueprint=False, POCKETBASE_TIMEOUT=2)
    result = app.test_cli_runner().invoke(args=["pb", "check"])
    assert result.exit_code == 1
    assert "FAIL  not reachable" in result.output


def test_users_create(pocketbase_server: PocketBaseServer) -> None:
    email = f"cli-{secrets.token_hex(4)}@example.test"
    runner = cli_app(pocketbase_server).test_cli_runner()
    result = runner.invoke(
        args=["pb", "users", "create", email, "--name", "Ada"],
        input="a-long-password\na-long-password\n",
    )
    found = pocketbase_server.api(
        "GET", "/api/collections/users/records", params={"filter": f"email='{email}'"}
    )
    for item in found["items"]:
        pocketbase_server.api("DELETE", f"/api/collections/users/records/{item['id']}")
    assert result.exit_code == 0, result.output
    assert f"created {email}" in result.output
    (record,) = found["items"]
    assert record["name"] == "Ada" and record["verified"] is True


def test_users_create_reports_pocketbase_errors(pocketbase_server: PocketBaseServer) -> None:
    runner = cli_app(pocketbase_server).test_cli_runner()
    result = runner.invoke(
        args=["pb", "users", "create", "not-an-email", "--password", "short"],
    )
    assert result.exit_code == 1
    assert "email: Must be a valid email address." in result.output


def test_check_fails_on_an_unsupported_pocketbase(unsupported_pocketbase_url: str) -> None:
    app = make_app(unsupported_pocketbase_url, blueprint=False)
    result = app.test_cli_runner().invoke(args=["pb", "check"])
    assert result.exit_code == 1
    assert "FAIL  PocketBase at" in result.output and "older than 0.23" in result.output


def test_check_says_the_version_is_supported(pocketbase_server: PocketBaseServer) -> None:
    result = cli_app(pocketbase_server).test_cli_runner().invoke(args=["pb", "check"])
    assert "ok    PocketBase 0.23 or newer" in result.output
