"""The realtime relay through the adapters: delay it adds, memory per open stream, the cap.

PocketBase runs the test schema (``messages`` with a ``user`` relation) and
``bench/live_site`` serves the live endpoint as an app wires it: the Django chat
example's project (its middleware, with ``PocketBaseMiddleware``) with
``path("live", live_view(FEEDS))``, and a Flask app with ``PocketBaseSSR(app)`` and
``app.add_url_rule("/live", view_func=live_view(FEEDS))``. The feed is ``messages``
with ``expand="user"`` as JSON.

1. **Delay** (Django under uvicorn, ASGI: ``Relay.aopen``, a task per stream): one
   client follows ``messages`` through ``/live?feeds=messages`` (with a signed-in
   cookie) and one follows the same topic on PocketBase directly (``/api/realtime``,
   the floor). Both read on threads of this process with the same SSE decoder. For
   each of ``--events`` records, created by another user a few ms apart, the delay
   from just before the create request to the event's arrival is taken at both
   clients: p50 and p99 of each, and of their per-record difference.
2. **Memory per idle stream** (the same Django/uvicorn server): its ``VmRSS`` and
   threads once warm, then with 100 and with 1,000 idle streams open (each answered
   its ``retry:`` hint; their sockets are held open by asyncio in this process), per
   stream. The relay reads each stream on a task, but Django's ASGI handler gives
   every request an asgiref executor for its sync ``request_started`` receivers, whose
   thread lives as long as the response: one idle thread per stream, counted here.
   PocketBase's own RSS per realtime client is shown too (information).
3. **Thread per stream** (gunicorn ``gthread``, one worker with ``--cap`` + 4
   threads, ``REALTIME_MAX_STREAMS`` = ``--cap``; Flask, then Django under WSGI,
   where the view's ``Relay.open`` holds the request's thread): RSS and threads at
   the cap, per stream, and the answer past the cap (503 with ``Retry-After``, and
   how long it took: never a hung worker).

Targets: the relay adds <= 5 ms at p50; < 100 KB per idle stream on the async
server. Run: ``.venv/bin/python bench/live_relay.py [--events N] [--cap N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MIGRATIONS, ROOT, process_tree, rss_kib, write_json

from pb_ssr import SessionManager, Settings
from pb_ssr._realtime import SSEDecoder
from pb_ssr.relay import Feed
from pb_ssr.testing import PocketBaseServer, TestUser

SECRET = "bench-live-relay-" + "r" * 32
TARGET_ADDED_P50_MS = 5.0
TARGET_KB_PER_STREAM = 100.0
TOPIC = Feed("messages", "messages", expand="user").subscription


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/stats", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


@contextmanager
def serve(argv: list[str], env: dict[str, str], url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        argv, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=None
    )
    try:
        wait_ready(url)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stats(url: str) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(url + "/stats", timeout=5).json()
    return result


def wait_idle(url: str, timeout: float = 30.0) -> None:
    """Wait until the server has no stream open (a closed client is noticed late)."""
    deadline = time.monotonic() + timeout
    while stats(url)["active"] and time.monotonic() < deadline:
        time.sleep(0.1)


def settled_rss(pid: int) -> int:
    """RSS once the server is quiet (a second without new allocations to show)."""
    time.sleep(1.0)
    return rss_kib(pid)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "p50_ms": statistics.median(ms),
        "p99_ms": percentile(ms, 0.99),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "n": len(ms),
    }


# -- 1. delay ------------------------------------------------------------------------------


class Arrivals:
    """Reads one SSE response on a thread; notes when each record id first arrived."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.at: dict[str, float] = {}
        self.cond = threading.Condition()
        self.ready = threading.Event()

    def consume(self, lines: Iterator[str], stop: threading.Event, on_connect: Any = None) -> None:
        """Read until an event arrives after *stop* is set."""
        decoder = SSEDecoder()
        for line in lines:
            if line.startswith("retry:"):
                self.ready.set()
            event = decoder.decode(line)
            if event is None:
                continue
            now = time.perf_counter()
            if event.event == "PB_CONNECT" and on_connect is not None:
                on_connect(json.loads(event.data)["clientId"])
                self.ready.set()
                continue
            data = json.loads(event.data)
            record_id = data.get("record", {}).get("id") or data.get("id")
            if record_id:
                with self.cond:
                    self.at.setdefault(record_id, now)
                    self.cond.notify_all()
            if stop.is_set():
                return

    def wait(self, record_id: str, timeout: float = 10.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: record_id in self.at, timeout):
                raise RuntimeError(f"{self.name}: no event for {record_id}")
            return self.at[record_id]


