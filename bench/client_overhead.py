"""What does a per-request pb-ssr client cost over a bare pooled httpx call, and over the SDK?

Per request, against an embedded PocketBase on loopback, interleaved in one run:

  (a) pb-ssr: construct ``PocketBase(url, auth_store=AuthStore(token))`` and do one
      authenticated ``get_list`` of 10 small records (what a view does);
  (b) the floor: the same request with one pooled ``httpx.Client`` and the token header;
  (c) a new ``httpx.Client`` per request;
  (d) the PyPI ``pocketbase`` SDK (vaphes/pocketbase) constructed per request with the
      token in its auth store, ``get_list(1, 10)``: what its README and tutorials do;
  (e) that SDK shared by the process, the token sent as a per-call header;
  (f) the floor again, timed in the SDK's process (a control: both processes must
      time the same work alike, or (d) and (e) would not compare with (a)).

The SDK's import name ``pocketbase`` must never enter the project's environment, so
(d)-(f) run in a long-lived worker process in a throwaway venv (``bench/.peers-venv``,
created on first run with ``pip install pocketbase==0.17.3`` and the project's own
``httpx`` version). Why a worker and not importing pb-ssr into the peer venv: each
side then runs in exactly the environment it ships with. Fairness: the main loop
drives every case, the worker's among them, in one rotating interleaved order; the
worker times each case itself around the operation alone (``perf_counter``), so the
pipe between the processes is not counted; while one process works the other waits
on a pipe, so they never compete for the two cores. Row (f) checks the result:
it should match (b).

The SDK is sync only, so the async half compares pb-ssr's ``AsyncPocketBase`` with a
pooled ``httpx.AsyncClient``.

Targets: a/b <= 1.15 (sync and async); d/a >= 10. Run: ``make bench`` or
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
from _common import interleaved_timed, seeded_server, summary, timed, write_json
from _peers import PeerWorker

PATH = "/api/collections/messages/records"
PARAMS = {"page": "1", "perPage": "10"}


def run_sync(url: str, token: str, rounds: int, peer: PeerWorker) -> dict[str, list[float]]:
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
        return interleaved_timed(
            {
                "pb_ssr": timed(pb_ssr_case),
                "httpx_pooled": timed(floor_case),
                "httpx_new": timed(new_client_case),
                "sdk_per_request": peer.case("sdk_per_request"),
                "sdk_shared_header": peer.case("sdk_shared_header"),
                "httpx_pooled_peer": peer.case("httpx_pooled"),
            },
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
        peer = PeerWorker(server.url, user.token)
        try:
            sync_samples = run_sync(server.url, user.token, args.rounds, peer)
        finally:
            peer.close()
        async_samples = asyncio.run(run_async(server.url, user.token, args.rounds))

    results: dict[str, Any] = {
        "sync": {k: summary(v) for k, v in sync_samples.items()},
        "async": {k: summary(v) for k, v in async_samples.items()},
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "peer_versions": peer.versions,
        "rounds": args.rounds,
    }
    s, a = results["sync"], results["async"]
    ratio_ab = s["pb_ssr"]["median_ms"] / s["httpx_pooled"]["median_ms"]
    ratio_ca = s["httpx_new"]["median_ms"] / s["pb_ssr"]["median_ms"]
    ratio_ab_async = a["pb_ssr"]["median_ms"] / a["httpx_pooled"]["median_ms"]
    ratio_da = s["sdk_per_request"]["median_ms"] / s["pb_ssr"]["median_ms"]
    ratio_ea = s["sdk_shared_header"]["median_ms"] / s["pb_ssr"]["median_ms"]
    ratio_fb = s["httpx_pooled_peer"]["median_ms"] / s["httpx_pooled"]["median_ms"]
    results["ratios"] = {
        "sync_pb_ssr_over_floor": ratio_ab,
        "sync_new_client_over_pb_ssr": ratio_ca,
        "async_pb_ssr_over_floor": ratio_ab_async,
        "sdk_per_request_over_pb_ssr": ratio_da,
        "sdk_shared_over_pb_ssr": ratio_ea,
        "floor_in_peer_process_over_floor": ratio_fb,
    }
    print(f"client overhead, {args.rounds} interleaved rounds, medians (min-max) in ms")
    print(f"{'case':<44}{'median':>9}{'min':>9}{'max':>9}")
    rows = [
        ("sync  (a) pb-ssr client per request", s["pb_ssr"]),
        ("sync  (b) pooled httpx (floor)", s["httpx_pooled"]),
        ("sync  (c) new httpx.Client per request", s["httpx_new"]),
        ("sync  (d) pocketbase SDK per request", s["sdk_per_request"]),
        ("sync  (e) pocketbase SDK shared, header", s["sdk_shared_header"]),
        ("sync  (f) pooled httpx, in the SDK's process", s["httpx_pooled_peer"]),
        ("async (a) pb-ssr client per request", a["pb_ssr"]),
        ("async (b) pooled httpx (floor)", a["httpx_pooled"]),
    ]
    for label, row in rows:
        print(f"{label:<44}{row['median_ms']:>9.3f}{row['min_ms']:>9.3f}{row['max_ms']:>9.3f}")
    ok = ratio_ab <= 1.15 and ratio_ab_async <= 1.15 and ratio_da >= 10
    print(f"sync  a/b = {ratio_ab:.3f}  (target <= 1.15)")
    print(f"async a/b = {ratio_ab_async:.3f}  (target <= 1.15)")
    print(f"sync  d/a = {ratio_da:.1f}x  (target >= 10)")
    print(f"sync  e/a = {ratio_ea:.2f}x, c/a = {ratio_ca:.1f}x, f/b = {ratio_fb:.2f} (control)")
    print(f"targets {'met' if ok else 'MISSED'}")
    path = write_json("client_overhead", results)
    print(f"raw figures: {path.relative_to(path.parents[2])}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
