"""A whole server-rendered page under load, against the same page written by hand.

The page is the chat example's message list (``GET /``: the signed-in user's cookie is
checked through pb-ssr's cached validation, the last 50 messages are fetched with
``expand=user``, and Jinja or Django templates render them). It is served by a
production server, and compared with the same page written by hand without pb-ssr on
the same server (``bench/floor_app.py``, ``bench/django_floor/``: what pb-ssr costs),
and, for information, with PocketBase answering the same query directly
(``GET /api/collections/messages/records?perPage=50&sort=-created&expand=user`` with
the user's token: the physical limit of the extra hop on this machine).

How it is measured:

- PocketBase runs the chat schema with 5 users and 200 messages (so the page is
  full and has several authors). The app server runs in its own process group;
  the user logs in through each app's own sign-in form and the cookies it got
  (``pb_auth`` and the app's session, or the floor's session) are replayed by the
  load generator.
- The load generator is ApacheBench (``ab`` from Debian's ``apache2-utils``), in
  its own process: C, single-threaded and cheap, so on this 2-core machine it takes
  as little CPU as possible from the servers it measures (a Python generator
  would take a large share of a core at these rates). Every run has a bounded
  request count (``-n``) at a fixed number of concurrent users (``-c``).
- No keep-alive (``ab`` without ``-k``), for both sides: ``ab`` speaks HTTP/1.0,
  to which PocketBase answers a 25 KB list by closing the connection anyway, and
  an app server in production sits behind a reverse proxy that opens a connection
  per request. Both sides pay the same TCP setup on loopback.
- For each concurrency level, rounds rotate the order of the targets (a page
  always beside its floor), so drift hits all alike; the table shows medians over
  rounds (min-max of requests/s).
  p50 and p99 come from ``ab -e`` (per-request times, microsecond resolution).
- The CPU seconds used by PocketBase, the app server (master and workers) and
  ``ab`` are read from ``/proc`` around every run and reported per request:
  on 2 cores, throughput is ~2 s / (CPU seconds per request) once saturated, so
  this says where the time goes.

Target: pb-ssr's page reaches >= 0.97 of the same page written by hand without
pb-ssr, in the same framework on the same server (its *floor*: ``flask-floor``,
``django-floor``, ``django-floor-asgi``), at every concurrency, with 0 errors on both.
A page and its floor run back to back in every round (their order alternating), and
the ratio is the median over rounds of page req/s / floor req/s, so drift between
rounds cancels out. Before measuring, each page's HTML is compared with its floor's
(CSRF tokens aside): they must be the same. The share of direct PocketBase is
information, explained by the floors ``relay`` and ``relay-parse`` (the cheapest
Python hop there is) and the hand-written pages.

Adding an app server is one entry in :data:`TARGETS`: its command line, its
environment, its login path and the floor it is held against.

Run: ``.venv/bin/python bench/ssr_load.py [--requests N] [--rounds R]
[--targets flask-gunicorn,...] [--workers W --threads T]``.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import html
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    ROOT,
    USER_PASSWORD,
    chat_server,
    children_cpu_seconds,
    cpu_seconds,
    interleaved_timed,
    process_tree,
    write_json,
)

from pb_ssr.testing import PocketBaseServer, TestUser

TARGET_RATIO = 0.97
CONCURRENCY = (1, 4, 16, 64)
DIRECT_PATH = "/api/collections/messages/records?perPage=50&sort=-created&expand=user"
SECRET_KEY = "bench-secret-key-" + "y" * 32
VENV_BIN = Path(sys.executable).parent


@dataclass
class AppTarget:
    """An app server serving the chat example's message list page."""

    label: str
    #: The command line, given the ``host:port`` to bind, the workers and threads.
    argv: Callable[[str, int, int], list[str]]
    #: Extra environment (on top of PB_URL, secrets and PB_COOKIE_SECURE=0).
    env: dict[str, str] = field(default_factory=dict)
    login_path: str = "/auth/login"
    page_path: str = "/"
    #: A module that must be importable for the target to run.
    requires: str = ""
    #: How the user signs in: returns the ``Cookie`` header to replay.
    login: Callable[[str, str, TestUser], str] | None = None
    #: The hand-written page (no pb-ssr) this page is held against; ``None`` for the
    #: floors themselves, which are references, not targets.
    floor: str | None = None
    #: How many messages a page shows (the list must be full before measuring).
    shown: Callable[[httpx.Response], int] = lambda page: page.text.count('data-testid="message"')

    def available(self) -> bool:
        if not self.requires:
            return True
        probe = [sys.executable, "-c", f"import {self.requires}"]
        return subprocess.run(probe, capture_output=True, cwd=ROOT, check=False).returncode == 0


