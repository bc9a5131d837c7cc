"""Resident memory of a worker after 10,000 page views by 1,000 distinct users.

PocketBase runs the chat schema with 1,000 real users (created through the batch
API; the bench lowers the collection's bcrypt cost to 4 first, so that creating
and signing in 1,000 users takes seconds instead of minutes) who each sign in
with their password. Each worker is a fresh Python process that builds the Flask
chat example (``create_app``) and serves its message list page (``GET /``, 50
messages) through the WSGI callable: 10 rounds, each round one view per user, so
every user's token stays in play from start to end. Each browser's cookies are
kept between its views, as a browser would.

Reported per worker: ``VmRSS`` from ``/proc/self/status`` when idle (the app built,
nothing served), after one view (imports and pools warm), and after every view
(after a ``gc.collect()``); the validation cache's ``len()``; the ``auth-refresh``
calls it made. Two workers run one after the other: the default
``VALIDATE_CACHE_SIZE`` (10,000) and ``VALIDATE_CACHE_SIZE=500``, which must keep the
cache at <= 500 entries however many users come by. With fewer slots than active
users and this round-robin order, the small cache never hits (each token was
evicted before its user comes back), so it pays one ``auth-refresh`` per view:
the bound is on memory, and the cache must be sized to the active users.

Targets: the cache is bounded (len <= VALIDATE_CACHE_SIZE); the worker's RSS after
10,000 views stays within a few MB of the warm worker's. Run:
``.venv/bin/python bench/memory.py [--users N] [--views-per-user V]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EXAMPLE_MIGRATIONS, ROOT, USER_PASSWORD, rss_kib, seed_messages, write_json

from pb_ssr.testing import PocketBaseServer

SECRET_KEY = "bench-secret-key-" + "m" * 32
#: The RSS growth allowed between the warm worker and the worker after every view.
GROWTH_LIMIT_MIB = 10.0


def create_users(server: PocketBaseServer, n: int) -> list[dict[str, str]]:
    """Create *n* users and sign each in; return their ids, emails and tokens."""
    users = server.api("GET", "/api/collections/users")
    for f in users["fields"]:
        if f["name"] == "password":
            f["cost"] = 4  # bcrypt's minimum: the bench is not about password hashing
    server.api("PATCH", "/api/collections/users", json={"fields": users["fields"]})
    server.update_settings({"batch": {"enabled": True, "maxRequests": 100, "timeout": 30}})
    emails = [f"bench-{i:04d}@example.test" for i in range(n)]
    for start in range(0, n, 100):
        requests = [
            {
                "method": "POST",
                "url": "/api/collections/users/records",
                "body": {
                    "email": email,
                    "name": f"User {i}",
                    "password": USER_PASSWORD,
                    "passwordConfirm": USER_PASSWORD,
                    "verified": True,
                },
            }
            for i, email in enumerate(emails[start : start + 100], start)
        ]
        server.api("POST", "/api/batch", json={"requests": requests})
    out = []
    for email in emails:
        login = server._send(
            "POST",
            "/api/collections/users/auth-with-password",
            json={"identity": email, "password": USER_PASSWORD},
        )
        out.append(
            {"id": login["record"]["id"], "token": login["token"], "record": login["record"]}
        )
    return out


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """One worker process: build the app, serve every view, report memory."""
    sys.path.insert(0, str(ROOT))
    from example_projects.flask_chat.app import create_app

    users = json.loads(Path(config["users_file"]).read_text())
    app_config: dict[str, Any] = {
        "POCKETBASE_URL": config["url"],
        "SECRET_KEY": SECRET_KEY,
        "POCKETBASE_COOKIE_SECURE": False,
    }
    if config["cache_size"]:
        app_config["POCKETBASE_VALIDATE_CACHE_SIZE"] = config["cache_size"]
    app = create_app(app_config)
    manager = app.extensions["pocketbase"].manager
    gc.collect()
    idle = rss_kib()

    jars = [
        {
            manager.settings.COOKIE_NAME: manager.codec.dump(
                u["token"], u["record"], max_age=3600
            ).value
        }
        for u in users
    ]

    def view(jar: dict[str, str]) -> None:
        status: list[str] = []
        headers: list[tuple[str, str]] = []

        def start_response(s: str, h: list[tuple[str, str]], exc_info: Any = None) -> None:
            status.append(s)
            headers.extend(h)

        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in jar.items()),
            "wsgi.url_scheme": "http",
            "wsgi.input": __import__("io").BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        body = app.wsgi_app(environ, start_response)
        b"".join(body)
        if status[0][:3] != "200":
            raise RuntimeError(f"page answered {status[0]}")
        for name, value in headers:
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                jar[key] = rest.split(";", 1)[0]

    view(jars[0])
    gc.collect()
    warm = rss_kib()
    started = time.monotonic()
    for _ in range(config["views_per_user"]):
        for jar in jars:
            view(jar)
    elapsed = time.monotonic() - started
    gc.collect()
    return {
        "cache_size_setting": manager.settings.VALIDATE_CACHE_SIZE,
        "rss_idle_kib": idle,
        "rss_after_one_view_kib": warm,
        "rss_after_all_kib": rss_kib(),
        "views": config["views_per_user"] * len(users),
        "users": len(users),
        "seconds": elapsed,
        "cache_len": len(manager.validator),
        "auth_refresh_calls": manager.validator.upstream_calls,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--views-per-user", type=int, default=10)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    runs: dict[str, Any] = {}
    with PocketBaseServer(migrations_dir=EXAMPLE_MIGRATIONS) as server:
        users = create_users(server, args.users)
        seed_messages(server, [u["id"] for u in users[:20]], 200)
        users_file = server.root / "bench-users.json"
        users_file.write_text(json.dumps(users))
        # Both workers at once: each spends part of every view waiting for PocketBase,
        # and memory does not depend on speed.
        workers = {
            label: subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    json.dumps(
                        {
                            "url": server.url,
                            "users_file": str(users_file),
                            "cache_size": size,
                            "views_per_user": args.views_per_user,
                        }
                    ),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for label, size in (("default", None), ("cache_500", 500))
        }
        for label, process in workers.items():
            out, err = process.communicate()
            if process.returncode != 0:
                print(err, file=sys.stderr)
                return 2
            runs[label] = json.loads(out.strip().splitlines()[-1])

    print(
        f"worker memory, {args.users} distinct users x {args.views_per_user} views "
        "(Flask chat page, in-process WSGI), VmRSS in MiB"
    )
    print(
        f"{'worker':<26}{'idle':>8}{'1 view':>8}{'all':>8}{'growth':>8}"
        f"{'cache len':>11}{'refresh':>9}{'views/s':>9}"
    )
    ok = True
    for r in runs.values():
        growth = (r["rss_after_all_kib"] - r["rss_after_one_view_kib"]) / 1024
        r["growth_mib"] = growth
        name = f"VALIDATE_CACHE_SIZE={r['cache_size_setting']}"
        print(
            f"{name:<26}{r['rss_idle_kib'] / 1024:>8.1f}{r['rss_after_one_view_kib'] / 1024:>8.1f}"
            f"{r['rss_after_all_kib'] / 1024:>8.1f}{growth:>8.1f}{r['cache_len']:>11}"
            f"{r['auth_refresh_calls']:>9}{r['views'] / r['seconds']:>9.0f}"
        )
        ok = ok and r["cache_len"] <= r["cache_size_setting"] and growth <= GROWTH_LIMIT_MIB
    print(
        f"targets: cache len <= VALIDATE_CACHE_SIZE, growth <= {GROWTH_LIMIT_MIB:g} MiB "
        f"-> {'met' if ok else 'MISSED'}"
    )
    path = write_json(
        "memory", {"users": args.users, "views_per_user": args.views_per_user, "workers": runs}
    )
    print(f"raw figures: {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
