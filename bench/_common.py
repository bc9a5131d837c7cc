"""Shared helpers for the benchmarks: an embedded PocketBase with data, interleaved timing.

Every section script writes ``bench/results/<name>.json`` with the exact command that
produced it (``command``), so each figure in the README can name its command.
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pb_ssr.testing import PocketBaseServer, TestUser

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MIGRATIONS = ROOT / "tests" / "pb_migrations"
#: The chat examples' schema (``messages`` with a ``user`` relation, users visible to
#: signed-in users): what the SSR, aggregation and memory sections serve.
EXAMPLE_MIGRATIONS = ROOT / "example_projects" / "pb_migrations"
#: The password of every seeded user (they log in through the example's own form).
USER_PASSWORD = "bench-password-1"


@contextmanager
def seeded_server(messages: int = 20) -> Iterator[tuple[PocketBaseServer, TestUser]]:
    """Start PocketBase with one user who owns *messages* small messages."""
    with PocketBaseServer(migrations_dir=MIGRATIONS) as server:
        user = server.create_user(name="Bench")
        for i in range(messages):
            server.api(
                "POST",
                "/api/collections/messages/records",
                json={"text": f"message {i}", "user": user.id},
            )
        yield server, user


@contextmanager
def chat_server(
    *, users: int = 5, messages: int = 200
) -> Iterator[tuple[PocketBaseServer, list[TestUser]]]:
    """Start PocketBase with the chat schema, *users* users and *messages* messages.

    Messages are spread round-robin over the users, so the chat page's
    ``expand=user`` has several authors to join. Every user's password is
    :data:`USER_PASSWORD`.
    """
    with PocketBaseServer(migrations_dir=EXAMPLE_MIGRATIONS) as server:
        people = [
            server.create_user(name=f"User {i}", password=USER_PASSWORD) for i in range(users)
        ]
        seed_messages(server, [u.id for u in people], messages)
        yield server, people


def seed_messages(server: PocketBaseServer, user_ids: list[str], count: int) -> None:
    """Create *count* messages round-robin over *user_ids*, 50 per batch request."""
    server.update_settings({"batch": {"enabled": True, "maxRequests": 100, "timeout": 10}})
    for start in range(0, count, 50):
        requests = [
            {
                "method": "POST",
                "url": "/api/collections/messages/records",
                "body": {
                    "text": f"Message {i}: the quick brown fox jumps over the lazy dog.",
                    "user": user_ids[i % len(user_ids)],
                },
            }
            for i in range(start, min(start + 50, count))
        ]
        server.api("POST", "/api/batch", json={"requests": requests})


def interleaved(
    cases: dict[str, Callable[[], Any]], *, rounds: int, warmup: int = 20
) -> dict[str, list[float]]:
    """Time each case once per round, in a shuffled order, so drift hits all cases alike."""
    return interleaved_timed(
        {name: timed(fn) for name, fn in cases.items()}, rounds=rounds, warmup=warmup
    )


def timed(fn: Callable[[], Any]) -> Callable[[], float]:
    """Wrap *fn* so that calling it returns its own duration in seconds."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


def interleaved_timed(
    cases: dict[str, Callable[[], float]], *, rounds: int, warmup: int = 20
) -> dict[str, list[float]]:
    """Like :func:`interleaved`, for cases that time themselves (a worker process does).

    Each case returns the seconds its operation took, measured where it ran, so a
    case run in another process is timed without the cost of asking it.

    Every round runs the cases in a new random order (seeded, so runs repeat). A
    rotating order is not enough: with cases a, b, c rotated, a follows c in two
    rounds out of three and b only in one, and a case that runs right after a heavy
    one (a new client building its SSL context) pays for the other's garbage and
    cold caches. Shuffling makes every case follow every other equally often.
    """
    names = list(cases)
    rng = random.Random(1234)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        order = names[:]
        rng.shuffle(order)
        for name in order:
            samples[name].append(cases[name]())
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(samples) * 1000,
        "min_ms": min(samples) * 1000,
        "max_ms": max(samples) * 1000,
        "p90_ms": statistics.quantiles(samples, n=10)[-1] * 1000,
        "n": len(samples),
    }


def command_line() -> str:
    """The command that is running, as a reader would type it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = str(script)
    return shlex.join([".venv/bin/python", shown, *sys.argv[1:]])


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"command": command_line(), "environment": environment(), **payload}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path


# -- process accounting (Linux /proc) ------------------------------------------------------


def rss_kib(pid: int | str = "self") -> int:
    """Resident memory (``VmRSS``) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def _stat_fields(pid: int) -> list[str]:
    # The command name (field 2) may hold spaces and parentheses: split after it.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(pid: int) -> list[int]:
    """*pid* and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by the live processes *pids*."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def children_cpu_seconds() -> float:
    """CPU seconds of this process's waited-for children (a finished load generator)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}"
