"""Times one Django project's chat page in-process, on command (``bench/ssr_load.py``).

A Django process has one settings module, so the example with pb-ssr and the
hand-written floor (``bench/django_floor``) each run in a worker of their own, and
``ssr_load.django_breakdown`` interleaves batches across the workers. Started as::

    python bench/_django_page_worker.py sync|async SETTINGS_MODULE COOKIE_HEADER

with ``PB_URL``, ``DJANGO_SECRET_KEY`` and ``PB_COOKIE_SECURE=0`` in the environment.
It serves ``GET /`` straight through Django's WSGI handler (``sync``) or ASGI handler
on one event loop (``async``, ``CHAT_ASYNC_VIEWS=1``), no sockets, no server, warms
up, prints ``ready``, then answers each line ``N`` on stdin with the median CPU
milliseconds (``time.process_time``: every thread of the process, so the thread hops
of Django's sync middleware under ASGI count) of N page views, one per line.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def wsgi_view(cookie: str) -> Callable[[], None]:
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.0",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_COOKIE": cookie,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }

    def view() -> None:
        status: list[str] = []
        body = app(
            {**environ, "wsgi.input": io.BytesIO()},
            lambda s, headers, exc_info=None: status.append(s),
        )
        b"".join(body)
        body.close()
        if not status[0].startswith("200"):
            raise RuntimeError(f"the page answered {status[0]}")

    return view


def asgi_view(cookie: str) -> Callable[[], None]:
    os.environ["CHAT_ASYNC_VIEWS"] = "1"
    from django.core.asgi import get_asgi_application

    app = get_asgi_application()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.0",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    loop = asyncio.new_event_loop()

    async def one() -> int:
        sent: list[dict[str, Any]] = []
        asked = False

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # no disconnect: Django cancels this when done
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(dict(scope), receive, send)
        return int(sent[0]["status"])

    def view() -> None:
        status = loop.run_until_complete(one())
        if status != 200:
            raise RuntimeError(f"the page answered {status}")

    return view


def main() -> None:
    kind, settings_module, cookie = sys.argv[1:4]
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    view = asgi_view(cookie) if kind == "async" else wsgi_view(cookie)
    for _ in range(100):
        view()
    print("ready", flush=True)
    for line in sys.stdin:
        samples = []
        for _ in range(int(line)):
            start = time.process_time()
            view()
            samples.append(time.process_time() - start)
        print(statistics.median(samples) * 1000, flush=True)


if __name__ == "__main__":
    main()
