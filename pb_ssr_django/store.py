"""``STORE = "django-cache:<alias>"``: the session store on any configured Django cache.

django-redis, Memcached, the database cache or locmem: whatever ``CACHES[alias]``
points at holds pb-ssr's verdicts, sign-outs, confirmations and leases, through the
cache framework's sync and async methods. Like the Redis store it sits on top of
this process's memory (:class:`pb_ssr.LayeredStore`), so a failing cache never
fails a request.

Only a cache every worker and host reaches is *shared*: ``locmem`` is per process,
``FileBasedCache`` per host.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from pb_ssr import StoreValue
from pb_ssr._store import dumps, loads

__all__ = ["DjangoCacheStore"]

#: ``STORE`` values of this form name a Django cache alias.
PREFIX = "django-cache:"


def _timeout(ttl: float) -> int:
    # Cache timeouts are whole seconds on most backends (Memcached, django-redis): round
    # up, so that nothing expires before pb-ssr asked for it to.
    return max(1, math.ceil(ttl))


class DjangoCacheStore:
    """A :class:`~pb_ssr.SessionStore` on ``django.core.cache.caches[alias]``.

    :param alias: the key of ``settings.CACHES``.
    """

    def __init__(self, alias: str) -> None:
        from django.conf import settings

        if alias not in getattr(settings, "CACHES", {}):
            raise ImproperlyConfigured(
                f"POCKETBASE['STORE'] names the cache {alias!r}, which is not in "
                f"settings.CACHES (known: {', '.join(sorted(settings.CACHES)) or 'none'})."
            )
        self.alias = alias

    @property
    def cache(self) -> Any:
        """The cache (``caches[alias]``: one per thread, as Django hands them out)."""
        return caches[self.alias]

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
            raise RuntimeError(f"the cache {self.alias!r} did not keep a value")

    def __repr__(self) -> str:
        return f"<DjangoCacheStore {self.alias!r}>"
