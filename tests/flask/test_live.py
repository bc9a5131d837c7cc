"""The Flask live endpoint (``live_view``) and ``live_script`` against the real PocketBase.

The test client hands the unbuffered body over as the server would; it is read on
a thread of its own (a WSGI worker thread). The last test runs a real threaded
werkzeug server past its cap. Nothing asserts a duration.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from html import escape
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from pb_ssr import Feed, Record
from pb_ssr.relay import Stream
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_flask import config, live_script, live_view
from pb_ssr_flask.testing import login
from tests.core.test_session import USER_TOKEN_LIFETIME, wait_for_next_token_second
from tests.sse import ChunkReader, close_all, post_message, wait_until

from .conftest import auth_cookie, make_app

LIVE = "/live?feeds=messages"


def _item(action: str, record: Record) -> str:
    return f'<li id="msg-{record.id}">{escape(str(record.get("text", "")))}</li>'


FEEDS = [Feed("messages", "messages", render=_item)]


def live_app(url: str, **settings: Any) -> Flask:
    app = make_app(url, **{f"POCKETBASE_{k}": v for k, v in settings.items()})
    app.add_url_rule("/live", view_func=live_view(FEEDS))
    app.add_url_rule("/live.js", view_func=live_script)

    @app.post("/api/logout")
    def api_logout() -> str:
        from pb_ssr_flask import get_session

        get_session().logout()
        return "bye"

    return app


@pytest.fixture(autouse=True)
def opened(relay_streams: list[Stream]) -> list[Stream]:
    return relay_streams


def close_streams(opened: list[Stream]) -> None:
    """The client went away: the server closes the stream (here from another thread)."""
    close_all(opened)


def active(app: Flask) -> int:
    with app.app_context():
        return config().relay(FEEDS).active


@pytest.fixture
def app(pocketbase_server: PocketBaseServer) -> Flask:
    return live_app(pocketbase_server.url)


def test_anonymous_gets_401_and_unknown_feeds_400(
    app: Flask, client: FlaskClient, user: TestUser
) -> None:
    response = client.get(LIVE)
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/plain"
    login(client, user)
    assert client.get("/live?feeds=users").status_code == 400
    assert client.get("/live").status_code == 400
    assert client.post(LIVE).status_code == 405
    assert active(app) == 0


def test_a_signed_in_browser_gets_html_fragments(
    app: Flask,
    client: FlaskClient,
    user: TestUser,
    pocketbase_server: PocketBaseServer,
    opened: list[Stream],
) -> None:
    login(client, user)
    reader = ChunkReader.request(lambda: client.get(LIVE, buffered=False))
    response = reader.response
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Accel-Buffering"] == "no"
    assert active(app) == 1
    try:
        reader.until("retry: 3000")
        message = post_message(pocketbase_server.url, user, "<i>live</i> from flask")
        text = reader.until(f'"id":"{message["id"]}"')
        assert f'<li id=\\"msg-{message["id"]}\\">&lt;i&gt;live&lt;/i&gt; from flask</li>' in text
    finally:
        close_streams(opened)
    reader.ends()
    assert active(app) == 0


def test_a_renewed_token_goes_out_with_the_stream_headers(
    pocketbase_server: PocketBaseServer, user: TestUser, opened: list[Stream]
) -> None:
    app = live_app(pocketbase_server.url, REFRESH_WITHIN=10**9)
    client = app.test_client()
    login(client, user)
    wait_for_next_token_second(user.token, USER_TOKEN_LIFETIME)
    reader = ChunkReader.request(lambda: client.get(LIVE, buffered=False))
    response = reader.response
    try:
        assert response.status_code == 200
        cookie = auth_cookie(response)
        assert cookie is not None and "HttpOnly" in cookie and "Max-Age=0" not in cookie
    finally:
        close_streams(opened)


def test_past_the_cap_a_503_then_room_again(
    pocketbase_server: PocketBaseServer, user: TestUser, opened: list[Stream]
) -> None:
    app = live_app(pocketbase_server.url, REALTIME_MAX_STREAMS=1, REALTIME_RETRY_AFTER=9)
    client = app.test_client()
    login(client, user)
    first = ChunkReader.request(lambda: client.get(LIVE, buffered=False)).response
    try:
        assert first.status_code == 200
        busy = client.get(LIVE)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "9"
    finally:
        close_streams(opened)
    again = ChunkReader.request(lambda: client.get(LIVE, buffered=False))
    assert again.response.status_code == 200
    close_streams(opened)
    assert active(app) == 0


def test_signing_out_ends_the_stream(
    pocketbase_server: PocketBaseServer, user: TestUser, opened: list[Stream]
) -> None:
    app = live_app(pocketbase_server.url, REALTIME_RECHECK=0.2)
    client = app.test_client()
    login(client, user)
    reader = ChunkReader.request(lambda: client.get(LIVE, buffered=False))
    try:
        reader.until("retry:")
        assert client.post("/api/logout").status_code == 200
        reader.until("event: pb:end\ndata: signed-out")
        reader.ends()
    finally:
        close_streams(opened)
    wait_until(lambda: active(app) == 0)


def test_live_js_is_served_from_the_package_with_an_etag(client: FlaskClient) -> None:
    response = client.get("/live.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert b"new EventSource(" in response.data
    cached = client.get("/live.js", headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304 and cached.data == b""


# -- a real threaded server ---------------------------------------------------------------


@pytest.fixture
def served(pocketbase_server: PocketBaseServer) -> Iterator[tuple[Flask, str]]:
    app = live_app(
        pocketbase_server.url,
        REALTIME_MAX_STREAMS=2,
        REALTIME_HEARTBEAT=0.2,  # the server sees a client gone at its next write
        COOKIE_SECURE=False,
    )
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(10)


def test_a_threaded_server_refuses_past_the_cap_and_still_serves_pages(
    served: tuple[Flask, str], user: TestUser
) -> None:
    app, url = served
    with app.test_request_context():
        cookie = config().login_cookie(user)
    cookies = {cookie.name: cookie.value}
    with httpx.Client(base_url=url, cookies=cookies, timeout=10) as http:
        streams = [http.stream("GET", LIVE) for _ in range(2)]
        opened = [s.__enter__() for s in streams]
        try:
            assert [r.status_code for r in opened] == [200, 200]
            busy = http.get(LIVE)
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
            # The worker threads are not hung: pages are still served.
            assert http.get("/whoami").text == f"user:{user.email}"
        finally:
            for s in streams:
                s.__exit__(None, None, None)
    # Gone clients are seen at the next write (a heartbeat): their slots come back.
    wait_until(lambda: active(app) == 0)
