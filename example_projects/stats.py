"""The chat's stats page data, shared by the Flask and Django examples.

An aggregation over *every* message: no single user's API rules would allow it,
so it runs with the superuser service client, on the server. The independent
queries run concurrently (a thread pool for the sync client, gather for async).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from pb_ssr import ListResult, Record, ServiceClient


def _since() -> datetime:
    return datetime.now(UTC) - timedelta(days=30)


def _summarise(
    user_id: str, rows: list[Record], recent: ListResult, users: list[Record]
) -> dict[str, Any]:
    names = {u.id: (u.get("name") or u.get("email") or u.id) for u in users}
    per_user = Counter(r["user"] for r in rows)
    per_hour = Counter(int(r["created"][11:13]) for r in rows if r.get("created"))
    total = len(rows)
    mine = per_user.get(user_id, 0)
    return {
        "total": total,
        "last_30_days": recent.total_items,
        "per_user": [(names.get(uid, uid), n) for uid, n in per_user.most_common(10)],
        "per_hour": sorted(per_hour.items()),
        "busiest_hours": [h for h, _ in per_hour.most_common(3)],
        "my_count": mine,
        "my_share": (100.0 * mine / total) if total else 0.0,
    }


def compute_stats(service: ServiceClient, user_id: str) -> dict[str, Any]:
    """Messages per user, most active hours, the user's share (sync, 3 queries at once)."""
    client = service.client()
    messages = client.collection("messages")
    recent_filter = client.filter("created >= {:since}", since=_since())
    with ThreadPoolExecutor(3) as pool:
        rows = pool.submit(messages.get_full_list, fields="user,created")
        recent = pool.submit(messages.get_list, 1, 1, filter=recent_filter)
        users = pool.submit(client.collection("users").get_full_list, fields="id,name,email")
    return _summarise(user_id, rows.result(), recent.result(), users.result())


async def acompute_stats(service: ServiceClient, user_id: str) -> dict[str, Any]:
    """The async twin of :func:`compute_stats` (the queries are gathered)."""
    client = await service.aclient()
    messages = client.collection("messages")
    recent_filter = client.filter("created >= {:since}", since=_since())
    rows, recent, users = await asyncio.gather(
        messages.get_full_list(fields="user,created"),
        messages.get_list(1, 1, filter=recent_filter),
        client.collection("users").get_full_list(fields="id,name,email"),
    )
    return _summarise(user_id, rows, recent, users)