def measure_delay(
    server: PocketBaseServer,
    relay_url: str,
    cookie: str,
    reader: TestUser,
    poster: TestUser,
    events: int,
) -> dict[str, Any]:
    direct, relayed = Arrivals("direct"), Arrivals("relay")
    stop = threading.Event()
    http = httpx.Client(timeout=httpx.Timeout(10, read=None))

    def read_direct() -> None:
        def subscribe(client_id: str) -> None:
            response = http.post(
                f"{server.url}/api/realtime",
                json={"clientId": client_id, "subscriptions": [TOPIC]},
                headers={"Authorization": reader.token},
            )
            response.raise_for_status()

        with http.stream("GET", f"{server.url}/api/realtime") as response:
            direct.consume(response.iter_lines(), stop, on_connect=subscribe)

    def read_relay() -> None:
        with http.stream(
            "GET", f"{relay_url}/live?feeds=messages", headers={"Cookie": f"pb_auth={cookie}"}
        ) as response:
            response.raise_for_status()
            relayed.consume(response.iter_lines(), stop)

    threads = [threading.Thread(target=f, daemon=True) for f in (read_direct, read_relay)]
    for thread in threads:
        thread.start()
    if not (direct.ready.wait(10) and relayed.ready.wait(10)):
        raise RuntimeError("a stream did not open")
    poster_http = httpx.Client(headers={"Authorization": poster.token}, timeout=10)
    create_url = f"{server.url}/api/collections/messages/records"
    rng = random.Random(7)
    direct_s: list[float] = []
    relay_s: list[float] = []
    added_s: list[float] = []
    warmup = 10
    for i in range(events + warmup):
        start = time.perf_counter()
        response = poster_http.post(create_url, json={"text": f"live {i}", "user": poster.id})
        response.raise_for_status()
        record_id = response.json()["id"]
        t_direct = direct.wait(record_id)
        t_relay = relayed.wait(record_id)
        if i >= warmup:
            direct_s.append(t_direct - start)
            relay_s.append(t_relay - start)
            added_s.append(t_relay - t_direct)
        time.sleep(rng.uniform(0.01, 0.03))
    # One more event lets both readers see the stop and leave their streams.
    stop.set()
    poster_http.post(create_url, json={"text": "last", "user": poster.id}).raise_for_status()
    for thread in threads:
        thread.join(10)
    http.close()
    poster_http.close()
    return {
        "events": events,
        "direct": spread(direct_s),
        "relay": spread(relay_s),
        "added": spread(added_s),
        "added_p50_ms": statistics.median(relay_s) * 1000 - statistics.median(direct_s) * 1000,
    }


# -- 2. idle streams ---------------------------------------------------------------------


