"""The `make demo` app in a real browser: sign in, post, see it, stats, sign out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from example_projects.flask_chat.app import create_app
from example_projects.seed import MIGRATIONS, seed
from pb_ssr.testing import PocketBaseServer

from .live import LiveDuo, live_round, sign_in

PASSWORD = "browser-test-password-1"


@pytest.fixture(scope="module")
def demo_server() -> Iterator[PocketBaseServer]:
    with PocketBaseServer(migrations_dir=MIGRATIONS) as server:
        seed(server, PASSWORD)
        yield server


@pytest.fixture(scope="module")
def demo_url(demo_server: PocketBaseServer) -> Iterator[str]:
    app = create_app(
        {
            "POCKETBASE_URL": demo_server.url,
            "POCKETBASE_COOKIE_SECURE": False,  # plain http on loopback
            "POCKETBASE_SUPERUSER_EMAIL": demo_server.superuser_email,
            "POCKETBASE_SUPERUSER_PASSWORD": demo_server.superuser_password,
            "SECRET_KEY": "browser-test-secret-key-0123456789",
        }
    )
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(5)


def test_sign_in_post_stats_sign_out(browser: Any, demo_url: str, tmp_path: Path) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(demo_url + "/")
        # Anonymous: sent to the sign-in page with next=/
        assert "/auth/login" in page.url
        page.fill("#email", "alice@example.test")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(demo_url + "/")
        assert page.text_content("[data-testid=who]") == "Alice"

        # The auth cookie is HttpOnly: the browser has it, page scripts cannot see it.
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["pb_auth"]["httpOnly"] is True
        assert cookies["pb_auth"]["sameSite"] == "Lax"
        assert "pb_auth" not in page.evaluate("document.cookie")

        text = "hello from a real browser"
        page.fill("#text", text)
        page.click("form[action='/messages'] button[type=submit]")
        page.wait_for_url(demo_url + "/")
        messages = page.locator("[data-testid=message]")
        assert text in messages.first.text_content()  # newest first

        page.goto(demo_url + "/stats")
        assert "messages" in page.text_content("[data-testid=total]")
        assert "You wrote" in page.text_content("[data-testid=share]")

        page.click("nav form button[type=submit]")  # sign out (POST + CSRF)
        page.wait_for_load_state()
        assert "pb_auth" not in {c["name"] for c in context.cookies()}
        page.goto(demo_url + "/")
        assert "/auth/login" in page.url
    finally:
        context.close()


def test_a_forged_cookie_is_just_anonymous(browser: Any, demo_url: str) -> None:
    context = browser.new_context()
    context.add_cookies([{"name": "pb_auth", "value": "forged.value", "url": demo_url}])
    page = context.new_page()
    try:
        response = page.goto(demo_url + "/")
        assert response is not None and response.status == 200
        assert "/auth/login" in page.url
        assert "pb_auth" not in {c["name"] for c in context.cookies()}
    finally:
        context.close()


def test_two_browsers_see_each_others_changes_live(browser: Any, demo_url: str) -> None:
    alice = sign_in(browser, demo_url, "/auth/login", "alice@example.test", PASSWORD)
    bob = sign_in(browser, demo_url, "/auth/login", "bob@example.test", PASSWORD)
    try:
        live_round(LiveDuo(alice, bob, "flask, werkzeug threaded"), "/messages")
    finally:
        alice.context.close()
        bob.context.close()


def test_without_javascript_the_chat_works_with_reloads(browser: Any, demo_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(demo_url + "/auth/login")
        page.fill("input[name=email]", "carol@example.test")
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(demo_url + "/")
        text = f"no script {time.monotonic_ns()}"
        page.fill("#text", text)
        page.click("form[action='/messages'] button[type=submit]")
        page.wait_for_url(demo_url + "/")
        first = page.locator("[data-testid=message]").first
        assert first.locator("[data-testid=text]").text_content() == text
        first.locator("[data-testid=edit]").click()
        page.fill("#text", text + " edited")
        page.click("main form button[type=submit]")
        page.wait_for_url(demo_url + "/")
        assert page.locator("[data-testid=text]").first.text_content() == text + " edited"
        page.locator("[data-testid=message]").first.locator("form button").click()
        page.wait_for_url(demo_url + "/")
        assert page.locator(f"[data-testid=text]:text-is('{text} edited')").count() == 0
    finally:
        context.close()
