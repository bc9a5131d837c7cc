"""The relay core behind the smallest servers: an ASGI app (uvicorn) and a WSGI app (gunicorn).

Used by ``bench/live_relay.py``. No framework: each endpoint is the translation an
adapter does (read the cookie, open the session, ``relay.aopen``/``relay.open``,
answer a :class:`~pb_ssr.relay.Refusal` plainly, stream the rest), so what is
measured is pb-ssr's relay plus the server.

``GET /live?feeds=messages`` streams; ``GET /stats`` answers the open streams and
the process's threads as JSON.

Serve: ``PB_URL=... LIVE_SECRET=... uvicorn --app-dir bench live_app:asgi`` or
``gunicorn -k gthread --threads N --chdir bench live_app:wsgi``.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable, Iterable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from pb_ssr import SessionManager, Settings
from pb_ssr.relay import Feed, Refusal, Relay

SETTINGS = Settings.from_mapping({"URL": os.environ.get("PB_URL", "http://127.0.0.1:8090")})
manager = SessionManager(SETTINGS, secret_key=os.environ.get("LIVE_SECRET", "bench-live-secret"))
relay = Relay(
    [Feed("messages", "messages", expand="user")],
    max_streams=int(os.environ.get("LIVE_MAX_STREAMS", "100")),
)

Send = Callable[[dict[str, Any]], Any]


def _cookie(header: str) -> str | None:
    morsel = SimpleCookie(header).get(SETTINGS.COOKIE_NAME)
    return morsel.value if morsel is not None else None


def _stats() -> bytes:
    return json.dumps({"active": relay.active, "threads": threading.active_count()}).encode()


# -- ASGI: one task per stream ------------------------------------------------------------


async def asgi(scope: dict[str, Any], receive: Callable[[], Any], send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/stats":
        await _plain(send, 200, {"Content-Type": "application/json"}, _stats())
        return
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    client = scope.get("client")
    session = manager.open(
        _cookie(headers.get("cookie", "")), client_ip=client[0] if client else None
    )
    feeds = parse_qs(scope["query_string"].decode()).get("feeds")
    result = await relay.aopen(session, feeds)
    if isinstance(result, Refusal):
        await _plain(send, result.status, result.headers, result.message.encode())
        return
    await send({"type": "http.response.start", "status": 200, "headers": _raw(result.headers)})

    async def pump() -> None:
        async for chunk in result:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    tasks = {asyncio.ensure_future(pump()), asyncio.ensure_future(disconnected())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await result.aclose()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


async def _plain(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _raw(headers)})
    await send({"type": "http.response.body", "body": body})


# -- WSGI: one thread per stream ----------------------------------------------------------

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 503: "Service Unavailable"}


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/stats":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [_stats()]
    session = manager.open(
        _cookie(environ.get("HTTP_COOKIE", "")), client_ip=environ.get("REMOTE_ADDR")
    )
    feeds = parse_qs(environ.get("QUERY_STRING", "")).get("feeds")
    result = relay.open(session, feeds)
    if isinstance(result, Refusal):
        reason = _REASONS.get(result.status, "Error")
        start_response(f"{result.status} {reason}", list(result.headers.items()))
        return [result.message.encode()]
    start_response("200 OK", list(result.headers.items()))
    return result  # the server calls result.close() when the client is gone
