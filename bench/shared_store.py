"""What does a shared session store buy, and what does it cost per page view?

Phase 1, calls: two gunicorn instances (standing in for two hosts) of 4 workers each
serve one signed-in user's page (``bench/store_app.py``) under load from 16 client
threads for ``--seconds`` seconds, with ``VALIDATE_TTL = --ttl``. Every TTL period the
token is due again. With the in-process store each of the 8 workers confirms it on
its own; with the Redis store the cluster should make one ``auth-refresh`` per
period. Counted twice: by the code (each worker writes its counter to a file) and by
PocketBase's own request log (the page forwards a User-Agent unique to the run).

Phase 2, latency: one process, a confirmed token, ``open(cookie) -> user() ->
finalize()`` with the in-process store and with the Redis store, interleaved; the
difference of the medians is what the Redis round trip adds to a page view.

Targets: Redis store <= 1 ``auth-refresh`` per token per TTL period for the whole
cluster (periods + 1 at most, the run's edges), code and log agree; added latency
<= 0.3 ms median on loopback. Run:
``.venv/bin/python bench/shared_store.py [--seconds S] [--ttl T] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import ROOT, interleaved, seeded_server, summary, write_json

from pb_ssr import SessionManager, Settings
from pb_ssr.testing import PocketBaseServer, TestUser
from tests.redis_peer import RedisServer

SECRET_KEY = "bench-store-secret-" + "k" * 24
LATENCY_TARGET_MS = 0.3
VENV_BIN = Path(sys.executable).parent
WORKERS, INSTANCES, CLIENTS = 4, 2, 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start_instance(pb_url: str, store: str, ttl: float, stats: Path) -> tuple[Any, str]:
    port = free_port()
    env = {
        **os.environ,
        "PB_URL": pb_url,
        "PB_STORE": store,
        "PB_VALIDATE_TTL": str(ttl),
        "STATS_DIR": str(stats),
        "FLASK_SECRET_KEY": SECRET_KEY,
    }
    argv = [
        str(VENV_BIN / "gunicorn"),
        f"--workers={WORKERS}",
        "--threads=4",
        "--worker-class=gthread",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        "bench.store_app:app",
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/me", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"gunicorn did not start on {url}")


def stop(proc: Any) -> None:
    try:
        os.killpg(proc.pid, 15)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


def cookie_value(server: PocketBaseServer, user: TestUser) -> str:
    manager = SessionManager(
        Settings.from_mapping({"URL": server.url, "COOKIE_SECURE": False}), secret_key=SECRET_KEY
    )
    return manager.codec.dump(user.token, user.record, max_age=3600).value


def cluster_run(
    server: PocketBaseServer, user: TestUser, store: str, ttl: float, seconds: float
) -> dict[str, Any]:
    """Phase 1 for one store: calls per token per TTL across 2 instances x 4 workers."""
    agent = f"pb-ssr-bench-store-{secrets.token_hex(4)}"
    cookie = cookie_value(server, user)
    with tempfile.TemporaryDirectory(prefix="pb-ssr-store-stats-") as stats_dir:
        stats = Path(stats_dir)
        instances = [start_instance(server.url, store, ttl, stats) for _ in range(INSTANCES)]
        try:
            # Warm every worker up before the clock starts (a request each, anonymous).
            for _, url in instances:
                for _ in range(WORKERS * 4):
                    httpx.get(f"{url}/me", timeout=5)
            for f in stats.iterdir():
                f.unlink()
            counts = {"ok": 0, "wrong": 0, "errors": 0}
            lock = threading.Lock()
            stop_at = time.monotonic() + seconds

            def client(i: int) -> None:
                base = instances[i % INSTANCES][1]
                with httpx.Client(
                    base_url=base,
                    cookies={"pb_auth": cookie},
                    headers={"User-Agent": agent},
                    timeout=10,
                ) as http:
                    while time.monotonic() < stop_at:
                        try:
                            body = http.get("/me").text
                        except httpx.HTTPError:
                            key = "errors"
                        else:
                            key = "ok" if body == user.id else "wrong"
                        with lock:
                            counts[key] += 1

            started = time.monotonic()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
            time.sleep(0.3)  # the last after_request writes its counter
            code_calls = sum(int(f.read_text() or 0) for f in stats.iterdir())
        finally:
            for proc, _ in instances:
                stop(proc)
    marker = secrets.token_hex(6)
    httpx.get(f"{server.url}/api/health", params={"marker": marker})
    server.wait_for_logs(f"data.url ~ '{marker}'", count=1, timeout=30)
    logged = server.request_logs(f"data.userAgent = '{agent}' && data.url ~ 'auth-refresh'")
    periods = elapsed / ttl
    return {
        "store": "redis" if store.startswith("redis") else store,
        "instances": INSTANCES,
        "workers_per_instance": WORKERS,
        "client_threads": CLIENTS,
        "seconds": round(elapsed, 2),
        "validate_ttl": ttl,
        "ttl_periods": round(periods, 2),
        "page_views": counts["ok"],
        "wrong_user": counts["wrong"],
        "errors": counts["errors"],
        "auth_refresh_code": code_calls,
        "auth_refresh_pocketbase_log": len(logged),
        "auth_refresh_per_ttl_period": round(len(logged) / periods, 2),
        "allowed_at_most": math.ceil(periods) + 1,
    }


def latency(
    server: PocketBaseServer, user: TestUser, redis_url: str, rounds: int
) -> dict[str, Any]:
    """Phase 2: the median page view with the in-process store and with Redis."""

    def manager(store: str) -> SessionManager:
        return SessionManager(
            Settings.from_mapping({"URL": server.url, "STORE": store, "COOKIE_SECURE": False}),
            secret_key=SECRET_KEY,
        )

    memory, redis = manager("memory"), manager(redis_url)
    cookie = cookie_value(server, user)
    for m in (memory, redis):
        assert m.open(cookie).user() is not None  # confirmed, verdict stored

    def view(m: SessionManager) -> None:
        session = m.open(cookie)
        if session.user() is None:
            raise RuntimeError("lost the user")
        session.finalize()

    samples = interleaved(
        {"memory": lambda: view(memory), "redis": lambda: view(redis)}, rounds=rounds, warmup=200
    )
    out = {name: summary(values) for name, values in samples.items()}
    added = out["redis"]["median_ms"] - out["memory"]["median_ms"]
    assert not redis.store_degraded, "the Redis store degraded during the run"
    return {
        **out,
        "added_ms_median": round(added, 4),
        "ratio_median": round(out["redis"]["median_ms"] / out["memory"]["median_ms"], 2),
        "target_added_ms": LATENCY_TARGET_MS,
        "upstream_calls": {
            "memory": memory.validator.upstream_calls,
            "redis": redis.validator.upstream_calls,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--ttl", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()

    with RedisServer() as redis, seeded_server(messages=1) as (server, user):
        server.update_settings({"trustedProxy": {"headers": ["X-Forwarded-For"]}})
        runs = [
            cluster_run(server, user, store, args.ttl, args.seconds)
            for store in ("memory", redis.url)
        ]
        lat = latency(server, user, redis.url, args.rounds)

    redis_run = runs[1]
    met_calls = (
        redis_run["auth_refresh_pocketbase_log"] <= redis_run["allowed_at_most"]
        and redis_run["auth_refresh_code"] == redis_run["auth_refresh_pocketbase_log"]
        and all(r["wrong_user"] == 0 and r["errors"] == 0 for r in runs)
    )
    met_latency = lat["added_ms_median"] <= LATENCY_TARGET_MS
    for r in runs:
        print(
            f"{r['store']:>6}: {r['instances']} instances x {r['workers_per_instance']} workers, "
            f"{r['page_views']} page views in {r['seconds']} s, TTL {r['validate_ttl']} s "
            f"({r['ttl_periods']} periods): auth-refresh code {r['auth_refresh_code']}, "
            f"PocketBase log {r['auth_refresh_pocketbase_log']} "
            f"= {r['auth_refresh_per_ttl_period']} per TTL period; errors {r['errors']}"
        )
    print(
        f"page view: memory {lat['memory']['median_ms']:.3f} ms, redis "
        f"{lat['redis']['median_ms']:.3f} ms median: +{lat['added_ms_median']:.3f} ms "
        f"({lat['ratio_median']}x), target <= {LATENCY_TARGET_MS} ms"
    )
    write_json(
        "shared_store",
        {
            "cluster": runs,
            "latency": lat,
            "targets": {"calls": met_calls, "latency": met_latency},
        },
    )
    return 0 if met_calls and met_latency else 1


if __name__ == "__main__":
    sys.exit(main())
