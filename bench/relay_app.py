"""The cheapest Python hop there is: a bare WSGI app that relays PocketBase's answer.

Used by ``bench/ssr_load.py`` as the physical floor of *any* Python server in
front of PocketBase on this machine: no framework, no template, no pb-ssr, one
``http.client`` keep-alive connection per thread. ``relay`` passes PocketBase's
bytes through untouched; ``relay_parse`` also decodes the JSON (which any page
that renders the list must do) and still sends the original bytes. A real page
can only be slower than these; how much slower is what the other targets show.

It checks nothing: the token comes from a plain ``pb_token`` cookie and goes to
PocketBase as is. Never deploy anything like it.

Serve: ``PB_URL=... gunicorn 'bench.relay_app:relay'``.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

_PB = urlsplit(os.environ.get("PB_URL", "http://127.0.0.1:8090"))
PATH = "/api/collections/messages/records?page=1&perPage=50&sort=-created&expand=user"
_local = threading.local()

StartResponse = Callable[..., Any]


def _fetch(token: str) -> tuple[int, bytes]:
    conn: http.client.HTTPConnection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = http.client.HTTPConnection(_PB.hostname or "", _PB.port or 80)
    conn.request("GET", PATH, headers={"Authorization": token})
    answer = conn.getresponse()
    return answer.status, answer.read()


def _token(environ: dict[str, Any]) -> str:
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "pb_token":
            return value
    return ""


def _answer(start_response: StartResponse, status: int, body: bytes) -> Iterable[bytes]:
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(f"{status} {http.client.responses.get(status, '')}", headers)
    return [body]


def relay(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Relay the list bytes as PocketBase sent them."""
    status, body = _fetch(_token(environ))
    return _answer(start_response, status, body)


def relay_parse(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Relay the list after decoding its JSON, the least a rendering page must do."""
    status, body = _fetch(_token(environ))
    items = json.loads(body).get("items", [])
    if status == 200 and len(items) != 50:
        status = 500
    return _answer(start_response, status, body)