def _gunicorn(app: str) -> Callable[[str, int, int], list[str]]:
    def argv(bind: str, workers: int, threads: int) -> list[str]:
        return [
            str(VENV_BIN / "gunicorn"),
            f"--workers={workers}",
            f"--threads={threads}",
            "--worker-class=gthread",
            f"--bind={bind}",
            "--backlog=2048",
            "--log-level=warning",
            app,
        ]

    return argv


def _uvicorn(app: str) -> Callable[[str, int, int], list[str]]:
    def argv(bind: str, workers: int, threads: int) -> list[str]:
        host, port = bind.rsplit(":", 1)
        return [
            str(VENV_BIN / "uvicorn"),
            f"--workers={workers}",
            f"--host={host}",
            f"--port={port}",
            "--log-level=warning",
            "--no-access-log",
            "--backlog=2048",
            app,
        ]

    return argv


def _token_cookie(url: str, path: str, user: TestUser) -> str:
    return f"pb_token={user.token}; pb_user={user.id}"


def _relay(app: str, label: str) -> AppTarget:
    return AppTarget(
        label=label,
        argv=_gunicorn(f"bench.relay_app:{app}"),
        requires="bench.relay_app",
        login=_token_cookie,
        shown=lambda page: len(page.json().get("items", [])),
    )


