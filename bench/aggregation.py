"""An aggregation page from K independent PocketBase queries: sequential vs concurrent.

The chat example's stats page (``example_projects/stats.py``) aggregates over every
message with the superuser service client. Its three queries are independent, plus
two more a real dashboard would add, K = 5 in all:

  1. every message, ``fields=user,created`` (``get_full_list``, 1,000 per request);
  2. messages of the last 30 days, counted (``get_list(1, 1, filter=...)``);
  3. every user, ``fields=id,name,email`` (``get_full_list``);
  4. the signed-in user's messages, counted (``get_list(1, 1, filter=user = ...)``);
  5. the latest message with its author (``get_list(1, 1, sort=-created, expand=user)``).

Interleaved in one run (shuffled order per round, medians): each query alone (with
the sync client and with the async one); all K
one after the other; all K at once with a ``ThreadPoolExecutor(K)`` over the sync
client (created per page, as the example does); all K at once with
``AsyncPocketBase`` and ``asyncio.gather`` (on one long-lived event loop, as under
an ASGI server); and the example's own ``compute_stats`` (3 queries, thread pool)
and ``acompute_stats`` (gather) as they ship.

The batch API (``POST /api/batch``) does not apply: PocketBase only accepts create,
update, upsert and delete requests in a batch. The script sends one list request in
a batch and records PocketBase's refusal as evidence.

Data: 1,000 messages from 20 users. Target: concurrent latency <= 1.3x the slowest
single query, sent the same way: the thread pool against the slowest sync query, the
gather against the slowest async one (the async client is slower on the large list,
and that is not concurrency's doing). Run: ``.venv/bin/python bench/aggregation.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, chat_server, interleaved, summary, write_json

sys.path.insert(0, str(ROOT))
from example_projects import stats as example_stats
from pb_ssr import AsyncPocketBase, PocketBase, ServiceClient, Settings

TARGET = 1.3


def sync_queries(client: PocketBase, user_id: str) -> dict[str, Callable[[], Any]]:
    messages = client.collection("messages")
    since = datetime.now(UTC) - timedelta(days=30)
    recent = client.filter("created >= {:since}", since=since)
    mine = client.filter("user = {:uid}", uid=user_id)
    return {
        "q1_all_messages": lambda: messages.get_full_list(fields="user,created"),
        "q2_recent_count": lambda: messages.get_list(1, 1, filter=recent),
        "q3_all_users": lambda: client.collection("users").get_full_list(fields="id,name,email"),
        "q4_my_count": lambda: messages.get_list(1, 1, filter=mine),
        "q5_latest": lambda: messages.get_list(1, 1, sort="-created", expand="user"),
    }


def async_queries(client: AsyncPocketBase, user_id: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    messages = client.collection("messages")
    since = datetime.now(UTC) - timedelta(days=30)
    recent = client.filter("created >= {:since}", since=since)
    mine = client.filter("user = {:uid}", uid=user_id)
    return {
        "async_q1_all_messages": lambda: messages.get_full_list(fields="user,created"),
        "async_q2_recent_count": lambda: messages.get_list(1, 1, filter=recent),
        "async_q3_all_users": lambda: client.collection("users").get_full_list(
            fields="id,name,email"
        ),
        "async_q4_my_count": lambda: messages.get_list(1, 1, filter=mine),
        "async_q5_latest": lambda: messages.get_list(1, 1, sort="-created", expand="user"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=80)
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()

    with chat_server(users=20, messages=args.messages) as (server, users):
        settings = Settings.from_mapping(
            {
                "URL": server.url,
                "SUPERUSER_EMAIL": server.superuser_email,
                "SUPERUSER_PASSWORD": server.superuser_password,
            }
        )
        service = ServiceClient.from_settings(settings)
        user_id = users[0].id
        client = service.client()
        singles = sync_queries(client, user_id)
        k = len(singles)

        def sequential() -> None:
            for query in singles.values():
                query()

        def thread_pool() -> None:
            with ThreadPoolExecutor(k) as pool:
                futures = [pool.submit(query) for query in singles.values()]
            for future in futures:
                future.result()

        loop = asyncio.new_event_loop()

        async def make_async_client() -> AsyncPocketBase:
            return await service.aclient()

        aclient = loop.run_until_complete(make_async_client())
        aqueries = async_queries(aclient, user_id)

        async def gathered() -> None:
            await asyncio.gather(*(query() for query in aqueries.values()))

        def run_async(query: Callable[[], Awaitable[Any]]) -> Callable[[], Any]:
            async def once() -> Any:
                return await query()

            return lambda: loop.run_until_complete(once())

        async_singles = {name: run_async(query) for name, query in aqueries.items()}

        def gather_case() -> None:
            loop.run_until_complete(gathered())

        def example_sync() -> None:
            example_stats.compute_stats(service, user_id)

        def example_async() -> None:
            loop.run_until_complete(example_stats.acompute_stats(service, user_id))

        rows = singles["q1_all_messages"]()
        assert len(rows) == args.messages, len(rows)
        cases: dict[str, Callable[[], Any]] = {
            **singles,
            **async_singles,
            "sequential": sequential,
            "thread_pool": thread_pool,
            "async_gather": gather_case,
            "example_compute_stats": example_sync,
            "example_acompute_stats": example_async,
        }
        samples = interleaved(cases, rounds=args.rounds, warmup=5)
        try:
            batch_answer: Any = server.api(
                "POST",
                "/api/batch",
                json={"requests": [{"method": "GET", "url": "/api/collections/messages/records"}]},
            )
            batch_refused = False
        except Exception as exc:
            batch_answer = getattr(exc, "body", str(exc))
            batch_refused = True
        loop.close()

    stats = {name: summary(values) for name, values in samples.items()}
    slowest_name = max(singles, key=lambda n: stats[n]["median_ms"])
    slowest = stats[slowest_name]["median_ms"]
    # The gathered page is held against the slowest query sent the same way (async):
    # httpx's async client reads a large body more slowly than its sync one.
    slowest_async_name = max(async_singles, key=lambda n: stats[n]["median_ms"])
    slowest_async = stats[slowest_async_name]["median_ms"]
    ratios = {name: stats[name]["median_ms"] / slowest for name in stats}
    for name in (*async_singles, "async_gather", "example_acompute_stats"):
        ratios[name] = stats[name]["median_ms"] / slowest_async
    results: dict[str, Any] = {
        "k": k,
        "messages": args.messages,
        "rounds": args.rounds,
        "latency": stats,
        "slowest_single": slowest_name,
        "slowest_single_async": slowest_async_name,
        "ratios_to_slowest_single": ratios,
        "batch_api": {"refused": batch_refused, "answer": batch_answer},
    }
    print(
        f"aggregation page, K={k} queries, {args.messages} messages, "
        f"{args.rounds} interleaved rounds, medians"
    )
    print(f"{'case':<36}{'median ms':>10}{'min-max ms':>16}{'x slowest':>11}")
    for name, row in stats.items():
        span = f"{row['min_ms']:.1f}-{row['max_ms']:.1f}"
        print(f"{name:<36}{row['median_ms']:>10.2f}{span:>16}{ratios[name]:>11.2f}")
    print("(async rows: x the slowest async query)")
    print(f"sum of singles: {sum(stats[n]['median_ms'] for n in singles):.2f} ms")
    print(f"batch API with a list request: refused={batch_refused}: {batch_answer}")
    ok = ratios["thread_pool"] <= TARGET and ratios["async_gather"] <= TARGET
    print(
        f"target: thread pool and gather <= {TARGET}x the slowest single query "
        f"({slowest_name}, sync; {slowest_async_name}, async) -> {'met' if ok else 'MISSED'}"
    )
    path = write_json("aggregation", results)
    print(f"raw figures: {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
