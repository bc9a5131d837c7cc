"""Section 9: a hung PocketBase under load -- pages keep their speed, outages answer at once.

The app (``bench/fault_app.py``) serves two pages from gunicorn's ``gthread`` worker
with 16 threads, as in issue 16: ``/`` never touches PocketBase, ``/notes`` lists
the signed-in user's notes. 24 client threads (8 signed-in users) alternate the
two pages with keep-alive. After a few seconds PocketBase is frozen with SIGSTOP
for 8 s, then thawed with SIGCONT. Each configuration runs in the same process,
one after the other, against the same PocketBase:

- ``pb-ssr defaults``: breaker on (5 failures, 0.5 s cool-down), ``TIMEOUT`` 5 s;
- ``no breaker``: the same timeouts with ``BREAKER_FAILURES = 0``;
- ``before issue 16``: no breaker, the old 10 s timeout (3 s to connect).

Figures per configuration: p50/p99 of each page before the hang and during it;
``/notes`` once the breaker opened (from the first fast 503 on); when that was
(the stall every hang starts with: the calls already waiting run into their
timeout); statuses; and recovery, the time after SIGCONT from which every
``/notes`` request was served. Also measured, to justify the timeout defaults:
the ``/notes`` page's latency under this load and TCP connect times to
PocketBase, against ``TIMEOUT`` and ``CONNECT_TIMEOUT``.

The load generator is Python (threads in this process): it shares the 2 cores
with the app and PocketBase, so absolute latencies are pessimistic; the ratios
compare runs made the same way.

``/`` is also asked by an open-loop visitor every 0.1 s (a new connection each,
whatever the clients wait for): its figures, ``/ (new visitor)``, are the ones the
targets use, since closed-loop clients send less during a stall and so
under-weight it.

Targets (pb-ssr defaults): ``/`` (new visitor) during the hang within 2x its p50 before;
``/notes`` once open p99 <= 1 s; recovery <= 1 s.

Run: ``.venv/bin/python bench/faults.py [--hang S]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MIGRATIONS, ROOT, write_json

from pb_ssr import CookieCodec, Settings
from pb_ssr.testing import PocketBaseServer, TestUser

VENV_BIN = Path(sys.executable).parent
THREADS = 16
CLIENTS = 24
USERS = 8
BEFORE = 4.0
AFTER = 4.0
#: The open-loop visitor of the page without PocketBase, and how often one comes.
PROBE = "/ (new visitor)"
PROBE_EVERY = 0.1
PATHS = ("/", "/notes", PROBE)

_OLD = {
    "POCKETBASE_BREAKER_FAILURES": "0",
    "POCKETBASE_TIMEOUT": "10",
    "POCKETBASE_CONNECT_TIMEOUT": "3",
}
#: name -> (environment of the app, fault)
CONFIGS: dict[str, tuple[dict[str, str], str]] = {
    "pb-ssr defaults": ({}, "hang"),
    "no breaker": ({"POCKETBASE_BREAKER_FAILURES": "0"}, "hang"),
    "before issue 16": (_OLD, "hang"),
    "pb-ssr defaults, kill + restart": ({}, "restart"),
}


@dataclass
class Sample:
    path: str
    start: float
    seconds: float
    status: int

    @property
    def end(self) -> float:
        return self.start + self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class App:
    """gunicorn gthread, 1 worker x 16 threads, in its own process group."""

    def __init__(self, pb_url: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [
            str(VENV_BIN / "gunicorn"),
            "-k",
            "gthread",
            "--workers=1",
            f"--threads={THREADS}",
            f"--bind=127.0.0.1:{self.port}",
            "--log-level=warning",
            "bench.fault_app:create_app()",
        ]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the app
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, "PB_URL": pb_url, "PYTHONPATH": str(ROOT), **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.url + "/", timeout=1.0)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    raise RuntimeError(self.log.read().decode(errors="replace")[-3000:]) from None
                time.sleep(0.1)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def load(url: str, cookies: list[str], stop: threading.Event, out: list[Sample]) -> None:
    lock = threading.Lock()

    def client(i: int) -> None:
        headers = {"Cookie": f"pb_auth={cookies[i % len(cookies)]}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60, trust_env=False) as http:
            n = i  # half the clients start on each page
            while not stop.is_set():
                path = "/" if n % 2 == 0 else "/notes"
                n += 1
                start = time.monotonic()
                try:
                    status = http.get(path).status_code
                except httpx.HTTPError:
                    status = -1
                with lock:
                    out.append(Sample(path, start, time.monotonic() - start, status))

    def probe() -> None:
        start = time.monotonic()
        try:
            status = httpx.get(url + "/", timeout=60, trust_env=False).status_code
        except httpx.HTTPError:
            status = -1
        with lock:
            out.append(Sample(PROBE, start, time.monotonic() - start, status))

    def prober() -> None:
        # Open loop: a new visitor every PROBE_EVERY s whatever the others wait for,
        # so a stall shows in the percentiles instead of silencing the clients.
        probes = []
        while not stop.wait(PROBE_EVERY):
            probes.append(threading.Thread(target=probe))
            probes[-1].start()
        for t in probes:
            t.join()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    threads.append(threading.Thread(target=prober))
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def stats(samples: list[Sample]) -> dict[str, Any]:
    secs = [s.seconds for s in samples]
    return {
        "n": len(samples),
        "p50_ms": pct(secs, 50) * 1000,
        "p99_ms": pct(secs, 99) * 1000,
        "max_ms": max(secs, default=float("nan")) * 1000,
        "statuses": {
            str(k): sum(1 for s in samples if s.status == k)
            for k in sorted({s.status for s in samples})
        },
    }


def run_config(
    server: PocketBaseServer, cookies: list[str], env: dict[str, str], hang: float, fault: str
) -> dict[str, Any]:
    app = App(server.url, env)
    samples: list[Sample] = []
    stop = threading.Event()
    driver = threading.Thread(target=load, args=(app.url, cookies, stop, samples))
    try:
        driver.start()
        time.sleep(BEFORE)
        paused = time.monotonic()
        if fault == "hang":
            server.pause()
            time.sleep(hang)
            server.resume()
        else:  # killed, restarted: start() returns once /api/health answers
            server.stop()
            time.sleep(hang)
            server.start()
        resumed = time.monotonic()
        time.sleep(AFTER)
    finally:
        if server.is_paused:
            server.resume()
        stop.set()
        driver.join()
        app.stop()

    def between(path: str, a: float, b: float) -> list[Sample]:
        return [s for s in samples if s.path == path and a <= s.start < b]

    def done_before(path: str, a: float, b: float) -> list[Sample]:
        # Requests sent just before the fault and caught by it belong to the fault.
        return [s for s in between(path, a, b) if s.end < b]

    warm = paused - BEFORE + 1.0
    hang_notes = between("/notes", paused, resumed)
    fast_503 = [s for s in hang_notes if s.status == 503 and s.seconds < 0.5]
    opened = min((s.end for s in fast_503), default=None)
    once_open = (
        [s for s in between("/notes", opened, resumed) if s.end < resumed]
        if opened is not None
        else []
    )
    after = between("/notes", resumed, float("inf"))
    failing = [s.start - resumed for s in after if s.status != 200]
    return {
        "env": env,
        "fault": fault,
        "before": {p: stats(done_before(p, warm, paused)) for p in PATHS},
        "hang": {p: stats(between(p, paused, resumed)) for p in PATHS},
        "notes_once_open": stats(once_open) if once_open else None,
        "breaker_open_after_s": None if opened is None else opened - paused,
        "recovery_s": max(failing, default=0.0),
        "requests_per_s": {
            "before": len(between("/", warm, paused) + between("/notes", warm, paused))
            / (paused - warm),
            "hang": len(between("/", paused, resumed) + hang_notes) / (resumed - paused),
        },
        "errors_5xx_other_than_503": sum(
            1 for s in samples if (s.status >= 500 and s.status != 503) or s.status < 0
        ),
    }


def connect_times(url: str, n: int = 300) -> dict[str, float]:
    host, port = url.removeprefix("http://").split(":")
    secs = []
    for _ in range(n):
        start = time.perf_counter()
        with socket.create_connection((host, int(port)), timeout=5):
            secs.append(time.perf_counter() - start)
    return {
        "p50_ms": pct(secs, 50) * 1000,
        "p99_ms": pct(secs, 99) * 1000,
        "max_ms": max(secs) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hang", type=float, default=8.0, help="seconds PocketBase is frozen")
    args = parser.parse_args()
    defaults = Settings.from_mapping({"URL": "http://127.0.0.1:8090"})
    with PocketBaseServer(migrations_dir=MIGRATIONS) as server:
        people: list[TestUser] = []
        for i in range(USERS):
            user = server.create_user(name=f"fault-bench-{i}")
            server.api(
                "POST",
                "/api/collections/private_notes/records",
                json={"title": f"note of {user.id}", "owner": user.id},
            )
            people.append(user)
        settings = Settings.from_mapping({"URL": server.url, "COOKIE_SECURE": False})
        codec = CookieCodec(settings, secret_key="pb-ssr-bench-fault-secret")
        cookies = [codec.dump(u.token, u.record, max_age=3600).value for u in people]
        connect = connect_times(server.url)
        results = {}
        for name, (env, fault) in CONFIGS.items():
            print(f"--- {name}: {fault}, {env or 'defaults'}", flush=True)
            results[name] = run_config(server, cookies, env, args.hang, fault)
            print_config(name, results[name])
    d = results["pb-ssr defaults"]
    payload = {
        "hang_s": args.hang,
        "threads": THREADS,
        "clients": CLIENTS,
        "configs": results,
        "timeouts": {
            "TIMEOUT_s": defaults.TIMEOUT,
            "CONNECT_TIMEOUT_s": defaults.CONNECT_TIMEOUT,
            "BREAKER_FAILURES": defaults.BREAKER_FAILURES,
            "BREAKER_COOLDOWN_s": defaults.BREAKER_COOLDOWN,
            "notes_page_p99_ms_before": d["before"]["/notes"]["p99_ms"],
            "notes_page_max_ms_before": d["before"]["/notes"]["max_ms"],
            "tcp_connect_to_pocketbase": connect,
        },
        "ratios": {
            "home_hang_p50_over_before": d["hang"][PROBE]["p50_ms"] / d["before"][PROBE]["p50_ms"],
            "home_hang_p99_ms": d["hang"][PROBE]["p99_ms"],
            "notes_once_open_p99_ms": (d["notes_once_open"] or {}).get("p99_ms", float("inf")),
            "recovery_s": d["recovery_s"],
            "recovery_after_restart_s": results["pb-ssr defaults, kill + restart"]["recovery_s"],
        },
    }
    write_json("faults", payload)
    r = payload["ratios"]
    met = (
        r["home_hang_p50_over_before"] <= 2.0
        and r["notes_once_open_p99_ms"] <= 1000
        and r["recovery_s"] <= 1.0
        and r["recovery_after_restart_s"] <= 1.0
        and d["errors_5xx_other_than_503"] == 0
    )
    print(
        f"targets: / hang p50 / before {r['home_hang_p50_over_before']:.2f} (<= 2), "
        f"/notes once open p99 {r['notes_once_open_p99_ms']:.0f} ms (<= 1000), "
        f"recovery {r['recovery_s']:.2f} s, after a restart {r['recovery_after_restart_s']:.2f} s "
        f"(<= 1): {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


def print_config(name: str, c: dict[str, Any]) -> None:
    for phase in ("before", "hang"):  # "hang": the fault window, a restart too
        for path in PATHS:
            s = c[phase][path]
            print(
                f"  {phase:<7}{path:<16} n={s['n']:>6}  p50 {s['p50_ms']:8.1f} ms  "
                f"p99 {s['p99_ms']:8.1f} ms  max {s['max_ms']:8.1f} ms  {s['statuses']}"
            )
    o = c["notes_once_open"]
    if o:
        print(
            f"  /notes once open (after {c['breaker_open_after_s']:.2f} s): n={o['n']} "
            f"p50 {o['p50_ms']:.1f} ms p99 {o['p99_ms']:.1f} ms max {o['max_ms']:.1f} ms"
        )
    print(
        f"  req/s {c['requests_per_s']['before']:.0f} before, "
        f"{c['requests_per_s']['hang']:.0f} during the hang; recovery {c['recovery_s']:.2f} s; "
        f"5xx other than 503: {c['errors_5xx_other_than_503']}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