#: The app servers measured, in the order they run (a page right after its floor):
#: the two floors any Python page sits above (a bare WSGI relay of PocketBase's bytes,
#: then the same relay decoding the JSON), then each example page with pb-ssr beside the
#: same page written by hand without it, in the same framework on the same server.
TARGETS: dict[str, AppTarget] = {
    "relay": _relay("relay", "bare WSGI relay of PocketBase's bytes (floor)"),
    "relay-parse": _relay("relay_parse", "bare WSGI relay that decodes the JSON (floor)"),
    "flask-floor": AppTarget(
        label="Flask by hand, no pb-ssr, gunicorn gthread (floor)",
        argv=_gunicorn("bench.floor_app:app"),
        env={"FLASK_SECRET_KEY": SECRET_KEY},
        requires="bench.floor_app",
    ),
    "flask-gunicorn": AppTarget(
        label="Flask, gunicorn gthread",
        argv=_gunicorn("example_projects.flask_chat.app:create_app()"),
        env={"FLASK_SECRET_KEY": SECRET_KEY},
        requires="example_projects.flask_chat.app",
        floor="flask-floor",
    ),
    "django-floor": AppTarget(
        label="Django WSGI by hand, no pb-ssr, gunicorn gthread (floor)",
        argv=_gunicorn("bench.django_floor.wsgi:application"),
        env={"DJANGO_SECRET_KEY": SECRET_KEY},
        login_path="/auth/login/",
        requires="bench.django_floor.wsgi",
    ),
    "django-gunicorn": AppTarget(
        label="Django WSGI, gunicorn gthread",
        argv=_gunicorn("example_projects.django_chat.chat_site.wsgi:application"),
        env={"DJANGO_SECRET_KEY": SECRET_KEY},
        login_path="/auth/login/",
        requires="example_projects.django_chat.chat_site.wsgi",
        floor="django-floor",
    ),
    "django-floor-asgi": AppTarget(
        label="Django ASGI by hand (async view), no pb-ssr, uvicorn (floor)",
        argv=_uvicorn("bench.django_floor.asgi:application"),
        env={"DJANGO_SECRET_KEY": SECRET_KEY, "CHAT_ASYNC_VIEWS": "1"},
        login_path="/auth/login/",
        requires="bench.django_floor.asgi",
    ),
    "django-uvicorn": AppTarget(
        label="Django ASGI (async views), uvicorn",
        argv=_uvicorn("example_projects.django_chat.chat_site.asgi:application"),
        env={"DJANGO_SECRET_KEY": SECRET_KEY, "CHAT_ASYNC_VIEWS": "1"},
        login_path="/auth/login/",
        requires="example_projects.django_chat.chat_site.asgi",
        floor="django-floor-asgi",
    ),
}
#: The references without pb-ssr (never a target).
FLOORS = tuple(name for name, t in TARGETS.items() if t.floor is None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class AppServer:
    """One app server process group on a free loopback port."""

    def __init__(
        self, target: AppTarget, server: PocketBaseServer, workers: int, threads: int
    ) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PB_URL": server.url,
            "PB_COOKIE_SECURE": "0",
            "PB_SUPERUSER_EMAIL": server.superuser_email,
            "PB_SUPERUSER_PASSWORD": server.superuser_password,
            "PYTHONPATH": str(ROOT),
            **target.env,
        }
        argv = target.argv(f"127.0.0.1:{self.port}", workers, threads)
        self.command = " ".join(argv)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_up()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command} exited:\n{self.log_text()}")
            try:
                httpx.get(self.url + self.target.login_path, timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.command} did not answer within 30 s:\n{self.log_text()}")

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def form_login(base_url: str, login_path: str, user: TestUser) -> str:
    """Sign *user* in through the app's own form; return the ``Cookie`` header to replay."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        page = client.get(login_path)
        page.raise_for_status()
        form = {
            html.unescape(name): html.unescape(value)
            for name, value in re.findall(
                r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text
            )
        }
        form.update(email=user.email, password=USER_PASSWORD)
        answer = client.post(login_path, data=form)
        if answer.status_code not in (302, 303):
            raise RuntimeError(f"login failed: HTTP {answer.status_code}\n{answer.text[:500]}")
        # One page view, so the app's own session cookie (CSRF nonce) exists too, as it
        # would in a browser that has seen the page once.
        first = client.get("/")
        if first.status_code != 200:
            raise RuntimeError(f"the page answered HTTP {first.status_code} after login")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


@dataclass
class AbRun:
    rps: float
    p50_ms: float
    p99_ms: float
    complete: int
    failed: int
    non_2xx: int
    cpu_ms_per_request: dict[str, float]


def run_ab(
    url: str,
    headers: list[str],
    *,
    requests: int,
    concurrency: int,
    cpu_groups: dict[str, list[int]],
) -> AbRun:
    with tempfile.NamedTemporaryFile(suffix=".csv") as percentiles:
        argv = ["ab", "-q", "-r", "-n", str(requests), "-c", str(concurrency)]
        argv += ["-e", percentiles.name, "-s", "30"]
        for header in headers:
            argv += ["-H", header]
        argv.append(url)
        before = {name: cpu_seconds(pids) for name, pids in cpu_groups.items()}
        ab_before = children_cpu_seconds()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        cpu = {name: cpu_seconds(pids) - before[name] for name, pids in cpu_groups.items()}
        cpu["ab"] = children_cpu_seconds() - ab_before
        if done.returncode != 0:
            raise RuntimeError(f"ab failed ({done.returncode}): {done.stderr}{done.stdout}")
        with open(percentiles.name, newline="") as fh:
            rows = {int(row[0]): float(row[1]) for row in list(csv.reader(fh))[1:]}
    out = done.stdout

    def number(pattern: str, default: str | None = None) -> float:
        match = re.search(pattern, out)
        if match is None:
            if default is None:
                raise RuntimeError(f"no {pattern!r} in ab output:\n{out}")
            return float(default)
        return float(match.group(1))

    complete = int(number(r"Complete requests:\s+(\d+)"))
    return AbRun(
        rps=number(r"Requests per second:\s+([\d.]+)"),
        p50_ms=rows[50],
        p99_ms=rows[99],
        complete=complete,
        failed=int(number(r"Failed requests:\s+(\d+)")),
        non_2xx=int(number(r"Non-2xx responses:\s+(\d+)", "0")),
        cpu_ms_per_request={k: v * 1000 / max(complete, 1) for k, v in cpu.items()},
    )


def page_breakdown(server: PocketBaseServer, user: TestUser, rounds: int) -> dict[str, float]:
    """CPU per view of the Flask page, by layer, measured in this process.

    Thread CPU time (so waiting for PocketBase is not counted), medians of
    interleaved rounds. The parts: pb-ssr's session (open, user, client,
    finalize: what the extension and ``login_required`` do), the list call
    through pb-ssr, the same call with a bare pooled ``httpx.Client`` (the
    floor), and rendering ``index.html`` (in its own loop: it needs a request
    context, which must not leak into the page calls).
    """
    from flask import render_template
    from werkzeug.test import EnvironBuilder

    from example_projects.flask_chat.app import create_app

    app = create_app(
        {
            "POCKETBASE_URL": server.url,
            "SECRET_KEY": SECRET_KEY,
            "POCKETBASE_COOKIE_SECURE": False,
            "TESTING": False,
        }
    )
    manager = app.extensions["pocketbase"].manager
    auth_cookie = manager.codec.dump(user.token, user.record, max_age=3600).value
    client = app.test_client()
    client.set_cookie(manager.settings.COOKIE_NAME, auth_cookie)
    assert client.get("/").status_code == 200  # creates the app's session cookie
    cookie_header = "; ".join(
        f"{name}={client.get_cookie(name).value}"  # type: ignore[union-attr]
        for name in (manager.settings.COOKIE_NAME, app.config["SESSION_COOKIE_NAME"])
    )
    environ = EnvironBuilder(path="/", headers={"Cookie": cookie_header}).get_environ()

    def page() -> None:
        body = app.wsgi_app(dict(environ), lambda status, headers, exc_info=None: None)
        b"".join(body)
        if hasattr(body, "close"):
            body.close()

    def session() -> None:
        s = manager.open(auth_cookie, client_ip="127.0.0.1")
        assert s.user() is not None
        s.client()
        s.finalize()

    pb = manager.open(auth_cookie, client_ip="127.0.0.1").client()
    options = {"sort": "-created", "expand": "user"}

    def get_list() -> None:
        pb.collection("messages").get_list(1, 50, **options)

    floor = httpx.Client(trust_env=False)
    url = server.url + "/api/collections/messages/records"
    params = {"page": "1", "perPage": "50", **options}

    def httpx_floor() -> None:
        floor.get(url, params=params, headers={"Authorization": user.token}).json()

    def cpu(fn: Callable[[], None]) -> Callable[[], float]:
        def run() -> float:
            start = time.thread_time()
            fn()
            return time.thread_time() - start

        return run

    os.environ["PB_URL"] = server.url
    sys.path.insert(0, str(ROOT))
    from bench import floor_app

    floor_app.PB_URL = server.url
    # The floor keeps the token and the user in Flask's session, as its sign-in does.
    floor_client = floor_app.app.test_client()
    with floor_client.session_transaction() as floor_session:
        floor_session["pb_token"] = user.token
        floor_session["user"] = dict(user.record)
    assert floor_client.get("/").status_code == 200  # adds the CSRF nonce
    floor_cookie = floor_client.get_cookie(floor_app.app.config["SESSION_COOKIE_NAME"])
    assert floor_cookie is not None
    floor_environ = EnvironBuilder(
        path="/", headers={"Cookie": f"{floor_cookie.key}={floor_cookie.value}"}
    ).get_environ()

    def floor_page() -> None:
        body = floor_app.app.wsgi_app(
            dict(floor_environ), lambda status, headers, exc_info=None: None
        )
        b"".join(body)
        if hasattr(body, "close"):
            body.close()

    cases = {
        "page": page,
        "floor_page": floor_page,
        "session": session,
        "get_list": get_list,
        "httpx_floor": httpx_floor,
    }
    samples = interleaved_timed({k: cpu(v) for k, v in cases.items()}, rounds=rounds)
    items = list(reversed(pb.collection("messages").get_list(1, 50, **options).items))
    with app.test_request_context("/", headers={"Cookie": cookie_header}):
        render = interleaved_timed(
            {"render": cpu(lambda: render_template("index.html", messages=items, total=200))},
            rounds=rounds,
        )
    floor.close()
    out = {k: statistics.median(v) * 1000 for k, v in {**samples, **render}.items()}
    out["pb_ssr_list_extra"] = out["get_list"] - out["httpx_floor"]
    out["flask_rest"] = out["page"] - out["session"] - out["get_list"] - out["render"]
    return out


#: The Django pages timed in-process: target -> (worker kind, settings module).
DJANGO_PAGES = {
    "django-floor": ("sync", "bench.django_floor.settings"),
    "django-gunicorn": ("sync", "example_projects.django_chat.chat_site.settings"),
    "django-floor-asgi": ("async", "bench.django_floor.settings"),
    "django-uvicorn": ("async", "example_projects.django_chat.chat_site.settings"),
}


def django_breakdown(
    server: PocketBaseServer, cookies: dict[str, str], rounds: int, batch: int = 20
) -> dict[str, float]:
    """CPU per view of each Django page and its floor, measured in-process.

    Each project runs in a worker of its own (``bench/_django_page_worker.py``: one
    settings module per process), serving ``GET /`` through Django's handler without
    sockets, with the cookies its sign-in gave the load run. Batches of *batch* views
    are interleaved across the workers (order alternating), and the figure is the
    median of the batch medians of process CPU time (all threads: the thread hops of
    Django's sync middleware under ASGI count).
    """
    names = [name for name in DJANGO_PAGES if name in cookies]
    env = {
        **os.environ,
        "PB_URL": server.url,
        "PB_COOKIE_SECURE": "0",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "PYTHONPATH": str(ROOT),
    }
    workers: dict[str, subprocess.Popen[str]] = {}
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        for name in names:
            kind, settings_module = DJANGO_PAGES[name]
            argv = [sys.executable, str(ROOT / "bench" / "_django_page_worker.py")]
            workers[name] = subprocess.Popen(
                [*argv, kind, settings_module, cookies[name]],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        for name, worker in workers.items():
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {name} page worker did not start")
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                worker = workers[name]
                assert worker.stdin is not None and worker.stdout is not None
                worker.stdin.write(f"{batch}\n")
                worker.stdin.flush()
                samples[name].append(float(worker.stdout.readline()))
    finally:
        for worker in workers.values():
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait(30)
    return {name: statistics.median(values) for name, values in samples.items()}


def requests_for(concurrency: int, base: int) -> int:
    # Enough requests that every concurrent user makes at least ten of them.
    return max(base, concurrency * 10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per ab run")
    parser.add_argument("--rounds", type=int, default=8, help="runs per target and level")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)))
    parser.add_argument("--targets", default=",".join(TARGETS), help="app servers to measure")
    parser.add_argument("--workers", type=int, default=2, help="app server processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--breakdown-rounds", type=int, default=300)
    args = parser.parse_args()
    if shutil.which("ab") is None:
        print("ab not found: apt-get install apache2-utils (make bench does it)", file=sys.stderr)
        return 2
    levels = [int(c) for c in args.concurrency.split(",")]
    wanted = [t for t in args.targets.split(",") if t]
    unknown = sorted(set(wanted) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    wanted.sort(key=list(TARGETS).index)
    skipped = {name: "not available yet" for name in wanted if not TARGETS[name].available()}
    names = [name for name in wanted if name not in skipped]

    results: dict[str, Any] = {
        "targets": {},
        "levels": levels,
        "rounds": args.rounds,
        "skipped": skipped,
        "workers": args.workers,
        "threads": args.threads,
        "load_generator": "ab (apache2-utils), no keep-alive",
    }
    with chat_server(users=5, messages=200) as (server, users):
        user = users[0]
        apps: dict[str, AppServer] = {}
        try:
            for name in names:
                apps[name] = AppServer(TARGETS[name], server, args.workers, args.threads)
            cookies = {
                name: (app.target.login or form_login)(app.url, app.target.login_path, user)
                for name, app in apps.items()
            }
            pb_pids = [server._process.pid] if server._process else []
            cases: dict[str, tuple[str, list[str], dict[str, list[int]]]] = {
                "direct": (
                    server.url + DIRECT_PATH,
                    [f"Authorization: {user.token}"],
                    {"pocketbase": pb_pids},
                )
            }
            pages: dict[str, str] = {}
            for name, app in apps.items():
                page = httpx.get(app.url + "/", headers={"Cookie": cookies[name]})
                shown = app.target.shown(page)
                if page.status_code != 200 or shown != 50:
                    raise RuntimeError(f"{name}: HTTP {page.status_code}, {shown} messages shown")
                pages[name] = page.text
                cases[name] = (
                    app.url + app.target.page_path,
                    [f"Cookie: {cookies[name]}"],
                    {"pocketbase": pb_pids, "app": app.pids()},
                )
                results["targets"][name] = {
                    "label": app.target.label,
                    "server_command": app.command,
                    "page_bytes": len(page.content),
                }
            for name in apps:
                floor = TARGETS[name].floor
                if floor in pages:
                    same_html_or_raise(name, pages[name], floor, pages[floor])
                    results["targets"][name]["same_html_as"] = floor
            # Warm-up: imports, pools, the validation cache, PocketBase's caches.
            for url, headers, groups in cases.values():
                run_ab(url, headers, requests=200, concurrency=4, cpu_groups=groups)

            runs: dict[str, dict[int, list[AbRun]]] = {n: {c: [] for c in levels} for n in cases}
            pairs = run_groups(list(cases))
            for level in levels:
                n = requests_for(level, args.requests)
                for r in range(args.rounds):
                    for name in round_order(pairs, r):
                        url, headers, groups = cases[name]
                        run = run_ab(url, headers, requests=n, concurrency=level, cpu_groups=groups)
                        runs[name][level].append(run)
                        print(
                            f"  c={level:<3} {name:<16} {run.rps:8.1f} req/s  "
                            f"p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
                            f"errors {run.failed + run.non_2xx}",
                            file=sys.stderr,
                            flush=True,
                        )
        finally:
            for app in apps.values():
                app.stop()
        if "flask-gunicorn" in names:
            results["page_cpu_ms"] = page_breakdown(server, user, args.breakdown_rounds)
        if any(name in DJANGO_PAGES for name in names):
            results["django_page_cpu_ms"] = django_breakdown(
                server,
                {name: cookies[name] for name in names if name in DJANGO_PAGES},
                max(args.breakdown_rounds // 5, 2),
            )

    table = summarise(runs, levels)
    against_floors(runs, table, levels)
    results["per_level"] = table
    results["ratios"] = {
        name: {str(level): table[name][str(level)]["ratio"] for level in levels}
        for name in table
        if name != "direct"
    }
    ok = print_table(table, levels, results)
    path = write_json("ssr_load", results)
    print(f"raw figures: {path.relative_to(ROOT)}")
    return 0 if ok else 1


CSRF_VALUE = re.compile(r'(name="(?:csrf_token|csrfmiddlewaretoken)" value=")[^"]*"')


def same_html_or_raise(name: str, page: str, floor: str, floor_page: str) -> None:
    """A page and its floor must render the same HTML, CSRF tokens aside."""
    ours, theirs = CSRF_VALUE.sub(r'\1"', page), CSRF_VALUE.sub(r'\1"', floor_page)
    if ours != theirs:
        diff = difflib.unified_diff(
            theirs.splitlines(), ours.splitlines(), floor, name, lineterm="", n=1
        )
        raise RuntimeError(f"{name} and {floor} render different pages:\n" + "\n".join(diff))


def run_groups(names: list[str]) -> list[list[str]]:
    """The cases in running order, each page grouped with its floor."""
    groups: list[list[str]] = []
    for name in names:
        floor = TARGETS[name].floor if name in TARGETS else None
        home = next((g for g in groups if floor in g), None)
        if home is None:
            groups.append([name])
        else:
            home.append(name)
    return groups


def round_order(groups: list[list[str]], r: int) -> list[str]:
    """Round *r*: the groups rotated by *r*, each group's order reversed in odd rounds.

    A page and its floor thus always run back to back, each first every other round.
    """
    rotated = groups[r % len(groups) :] + groups[: r % len(groups)]
    return [name for group in rotated for name in (group[::-1] if r % 2 else group)]


def against_floors(
    runs: dict[str, dict[int, list[AbRun]]], table: dict[str, Any], levels: list[int]
) -> None:
    """Add each page's ratio to its floor: the median of the per-round ratios."""
    for name in table:
        floor = TARGETS[name].floor if name in TARGETS else None
        if floor is None or floor not in runs:
            continue
        for level in levels:
            pairs = zip(runs[name][level], runs[floor][level], strict=True)
            per_round = [ours.rps / theirs.rps for ours, theirs in pairs]
            table[name][str(level)]["vs_floor"] = {
                "floor": floor,
                "rps": statistics.median(per_round),
                "rps_per_round": per_round,
                "floor_errors": table[floor][str(level)]["errors"],
            }


def summarise(runs: dict[str, dict[int, list[AbRun]]], levels: list[int]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name, per_level in runs.items():
        table[name] = {}
        for level in levels:
            group = per_level[level]
            rps = [r.rps for r in group]
            cpu_keys = group[0].cpu_ms_per_request.keys()
            table[name][str(level)] = {
                "rps_median": statistics.median(rps),
                "rps_min": min(rps),
                "rps_max": max(rps),
                "p50_ms": statistics.median(r.p50_ms for r in group),
                "p99_ms": statistics.median(r.p99_ms for r in group),
                "requests": sum(r.complete for r in group),
                "errors": sum(r.failed + r.non_2xx for r in group),
                "cpu_ms_per_request": {
                    k: statistics.median(r.cpu_ms_per_request[k] for r in group) for k in cpu_keys
                },
            }
    for name in table:
        for level in levels:
            row, base = table[name][str(level)], table["direct"][str(level)]
            row["ratio"] = {
                "rps": row["rps_median"] / base["rps_median"],
                "p50": row["p50_ms"] / base["p50_ms"],
                "p99": row["p99_ms"] / base["p99_ms"],
            }
    return table


def print_table(table: dict[str, Any], levels: list[int], results: dict[str, Any]) -> bool:
    print(
        f"SSR page under load (ab, {results['rounds']} rounds per level, medians; "
        f"app servers: {results['workers']} workers x {results['threads']} threads)"
    )
    header = f"{'target':<18}{'c':>4}{'req/s':>9}{'min-max':>15}{'p50 ms':>9}{'p99 ms':>9}"
    header += f"{'/floor':>8}{'rps/PB':>8}{'p50/PB':>8}{'p99/PB':>8}{'errors':>7}   CPU ms/request"
    print(header)
    ok = True
    checked: dict[str, list[str]] = {}
    for name, per_level in table.items():
        for level in levels:
            row = per_level[str(level)]
            ratio = row["ratio"]
            cpu = "  ".join(f"{k} {v:.2f}" for k, v in row["cpu_ms_per_request"].items())
            span = f"{row['rps_min']:.0f}-{row['rps_max']:.0f}"
            vs = row.get("vs_floor")
            print(
                f"{name:<18}{level:>4}{row['rps_median']:>9.1f}{span:>15}"
                f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
                f"{vs['rps'] if vs else float('nan'):>8.2f}"
                f"{ratio['rps']:>8.2f}{ratio['p50']:>8.2f}{ratio['p99']:>8.2f}"
                f"{row['errors']:>7}   {cpu}"
            )
            if name in TARGETS and TARGETS[name].floor is not None:
                met = (
                    vs is not None
                    and vs["rps"] >= TARGET_RATIO
                    and row["errors"] == 0
                    and vs["floor_errors"] == 0
                )
                ok = ok and met
                checked.setdefault(name, []).append(
                    f"c={level} {vs['rps']:.2f}" if vs else f"c={level} no floor"
                )
    for name, why in results["skipped"].items():
        print(f"{name}: skipped ({why})")
    if checked:
        print("pb-ssr page / the same page by hand without pb-ssr (req/s, median of rounds):")
        for name, shares in checked.items():
            print(f"  {name:<16} vs {TARGETS[name].floor:<18} " + ", ".join(shares))
    floors = [name for name in FLOORS if name in table]
    if floors:
        print(
            "floors (rps/PB; no pb-ssr, nothing checked: the best a page of that kind does here):"
        )
        for name in floors:
            ratios = ", ".join(f"c={c} {table[name][str(c)]['ratio']['rps']:.2f}" for c in levels)
            print(f"  {TARGETS[name].label:<58} {ratios}")
    cpu = results.get("page_cpu_ms")
    if cpu:
        level = str(16 if 16 in levels else levels[-1])
        app_cpu = table["flask-gunicorn"][level]["cpu_ms_per_request"]["app"]
        pb_cpu = table["direct"][level]["cpu_ms_per_request"]["pocketbase"]
        own = cpu["session"] + max(cpu["pb_ssr_list_extra"], 0.0)
        results["pb_ssr_share_of_app_cpu"] = own / app_cpu
        print("where the Flask page's CPU goes (thread CPU ms per view, in-process, medians):")
        print(f"  whole page, one WSGI call            {cpu['page']:6.2f}")
        print(f"    pb-ssr session (cookie, user)      {cpu['session']:6.2f}")
        print(
            f"    list of 50 via pb-ssr              {cpu['get_list']:6.2f}"
            f"   (bare httpx + json {cpu['httpx_floor']:.2f}, pb-ssr's extra "
            f"{cpu['pb_ssr_list_extra']:.2f})"
        )
        print(f"    render index.html (Jinja)          {cpu['render']:6.2f}")
        print(f"    Flask/werkzeug, the rest           {cpu['flask_rest']:6.2f}")
        print(f"  the same page by hand, no pb-ssr     {cpu['floor_page']:6.2f}")
        print(
            f"  app server CPU per request under load (c={level}): {app_cpu:.2f} "
            f"(gunicorn, sockets, kernel: {app_cpu - cpu['page']:.2f}); "
            f"PocketBase per direct request: {pb_cpu:.2f}"
        )
        print(f"  pb-ssr's own share of the app server's CPU: {own / app_cpu:.0%}")
    django_cpu = results.get("django_page_cpu_ms")
    if django_cpu:
        print("Django pages, CPU ms per view in-process (all threads, medians of batches):")
        for name, value in django_cpu.items():
            floor = TARGETS[name].floor
            extra = ""
            if floor in django_cpu:
                extra = f"   {value - django_cpu[floor]:+.3f} vs {floor}"
            print(f"  {name:<18} {value:6.3f}{extra}")
    verdict = "met" if ok else "MISSED"
    print(
        f"target: every pb-ssr page >= {TARGET_RATIO} of its floor's req/s at every level, "
        f"0 errors -> {verdict}"
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
