"""Shared helpers for the benchmarks: an embedded PocketBase with data, interleaved timing."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pb_ssr.testing import PocketBaseServer, TestUser

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MIGRATIONS = ROOT / "tests" / "pb_migrations"


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


def interleaved(
    cases: dict[str, Callable[[], Any]], *, rounds: int, warmup: int = 20
) -> dict[str, list[float]]:
    """Time each case once per round, in rotating order, so drift hits all cases alike."""
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            start = time.perf_counter()
            cases[name]()
            samples[name].append(time.perf_counter() - start)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(samples) * 1000,
        "min_ms": min(samples) * 1000,
        "max_ms": max(samples) * 1000,
        "p90_ms": statistics.quantiles(samples, n=10)[-1] * 1000,
        "n": len(samples),
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path
