"""A hung PocketBase (SIGSTOP) under concurrent load, in both frameworks, sync and async.

Six signed-in users hammer a server with four worker threads (or one event
loop), alternating a page without PocketBase and a page with it, while the
fault suite's own PocketBase is frozen for three seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from pb_ssr import breaker_for
from pb_ssr._breaker import READ_SLICE
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_django.test import auth_cookie

from .apps import (
    FAULT_SETTINGS,
    Load,
    assert_fault_run,
    flask_app,
    flask_cookie,
    serve_asgi,
    serve_wsgi,
)

HANG = 3.0
#: When the breaker must be open. Sync pages (the shared pool's read watch): the
#: waiting calls report the stall after BREAKER_STALL, well before their timeout.
#: Async pages: the calls in flight time out, then it opens.
DETECT_SYNC = FAULT_SETTINGS["BREAKER_STALL"] + READ_SLICE + 0.4
DETECT_ASYNC = FAULT_SETTINGS["TIMEOUT"] + 0.4

Serve = Callable[[str, list[TestUser]], AbstractContextManager[tuple[str, list[str]]]]


def flask_server(url: str, users: list[TestUser]) -> AbstractContextManager[tuple[str, list[str]]]:
    app = flask_app(url)
    cookies = [flask_cookie(app, u.token, u.record) for u in users]
    return _with_cookies(serve_wsgi(app, workers=4), cookies)


def django_wsgi(url: str, users: list[TestUser]) -> AbstractContextManager[tuple[str, list[str]]]:
    from django.core.handlers.wsgi import WSGIHandler

    cookies = [auth_cookie(u).value for u in users]
    return _with_cookies(serve_wsgi(WSGIHandler(), workers=4), cookies)


def django_asgi(url: str, users: list[TestUser]) -> AbstractContextManager[tuple[str, list[str]]]:
    from django.core.handlers.asgi import ASGIHandler

    cookies = [auth_cookie(u).value for u in users]
    return _with_cookies(serve_asgi(ASGIHandler()), cookies)


class _with_cookies(AbstractContextManager[tuple[str, list[str]]]):
    def __init__(self, inner: AbstractContextManager[str], cookies: list[str]) -> None:
        self.inner, self.cookies = inner, cookies

    def __enter__(self) -> tuple[str, list[str]]:
        return self.inner.__enter__(), self.cookies

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)


CASES = [
    pytest.param(DETECT_SYNC, flask_server, "/notes", id="flask-sync"),
    pytest.param(DETECT_ASYNC, flask_server, "/anotes", id="flask-async"),
    pytest.param(DETECT_SYNC, django_wsgi, "/notes", id="django-sync"),
    pytest.param(DETECT_ASYNC, django_asgi, "/anotes", id="django-async"),
]


@pytest.fixture
def configured(django_app: Callable[..., None], server: PocketBaseServer) -> None:
    django_app(server.url)


@pytest.mark.slow
@pytest.mark.parametrize(("detect", "serve", "pb_path"), CASES)
def test_hang_under_load(
    configured: None,
    server: PocketBaseServer,
    users: list[TestUser],
    detect: float,
    serve: Serve,
    pb_path: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="pb_ssr.breaker"),
        serve(server.url, users) as (
            url,
            cookies,
        ),
        Load(url, cookies, pb_path=pb_path) as load,
    ):
        time.sleep(1.5)  # everybody signed in, caches warm: the "before" figures
        start = time.monotonic()
        with server.paused():
            time.sleep(HANG)
        end = time.monotonic()
        time.sleep(2.0)
    assert_fault_run(load, [u.id for u in users], fault_start=start, fault_end=end, detect=detect)
    messages = [r.getMessage() for r in caplog.records if r.name == "pb_ssr.breaker"]
    assert any("circuit open" in m for m in messages), messages
    assert any("circuit closed" in m for m in messages), messages
    assert breaker_for(server.url).state == "closed"
