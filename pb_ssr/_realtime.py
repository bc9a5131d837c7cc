"""Realtime subscriptions over PocketBase's SSE endpoint (work in progress)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import AsyncPocketBase, PocketBase

__all__ = ["AsyncRealtimeService", "RealtimeService"]

Listener = Callable[[str, Any], Any]


class RealtimeService:
    """SSE subscriptions of a sync client, read by a background thread."""

    def __init__(self, client: PocketBase) -> None:
        self.client = client

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        raise NotImplementedError

    def unsubscribe_by_prefix(self, prefix: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class AsyncRealtimeService:
    """SSE subscriptions of an async client, read by an asyncio task."""

    def __init__(self, client: AsyncPocketBase) -> None:
        self.client = client

    async def subscribe(self, topic: str, listener: Listener) -> Callable[[], Awaitable[None]]:
        raise NotImplementedError

    async def unsubscribe_by_prefix(self, prefix: str) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass
