"""The app under fault, in Flask and Django, and the servers and load that drive it.

Both apps serve the same four pages:

``/``           never touches PocketBase;
``/notes``      the signed-in user's private notes (a sync view): ``<user id>|<titles>``;
``/anotes``     the same from an ``async def`` view;
``/missing``    asks PocketBase for a record that does not exist (a 404 the app does not handle).

Servers: :class:`PooledWSGIServer` runs a WSGI app on a fixed pool of worker
threads, like gunicorn's ``gthread`` worker, so a hung PocketBase can starve it
the way it starves a production app. :class:`UvicornThread` runs an ASGI app.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import httpx
from flask import Flask

from pb_ssr_flask import PocketBaseSSR, apb, current_user, pb

#: What the fault suite sets on every app: short enough to keep the tests quick.
FAULT_SETTINGS: dict[str, Any] = {
    "TIMEOUT": 1.5,
    "CONNECT_TIMEOUT": 0.5,
    "BREAKER_FAILURES": 3,
    "BREAKER_COOLDOWN": 0.3,
    "BREAKER_STALL": 0.5,
    "COOKIE_SECURE": False,
}


def titles(items: list[Any]) -> str:
    return ",".join(sorted(item["title"] for item in items))


# -- Flask ----------------------------------------------------------------------------------


def flask_app(url: str, **settings: Any) -> Flask:
    """The fault app in Flask; *settings* are pb-ssr keys without the prefix."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="pb-ssr-fault-secret", POCKETBASE_URL=url)
    app.config.update({f"POCKETBASE_{k}": v for k, v in {**FAULT_SETTINGS, **settings}.items()})
    PocketBaseSSR(app)

    @app.get("/")
    def home() -> str:
        return "home"

    @app.get("/notes")
    def notes() -> str:
        items = pb.collection("private_notes").get_full_list()
        return f"{current_user.get('id') or '-'}|{titles(items)}"

    @app.get("/anotes")
    async def anotes() -> str:
        client = await apb()
        items = await client.collection("private_notes").get_full_list()
        record = client.auth_store.record
        return f"{record.id if record is not None else '-'}|{titles(items)}"

    @app.get("/missing")
    def missing() -> str:
        pb.collection("private_notes").get_one("nosuchrecord123")
        return "found?"

    return app


def flask_cookie(app: Flask, token: str, record: dict[str, Any]) -> str:
    """The auth cookie value the Flask app would write for this user."""
    return str(app.extensions["pocketbase"].manager.codec.dump(token, record, max_age=3600).value)


# -- servers -------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class PooledWSGIServer(WSGIServer):
    """A WSGI server with a fixed pool of worker threads (gunicorn ``gthread``-like)."""

    def __init__(self, app: Callable[..., Any], *, workers: int) -> None:
        super().__init__(("127.0.0.1", 0), _QuietHandler)
        self.set_app(app)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="wsgi-worker")

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._work, request, client_address)

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serve_wsgi(app: Callable[..., Any], *, workers: int = 8) -> Iterator[str]:
    """Serve *app* on a pool of *workers* threads; yield its URL."""
    server = PooledWSGIServer(app, workers=workers)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.pool.shutdown(wait=True, cancel_futures=True)
        server.server_close()
        thread.join()


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Serve an ASGI *app* with uvicorn on one event loop; yield its URL."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


# -- load ----------------------------------------------------------------------------------


@dataclass
class Sample:
    """One answered request."""

    user: int
    path: str
    start: float
    seconds: float
    status: int
    body: str
    set_cookie: list[str] = field(default_factory=list)

    @property
    def end(self) -> float:
        return self.start + self.seconds


class Load:
    """Client threads, one per signed-in user, alternating a page without PocketBase
    and a page with it until stopped. Every answer is kept as a :class:`Sample`."""

    def __init__(self, url: str, cookies: list[str], *, pb_path: str = "/notes") -> None:
        self.url = url
        self.cookies = cookies
        self.pb_path = pb_path
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(len(cookies))
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _run(self, i: int) -> None:
        headers = {"Cookie": f"pb_auth={self.cookies[i]}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30, trust_env=False) as http:
            paths = ["/", self.pb_path]
            n = 0
            while not self._stop.is_set():
                path = paths[n % 2]
                n += 1
                start = time.monotonic()
                response = http.get(path)
                sample = Sample(
                    i,
                    path,
                    start,
                    time.monotonic() - start,
                    response.status_code,
                    response.text,
                    response.headers.get_list("set-cookie"),
                )
                with self._lock:
                    self.samples.append(sample)

    def between(self, path: str, start: float, end: float) -> list[Sample]:
        """Samples of *path* that started in ``[start, end)``."""
        with self._lock:
            return [s for s in self.samples if s.path == path and start <= s.start < end]


def median(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


# -- what every fault run must show ------------------------------------------------------------


def deleted_auth_cookie(sample: Sample) -> bool:
    return any(
        h.startswith("pb_auth=;") or h.startswith('pb_auth="";') or "Max-Age=0" in h
        for h in sample.set_cookie
        if h.startswith("pb_auth=")
    )


def assert_fault_run(
    load: Load,
    user_ids: list[str],
    *,
    fault_start: float,
    fault_end: float,
    detect: float,
) -> None:
    """The issue's promises for one run with a fault between *fault_start* and *fault_end*.

    :param detect: seconds after *fault_start* by which the breaker must be open.
    """
    samples = list(load.samples)
    pb_path = load.pb_path
    # No 500 (nor anything else): a page, or the 503 page.
    assert {s.status for s in samples} <= {200, 503}, sorted({s.status for s in samples})
    # Nobody saw another user's data, nobody was signed out.
    for s in samples:
        if s.path == pb_path and s.status == 200:
            assert s.body == f"{user_ids[s.user]}|note of {user_ids[s.user]}", s
        assert not deleted_auth_cookie(s), s
    # Pages without PocketBase kept their speed during the fault.
    before = load.between("/", fault_start - 1.0, fault_start)
    during = load.between("/", fault_start, fault_end)
    assert len(before) >= 10 and len(during) >= 10, (len(before), len(during))
    assert median(during) <= max(2 * median(before), 0.05), (median(before), median(during))
    # Once the breaker is open, pages with PocketBase answer 503 at once.
    # (A probe sent just before the fault ended is answered after it: a 200; and a
    # restarted PocketBase answers a little before start() has seen it healthy.)
    until = fault_end - 0.3
    open_ = [s for s in load.between(pb_path, fault_start + detect, until) if s.end < until]
    assert open_, "no request while the breaker was open"
    assert all(s.status == 503 for s in open_), [s.status for s in open_]
    # Only the half-open probe (one at a time, one per cooldown) may wait on PocketBase:
    # on a loaded machine fewer requests are sent, and the probes are more than 10%.
    fast = [s for s in open_ if s.seconds < 0.2]
    window = until - (fault_start + detect)
    probes = int(window / FAULT_SETTINGS["BREAKER_COOLDOWN"]) + 1
    slow = len(open_) - len(fast)
    assert slow <= max(0.1 * len(open_), probes), sorted(s.seconds for s in open_)[-5:]
    assert len(fast) >= len(open_) / 2, sorted(s.seconds for s in open_)[-5:]
    # Recovery: every page asked for a second after PocketBase came back is served.
    after = load.between(pb_path, fault_end + 1.0, float("inf"))
    assert after, "no request after recovery"
    assert all(s.status == 200 for s in after), [(s.start - fault_end, s.status) for s in after]
