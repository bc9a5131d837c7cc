"""The Django chat example in a real browser (ASGI, async views) and over HTTP (WSGI).

The example runs in its own process, as in production: Django settings are
per process, and pytest's own Django settings belong to tests/django.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from example_projects.seed import MIGRATIONS, ROOT, seed
from pb_ssr.testing import PocketBaseServer

from .live import LiveDuo, live_round, sign_in

PASSWORD = "browser-test-password-2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chat_server() -> Iterator[PocketBaseServer]:
    with PocketBaseServer(migrations_dir=MIGRATIONS) as server:
        seed(server, PASSWORD)
        yield server


def serve(server: PocketBaseServer, cmd: list[str], port: int) -> Iterator[str]:
    env = dict(
        os.environ,
        PB_URL=server.url,
        PB_SUPERUSER_EMAIL=server.superuser_email,
        PB_SUPERUSER_PASSWORD=server.superuser_password,
        PB_COOKIE_SECURE="0",
        DJANGO_SECRET_KEY="browser-test-django-secret-key-0123456789",
        DJANGO_SETTINGS_MODULE="example_projects.django_chat.chat_site.settings",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                httpx.get(url + "/auth/login/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def asgi_url(chat_server: PocketBaseServer) -> Iterator[str]:
    port = free_port()
    app = "example_projects.django_chat.chat_site.asgi:application"
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    yield from serve(chat_server, cmd, port)


@pytest.fixture(scope="module")
def wsgi_url(chat_server: PocketBaseServer) -> Iterator[str]:
    port = free_port()
    manage = str(ROOT / "example_projects" / "django_chat" / "manage.py")
    cmd = [sys.executable, manage, "runserver", f"127.0.0.1:{port}", "--noreload"]
    yield from serve(chat_server, cmd, port)


def test_sign_up_post_see_sign_out_in_a_browser(browser: Any, asgi_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(asgi_url + "/auth/signup/")
        email = f"newcomer-{time.monotonic_ns()}@example.test"
        page.fill("input[name=email]", email)
        page.fill("input[name=name]", "Newcomer")
        page.fill("input[name=password]", "a-long-enough-password")
        page.fill("input[name=password_confirm]", "a-long-enough-password")
        page.click("main form button[type=submit]")
        page.wait_for_url(asgi_url + "/")
        assert page.text_content("[data-testid=who]") == "Newcomer"

        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["pb_auth"]["httpOnly"] is True
        assert cookies["pb_auth"]["sameSite"] == "Lax"
        assert "pb_auth" not in page.evaluate("document.cookie")

        page.fill("#text", "hello from a browser on uvicorn")
        page.click("form[action='/messages'] button[type=submit]")
        page.wait_for_url(asgi_url + "/")
        assert (
            "hello from a browser on uvicorn"
            in page.locator("[data-testid=message]").first.text_content()  # newest first
        )

        page.goto(asgi_url + "/stats")
        assert "You wrote 1 of them" in page.text_content("[data-testid=share]")

        page.click("nav form button[type=submit]")
        page.wait_for_load_state()
        assert "pb_auth" not in {c["name"] for c in context.cookies()}
        page.goto(asgi_url + "/")
        assert "/auth/login/" in page.url
    finally:
        context.close()


def test_sync_views_under_wsgi(wsgi_url: str) -> None:
    with httpx.Client(base_url=wsgi_url) as c:
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"].startswith("/auth/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', c.get("/auth/login/").text)
        assert token
        r = c.post(
            "/auth/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "email": "carol@example.test",
                "password": PASSWORD,
                "next": "/",
            },
            headers={"Referer": wsgi_url + "/auth/login/"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/"
        page = c.get("/")
        assert page.status_code == 200
        assert page.headers["Vary"].count("Cookie") >= 1
        assert "private" in page.headers["Cache-Control"]
        assert len(re.findall('data-testid="message"', page.text)) >= 15
        stats = c.get("/stats")
        assert stats.status_code == 200 and "You wrote" in stats.text

        # The live endpoint under WSGI: the stream holds a runserver thread.
        assert httpx.get(wsgi_url + "/live?feeds=messages").status_code == 401
        with c.stream("GET", "/live?feeds=messages") as stream:
            assert stream.status_code == 200
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            assert stream.headers["X-Accel-Buffering"] == "no"
            lines = stream.iter_lines()
            assert next(lines).startswith("retry: ")
            form = c.get("/").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
            assert token
            text = f"over wsgi {time.monotonic_ns()}"
            posted = c.post(
                "/messages",
                data={"csrfmiddlewaretoken": token.group(1), "text": text},
                headers={"Referer": wsgi_url + "/"},
            )
            assert posted.status_code == 302
            for line in lines:
                if line.startswith("data: ") and text in line:
                    assert '"action":"create"' in line and "Delete</button>" in line
                    break
            else:
                raise AssertionError("the stream ended without the new message")


def test_two_browsers_see_each_others_changes_live_under_uvicorn(
    browser: Any, asgi_url: str
) -> None:
    alice = sign_in(browser, asgi_url, "/auth/login/", "alice@example.test", PASSWORD)
    bob = sign_in(browser, asgi_url, "/auth/login/", "bob@example.test", PASSWORD)
    try:
        live_round(LiveDuo(alice, bob, "django, uvicorn ASGI"), "/messages")
    finally:
        alice.context.close()
        bob.context.close()