async def open_idle_streams(
    port: int, cookie: str, count: int, held: list[asyncio.StreamWriter]
) -> None:
    """Open *count* streams and keep their sockets in *held*; each got its retry hint."""
    gate = asyncio.Semaphore(32)
    request = (
        f"GET /live?feeds=messages HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Cookie: pb_auth={cookie}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()

    async def one() -> None:
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            seen = b""
            while b"retry:" not in seen:
                chunk = await asyncio.wait_for(reader.read(4096), 30)
                if not chunk:
                    raise RuntimeError(f"stream refused: {seen[:200]!r}")
                seen += chunk
            held.append(writer)

    await asyncio.gather(*(one() for _ in range(count)))


def measure_idle_streams(
    url: str, port: int, pid: int, pb_pid: int | None, cookie: str, counts: list[int]
) -> dict[str, Any]:
    """*pb_pid* None: PocketBase's growth is not taken (its RSS does not shrink after a run)."""
    loop = asyncio.new_event_loop()
    held: list[asyncio.StreamWriter] = []
    wait_idle(url)
    base, base_threads = settled_rss(pid), threads_of(pid)
    pb_base = rss_kib(pb_pid) if pb_pid else 0
    rows: list[dict[str, Any]] = []
    try:
        for count in counts:
            loop.run_until_complete(open_idle_streams(port, cookie, count - len(held), held))
            rss, threads = settled_rss(pid), threads_of(pid)
            active = stats(url)["active"]
            pb_rss = rss_kib(pb_pid) if pb_pid else 0
            # Growth since the previous count: the cost of one more stream, without
            # what the first streams paid once (pools, code paths, arenas).
            before, before_rss = (rows[-1]["streams"], rows[-1]["rss_kib"]) if rows else (0, base)
            marginal = (rss - before_rss) / (count - before)
            rows.append(
                {
                    "streams": count,
                    "active": active,
                    "rss_kib": rss,
                    "kib_per_stream": (rss - base) / count,
                    "marginal_kib_per_stream": marginal,
                    # Django's ASGI handler runs its own sync request_started receivers
                    # through asgiref in a per-request executor: its thread lives as
                    # long as the response, here the stream (idle, but a thread).
                    "threads": threads,
                    "threads_per_stream": (threads - base_threads) / count,
                    "pocketbase_kib_per_client": (pb_rss - pb_base) / count if pb_pid else None,
                }
            )
            print(
                f"  {count:>5} idle streams: server RSS {rss / 1024:.1f} MiB "
                f"(+{(rss - base) / count:.1f} KiB per stream, {marginal:.1f} KiB for each "
                f"since {before}; +{(threads - base_threads) / count:.2f} threads per stream"
                + (
                    f"; PocketBase +{(pb_rss - pb_base) / count:.1f} KiB per client"
                    if pb_pid
                    else ""
                )
                + f"), active={active}",
                flush=True,
            )
    finally:
        for writer in held:
            writer.close()
        loop.run_until_complete(asyncio.sleep(0.5))
        loop.close()
    wait_idle(url)
    return {
        "base_rss_kib": base,
        "base_threads": base_threads,
        "rows": rows,
        "active_after_close": stats(url)["active"],
    }


# -- 3. thread per stream --------------------------------------------------------------


def worker_pid(master: int) -> int:
    children = [p for p in process_tree(master) if p != master]
    if not children:
        raise RuntimeError("gunicorn has no worker")
    return children[0]


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError("no Threads line")


def measure_thread_streams(
    server: str, url: str, master: int, cookie: str, cap: int
) -> dict[str, Any]:
    pid = worker_pid(master)
    port = int(url.rsplit(":", 1)[1])
    request = (
        f"GET /live?feeds=messages HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: pb_auth={cookie}\r\n\r\n"
    ).encode()

    def open_stream() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(request)
        seen = b""
        while b"retry:" not in seen:
            chunk = sock.recv(4096)
            if not chunk:
                raise RuntimeError(f"stream refused: {seen[:200]!r}")
            seen += chunk
        return sock

    # The first stream warms the worker (imports, the relay's pool, the first
    # thread) and stays open: a closed one would hold its thread until the next
    # heartbeat. The baseline is the worker with it, the figure per stream the
    # growth over the other cap - 1.
    held: list[socket.socket] = [open_stream()]
    try:
        base, base_threads = settled_rss(pid), threads_of(pid)
        for _ in range(cap - 1):
            held.append(open_stream())
        at_cap, at_cap_threads = settled_rss(pid), threads_of(pid)
        active = stats(url)["active"]
        # A client made beforehand: httpx.get() would time building its SSL context.
        with httpx.Client(timeout=10) as client:
            client.get(f"{url}/stats").raise_for_status()
            start = time.perf_counter()
            past = client.get(f"{url}/live?feeds=messages", headers={"Cookie": f"pb_auth={cookie}"})
            past_ms = (time.perf_counter() - start) * 1000
    finally:
        for sock in held:
            sock.close()
    print(
        f"  {server}: {cap} thread streams (the cap): worker RSS {at_cap / 1024:.1f} MiB "
        f"(+{(at_cap - base) / (cap - 1):.1f} KiB and "
        f"+{(at_cap_threads - base_threads) / (cap - 1):.1f} "
        f"threads per stream); past the cap: {past.status_code} "
        f"Retry-After={past.headers.get('Retry-After')} in {past_ms:.1f} ms",
        flush=True,
    )
    return {
        "server": server,
        "cap": cap,
        "active_at_cap": active,
        "base_rss_kib": base,
        "rss_at_cap_kib": at_cap,
        "kib_per_stream": (at_cap - base) / (cap - 1),
        "threads_base": base_threads,
        "threads_at_cap": at_cap_threads,
        "threads_per_stream": (at_cap_threads - base_threads) / (cap - 1),
        "past_cap_status": past.status_code,
        "past_cap_retry_after": past.headers.get("Retry-After"),
        "past_cap_ms": past_ms,
    }


def pocketbase_pid(server: PocketBaseServer) -> int:
    process = getattr(server, "_process", None)
    if process is None:
        raise RuntimeError("PocketBaseServer keeps no _process")
    return int(process.pid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--streams", default="100,1000", help="idle stream counts, ascending")
    parser.add_argument("--cap", type=int, default=100, help="thread-per-stream cap")
    args = parser.parse_args()
    counts = [int(c) for c in args.streams.split(",")]
    started = time.monotonic()
    with PocketBaseServer(migrations_dir=MIGRATIONS) as server:
        reader = server.create_user(name="Reader")
        poster = server.create_user(name="Poster")
        manager = SessionManager(Settings.from_mapping({"URL": server.url}), secret_key=SECRET)
        cookie = manager.codec.dump(reader.token, reader.record, max_age=3600).value
        env = {
            "PB_URL": server.url,
            "LIVE_SECRET": SECRET,
            "LIVE_MAX_STREAMS": str(max(counts) + 100),
            "PYTHONPATH": str(ROOT),
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        uvicorn = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.live_site.asgi:application",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "2",
        ]
        print(f"Django under uvicorn (ASGI, Relay.aopen) on {url}", flush=True)
        with serve(uvicorn, env, url) as process:
            delay = measure_delay(server, url, cookie, reader, poster, args.events)
            print(
                f"  delay p50/p99: direct {delay['direct']['p50_ms']:.2f}/"
                f"{delay['direct']['p99_ms']:.2f} ms, relay {delay['relay']['p50_ms']:.2f}/"
                f"{delay['relay']['p99_ms']:.2f} ms, added p50 {delay['added_p50_ms']:.2f} ms "
                f"(per-record difference p50/p99 {delay['added']['p50_ms']:.2f}/"
                f"{delay['added']['p99_ms']:.2f} ms)",
                flush=True,
            )
            gc.collect()
            idle = measure_idle_streams(
                url, port, process.pid, pocketbase_pid(server), cookie, counts
            )
        idle["server"] = "Django on uvicorn"
        # Information: the same server with nothing sync in a request (see
        # bench/live_site/settings.py), to show what asgiref's thread costs a stream.
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        uvicorn[uvicorn.index("--port") + 1] = str(port)
        print(f"Django under uvicorn, async-only stack (information) on {url}", flush=True)
        with serve(uvicorn, {**env, "LIVE_ASYNC_ONLY": "1"}, url) as process:
            with httpx.stream(
                "GET", f"{url}/live?feeds=messages", headers={"Cookie": f"pb_auth={cookie}"}
            ) as response:
                next(response.iter_lines())  # warm: imports, the relay's pool
            idle_async_only = measure_idle_streams(url, port, process.pid, None, cookie, counts)
        idle_async_only["server"] = "Django on uvicorn, async-only stack"
        gunicorn_bin = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
        threaded: dict[str, dict[str, Any]] = {}
        for key, label, app in (
            ("flask", "Flask on gunicorn gthread", "bench.live_site.flask_app:app"),
            ("django", "Django WSGI on gunicorn gthread", "bench.live_site.wsgi:application"),
        ):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            gunicorn = [
                gunicorn_bin,
                "-k",
                "gthread",
                "-w",
                "1",
                "--threads",
                str(args.cap + 4),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--graceful-timeout",
                "2",
                app,
            ]
            print(f"{label} (a thread per stream, cap {args.cap}) on {url}", flush=True)
            with serve(gunicorn, {**env, "LIVE_MAX_STREAMS": str(args.cap)}, url) as process:
                threaded[key] = measure_thread_streams(label, url, process.pid, cookie, args.cap)
    per_stream = {row["streams"]: row["kib_per_stream"] for row in idle["rows"]}
    payload = {
        "delay": delay,
        "idle_async": idle,
        "idle_async_only": idle_async_only,
        # Flask under the historical key (report.py's target row); Django WSGI beside it.
        "thread_per_stream": threaded["flask"],
        "thread_per_stream_django": threaded["django"],
        "targets": {
            "added_p50_ms": TARGET_ADDED_P50_MS,
            "kb_per_idle_stream": TARGET_KB_PER_STREAM,
        },
        "seconds": time.monotonic() - started,
    }
    path = write_json("live_relay", payload)
    # KiB from /proc against a target in KB (1 KiB = 1.024 KB).
    met = (
        delay["added_p50_ms"] <= TARGET_ADDED_P50_MS
        and all(v * 1.024 < TARGET_KB_PER_STREAM for v in per_stream.values())
        and all(t["past_cap_status"] == 503 for t in threaded.values())
    )
    verdict = "met" if met else "MISSED"
    print(f"wrote {path.relative_to(ROOT)} ({payload['seconds']:.0f} s); targets {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
