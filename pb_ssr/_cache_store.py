"""A session store on any cache with Django's cache API (``django-cache:<alias>``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ._store import StoreValue, dumps, loads

__all__ = ["CacheStore"]


def _timeout(ttl: float) -> int:
    # Cache timeouts are whole seconds on most backends (Memcached, django-redis): round
    # up, so that nothing expires before pb-ssr asked for it to.
    return max(1, math.ceil(ttl))


class CacheStore:
    """A :class:`~pb_ssr.SessionStore` on a cache with Django's cache API.

    ``get_many``, ``set``, ``add``, ``delete_many``, ``get`` and their ``a``-prefixed
    async twins; values are pb-ssr's small JSON (never a token), timeouts whole seconds.

    :param cache: returns the cache to use (called per operation: Django hands out
        one cache object per thread).
    :param name: how the store names the cache in messages.
    """

    def __init__(self, cache: Callable[[], Any], name: str = "cache") -> None:
        self._cache = cache
        self.name = name

    @property
    def cache(self) -> Any:
        """The cache object for this thread."""
        return self._cache()

    def get_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """``cache.get_many``."""
        found = self.cache.get_many(list(keys))
        return [loads(found.get(key)) for key in keys]

    def set(self, key: str, value: StoreValue, ttl: float) -> None:
        """``cache.set`` with the TTL rounded up to whole seconds."""
        self.cache.set(key, dumps(value), timeout=_timeout(ttl))

    def add(self, key: str, value: StoreValue, ttl: float) -> bool:
        """``cache.add``: True when it was stored."""
        return bool(self.cache.add(key, dumps(value), timeout=_timeout(ttl)))

    def delete(self, keys: Sequence[str]) -> None:
        """``cache.delete_many``."""
        if keys:
            self.cache.delete_many(list(keys))

    async def aget_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """``cache.aget_many``."""
        found = await self.cache.aget_many(list(keys))
        return [loads(found.get(key)) for key in keys]

    async def aset(self, key: str, value: StoreValue, ttl: float) -> None:
        """``cache.aset``."""
        await self.cache.aset(key, dumps(value), timeout=_timeout(ttl))

    async def aadd(self, key: str, value: StoreValue, ttl: float) -> bool:
        """``cache.aadd``."""
        return bool(await self.cache.aadd(key, dumps(value), timeout=_timeout(ttl)))

    async def adelete(self, keys: Sequence[str]) -> None:
        """``cache.adelete_many``."""
        if keys:
            await self.cache.adelete_many(list(keys))

    def ping(self) -> None:
        """Raise unless the cache keeps a value (a write and a read of a probe key)."""
        self.cache.set("pbssr:ping", b"1", timeout=5)
        if self.cache.get("pbssr:ping") != b"1":
            raise RuntimeError(f"the cache {self.name!r} did not keep a value")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
