"""What does a per-request pb-ssr client cost over a bare pooled httpx call?

Per request, against an embedded PocketBase on loopback, interleaved in one run:

  (a) pb-ssr: construct ``PocketBase(url, auth_store=AuthStore(token))`` and do one
      authenticated ``get_list`` of 10 small records (what a view does);
  (b) the floor: the same request with one pooled ``httpx.Client`` and the token header;
  (c) a new ``httpx.Client`` per request (what a per-request SDK instance costs).

Targets: a/b <= 1.15 (sync and async). Run: ``make bench`` or
``.venv/bin/python bench/client_overhead.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
from typing import Any

import httpx

from pb_ssr import AsyncPocketBase, AuthStore, PocketBase
from pb_ssr._pool import async_pool, sync_pool

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import interleaved, seeded_server, summary, write_json

PATH = "/api/collections/messages/records"
PARAMS = {"page": "1", "perPage": "10"}


def run_sync(url: str, token: str, rounds: int) -> dict[str, list[float]]:
    floor = httpx.Client(trust_env=False)
    headers = {"Authorization": token}
    store_token = token

    def pb_ssr_case() -> None:
        pb = PocketBase(url, auth_store=AuthStore(store_token))
        result = pb.collection("messages").get_list(1, 10)
        assert len(result.items) == 10

    def floor_case() -> None:
        r = floor.get(url + PATH, params=PARAMS, headers=headers)
        assert len(r.json()["items"]) == 10

    def new_client_case() -> None:
        with httpx.Client(trust_env=False) as c:
            r = c.get(url + PATH, params=PARAMS, headers=headers)
            assert len(r.json()["items"]) == 10

    sync_pool()  # the process pool exists before timing, as in a warm worker
    try:
        return interleaved(
            {"pb_ssr": pb_ssr_case, "httpx_pooled": floor_case, "httpx_new": new_client_case},
            rounds=rounds,
        )
    finally:
        floor.close()


async def run_async(url: str, token: str, rounds: int) -> dict[str, list[float]]:
    import time

    floor = httpx.AsyncClient(trust_env=False)
    headers = {"Authorization": token}
    async_pool()

    async def pb_ssr_case() -> None:
        pb = AsyncPocketBase(url, auth_store=AuthStore(token))
        result = await pb.collection("messages").get_list(1, 10)
        assert len(result.items) == 10

    async def floor_case() -> None:
        r = await floor.get(url + PATH, params=PARAMS, headers=headers)
        assert len(r.json()["items"]) == 10

    cases = {"pb_ssr": pb_ssr_case, "httpx_pooled": floor_case}
    names = list(cases)
    for _ in range(20):
        for name in names:
            await cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        order = names[i % 2 :] + names[: i % 2]
        for name in order:
            start = time.perf_counter()
            await cases[name]()
            samples[name].append(time.perf_counter() - start)
    await floor.aclose()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()

    with seeded_server() as (server, user):
        sync_samples = run_sync(server.url, user.token, args.rounds)
        async_samples = asyncio.run(run_async(server.url, user.token, args.rounds))

    results: dict[str, Any] = {
        "sync": {k: summary(v) for k, v in sync_samples.items()},
        "async": {k: summary(v) for k, v in async_samples.items()},
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "rounds": args.rounds,
    }
    s, a = results["sync"], results["async"]
    ratio_ab = s["pb_ssr"]["median_ms"] / s["httpx_pooled"]["median_ms"]
    ratio_ca = s["httpx_new"]["median_ms"] / s["pb_ssr"]["median_ms"]
    ratio_ab_async = a["pb_ssr"]["median_ms"] / a["httpx_pooled"]["median_ms"]
    results["ratios"] = {
        "sync_pb_ssr_over_floor": ratio_ab,
        "sync_new_client_over_pb_ssr": ratio_ca,
        "async_pb_ssr_over_floor": ratio_ab_async,
    }
    print(f"client overhead, {args.rounds} interleaved rounds, medians (min-max) in ms")
    print(f"{'case':<34}{'median':>9}{'min':>9}{'max':>9}")
    rows = [
        ("sync  (a) pb-ssr client per request", s["pb_ssr"]),
        ("sync  (b) pooled httpx (floor)", s["httpx_pooled"]),
        ("sync  (c) new httpx.Client each", s["httpx_new"]),
        ("async (a) pb-ssr client per request", a["pb_ssr"]),
        ("async (b) pooled httpx (floor)", a["httpx_pooled"]),
    ]
    for label, row in rows:
        print(f"{label:<34}{row['median_ms']:>9.3f}{row['min_ms']:>9.3f}{row['max_ms']:>9.3f}")
    print(f"sync  a/b = {ratio_ab:.3f}  (target <= 1.15)")
    print(f"sync  c/a = {ratio_ca:.1f}x")
    print(f"async a/b = {ratio_ab_async:.3f}  (target <= 1.15)")
    path = write_json("client_overhead", results)
    print(f"raw figures: {path.relative_to(path.parents[2])}")
    return 0 if ratio_ab <= 1.15 and ratio_ab_async <= 1.15 else 1


if __name__ == "__main__":
    sys.exit(main())
