"""The Django live endpoint (``live_view``) and ``live_script`` against the real PocketBase.

Under the sync test client the view runs as under WSGI (``Relay.open``: the stream
holds the request's thread); under the async client as under ASGI (``Relay.aopen``:
a task). Streams are read as a server reads them; nothing asserts a duration.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.test import AsyncClient, Client

from pb_ssr.relay import Stream
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_django.conf import get_config
from pb_ssr_django.test import login
from tests.core.test_session import USER_TOKEN_LIFETIME, wait_for_next_token_second
from tests.sse import WAIT, ChunkReader, post_message, wait_until

from .conftest import Configure
from .views import LIVE_FEEDS

LIVE = "/live/?feeds=messages"


def relay() -> Any:
    return get_config().relay(LIVE_FEEDS)


def test_anonymous_gets_401_not_a_stream(client: Client) -> None:
    response = client.get(LIVE)
    assert response.status_code == 401
    assert not response.streaming
    assert response["Cache-Control"].startswith("no-store")
    assert relay().active == 0


def test_an_undeclared_feed_is_400(client: Client, user: TestUser) -> None:
    login(client, user)
    assert client.get("/live/?feeds=users").status_code == 400
    assert client.get("/live/").status_code == 400
    assert client.post(LIVE).status_code == 405


def test_a_signed_in_browser_gets_the_events_as_html_fragments(
    client: Client, user: TestUser, pocketbase_server: PocketBaseServer
) -> None:
    login(client, user)
    response = client.get(LIVE)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-store, no-transform"
    assert response["X-Accel-Buffering"] == "no"
    assert relay().active == 1
    reader = ChunkReader(response.streaming_content)  # type: ignore[arg-type]
    try:
        reader.until("retry: 3000")
        message = post_message(pocketbase_server.url, user, "<b>live</b> from django")
        text = reader.until(f'"id":"{message["id"]}"')
        assert "event: messages\n" in text
        assert f'<li id=\\"msg-{message["id"]}\\">&lt;b&gt;live&lt;/b&gt; from django</li>' in text
    finally:
        response.close()  # what the WSGI server does when the client goes away
    reader.ends()
    assert relay().active == 0


def test_a_renewed_token_goes_out_with_the_stream_headers(
    client: Client, user: TestUser, configure: Configure
) -> None:
    # Every token is "about to expire": opening the stream renews it.
    configure(REFRESH_WITHIN=10**9)
    login(client, user)
    wait_for_next_token_second(user.token, USER_TOKEN_LIFETIME)
    old = client.cookies["pb_auth"].value
    response = client.get(LIVE)
    try:
        assert response.status_code == 200 and response.streaming
        renewed = response.cookies["pb_auth"]
        assert renewed.value and renewed.value != old and renewed["httponly"]
    finally:
        response.close()


def test_past_the_cap_a_503_with_retry_after(
    client: Client, user: TestUser, configure: Configure
) -> None:
    configure(REALTIME_MAX_STREAMS=1, REALTIME_RETRY_AFTER=7)
    login(client, user)
    first = client.get(LIVE)
    assert first.status_code == 200
    try:
        busy = client.get(LIVE)
        assert busy.status_code == 503 and not busy.streaming
        assert busy["Retry-After"] == "7"
        assert busy["Cache-Control"].startswith("no-store")
    finally:
        first.close()
    again = client.get(LIVE)
    try:
        assert again.status_code == 200
    finally:
        again.close()


def test_signing_out_ends_the_stream(client: Client, user: TestUser, configure: Configure) -> None:
    configure(REALTIME_RECHECK=0.2)
    login(client, user)
    response = client.get(LIVE)
    assert response.status_code == 200
    reader = ChunkReader(response.streaming_content)  # type: ignore[arg-type]
    try:
        reader.until("retry:")
        signed_out = Client()
        signed_out.cookies = client.cookies
        assert signed_out.post("/api/logout/").status_code == 200
        reader.until("event: pb:end\ndata: signed-out")
        reader.ends()
    finally:
        response.close()
    wait_until(lambda: relay().active == 0)


def test_the_sync_view_streams_from_the_request_thread(client: Client, user: TestUser) -> None:
    login(client, user)
    response = client.get(LIVE)
    try:
        # The body is the relay's own sync stream: Django closes it with the response.
        closers = response._resource_closers  # type: ignore[attr-defined]
        assert any(isinstance(getattr(close, "__self__", None), Stream) for close in closers)
    finally:
        response.close()


def test_live_js_is_served_from_the_package_with_an_etag(client: Client) -> None:
    response = client.get("/live.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"new EventSource(" in response.content
    etag = response["ETag"]
    cached = client.get("/live.js", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""


# -- ASGI: a task per stream ----------------------------------------------------------------


@pytest.mark.anyio
async def test_async_stream_under_asgi_and_cancellation_releases_it(
    async_client: AsyncClient, user: TestUser, pocketbase_server: PocketBaseServer
) -> None:
    login(async_client, user)
    response: Any = await async_client.get(LIVE)
    assert response.status_code == 200 and response.is_async
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert relay().active == 1
    chunks = response.streaming_content.__aiter__()
    text = (await asyncio.wait_for(chunks.__anext__(), WAIT)).decode()
    assert text.startswith("retry: ")
    message = await asyncio.to_thread(post_message, pocketbase_server.url, user, "from asgi")

    async def read() -> str:
        seen = ""
        while message["id"] not in seen:
            seen += (await chunks.__anext__()).decode()
        return seen

    assert '"action":"create"' in await asyncio.wait_for(read(), WAIT)
    await gone(chunks)
    assert relay().active == 0


async def gone(chunks: Any) -> None:
    """The client goes away: Django cancels the task that sends the body."""
    reader = asyncio.ensure_future(chunks.__anext__())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader


@pytest.mark.anyio
async def test_async_anonymous_and_cap(
    async_client: AsyncClient, user: TestUser, configure: Configure
) -> None:
    assert (await async_client.get(LIVE)).status_code == 401
    configure(REALTIME_MAX_STREAMS=1)
    login(async_client, user)
    first: Any = await async_client.get(LIVE)
    assert first.status_code == 200
    busy = await async_client.get(LIVE)
    assert busy.status_code == 503 and busy["Retry-After"] == "5"
    chunks = first.streaming_content.__aiter__()
    assert (await asyncio.wait_for(chunks.__anext__(), WAIT)).startswith(b"retry: ")
    await gone(chunks)
    assert relay().active == 0


@pytest.mark.anyio
async def test_open_streams_under_the_asgi_handler_hold_no_thread(user: TestUser) -> None:
    """Django's ASGI handler gives each request a thread for its sync parts; an open
    stream lets it go once sending starts (else: one idle thread per stream)."""
    import threading

    from asgiref.testing import ApplicationCommunicator
    from django.core.handlers.asgi import ASGIHandler

    cookie = get_config().login_cookie(user)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/live/",
        "raw_path": b"/live/",
        "query_string": b"feeds=messages",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"cookie", f"{cookie.name}={cookie.value}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    before = threading.active_count()
    streams = []
    for _ in range(5):
        app = ApplicationCommunicator(ASGIHandler(), scope)
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await app.receive_output(WAIT)
        assert start["type"] == "http.response.start" and start["status"] == 200
        body = await app.receive_output(WAIT)
        assert body["body"].startswith(b"retry: ")
        streams.append(app)
    await asyncio.sleep(0.2)  # the shut-down executors' threads exit
    assert relay().active == 5
    # The realtime readers are tasks; before the fix each stream kept one more thread.
    assert threading.active_count() - before < 5, threading.enumerate()
    for app in streams:
        await app.send_input({"type": "http.disconnect"})
        await app.wait(WAIT)
    for _ in range(200):
        if relay().active == 0:
            break
        await asyncio.sleep(0.02)
    assert relay().active == 0
