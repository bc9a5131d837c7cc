"""A :class:`~pb_ssr.SessionStore` on Redis or Valkey (``STORE = "redis://..."``).

redis-py comes with the optional extra: ``pip install "pb-ssr[redis]"``. Like the
HTTP pool, there is one sync client per process (a forked worker gets its own)
and one ``redis.asyncio`` client per event loop (an asyncio connection belongs to
the loop that opened it), closed when that loop shuts down.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any

from ._store import StoreValue, dumps, loads

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["RedisStore"]

#: Seconds a Redis call may take before the store counts as degraded. Redis on the
#: same network answers in well under a millisecond; a page must not wait on it
#: long, but a busy host's connect can take a while (``STORE_TIMEOUT``).
DEFAULT_TIMEOUT = 0.5


def _import_redis() -> Any:
    try:
        import redis
        import redis.asyncio
    except ImportError:  # pragma: no cover - exercised without the extra
        from ._errors import ConfigurationError

        raise ConfigurationError(
            "STORE = 'redis://...' needs redis-py: pip install \"pb-ssr[redis]\"."
        ) from None
    return redis


class RedisStore:
    """Verdicts, the deny list and leases in Redis, shared by every worker and host.

    Every key is written with a TTL (``SET ... PX``); values are the small JSON of
    :func:`pb_ssr._store.dumps`, never a raw token.

    :param url: ``redis://[:password@]host:port/db``, ``rediss://...`` (TLS) or
        ``unix:///path/to/redis.sock?db=0``.
    :param timeout: seconds each call (and connect) may take.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._redis = _import_redis()
        self.url = url
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sync: tuple[int, redis.Redis] | None = None
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop,
            tuple[redis.asyncio.Redis, AsyncGenerator[None, None], asyncio.Task[None]],
        ] = weakref.WeakKeyDictionary()

    def _options(self) -> dict[str, Any]:
        return {
            "socket_timeout": self.timeout,
            "socket_connect_timeout": max(self.timeout, 1.0),
            # A dead server must cost one timeout, not a retry storm per call.
            "retry_on_timeout": False,
            "health_check_interval": 30,
        }

    def _client(self) -> redis.Redis:
        entry = self._sync
        pid = os.getpid()
        if entry is not None and entry[0] == pid:
            return entry[1]
        with self._lock:
            if self._sync is None or self._sync[0] != pid:
                client = self._redis.Redis.from_url(self.url, **self._options())
                self._sync = (pid, client)
            return self._sync[1]

    def _aclient(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is not None:
            return entry[0]
        client: redis.asyncio.Redis = self._redis.asyncio.Redis.from_url(
            self.url, **self._options()
        )
        closer = _close_at_shutdown(client)
        starter: asyncio.Task[None] = loop.create_task(closer.__anext__())
        self._async[loop] = (client, closer, starter)
        return client

    # -- sync -----------------------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """Return the live value of each key (``MGET``)."""
        if not keys:
            return []
        return [loads(raw) for raw in self._client().mget(list(keys))]

    def set(self, key: str, value: StoreValue, ttl: float) -> None:
        """``SET key value PX ttl``."""
        self._client().set(key, dumps(value), px=_ms(ttl))

    def add(self, key: str, value: StoreValue, ttl: float) -> bool:
        """``SET key value NX PX ttl``: True when it was stored."""
        return bool(self._client().set(key, dumps(value), px=_ms(ttl), nx=True))

    def delete(self, keys: Sequence[str]) -> None:
        """``DEL keys``."""
        if keys:
            self._client().delete(*keys)

    def ping(self) -> None:
        """Raise unless Redis answers ``PING``."""
        self._client().ping()

    # -- async ----------------------------------------------------------------------

    async def aget_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """The async twin of :meth:`get_many`."""
        if not keys:
            return []
        return [loads(raw) for raw in await self._aclient().mget(list(keys))]

    async def aset(self, key: str, value: StoreValue, ttl: float) -> None:
        """The async twin of :meth:`set`."""
        await self._aclient().set(key, dumps(value), px=_ms(ttl))

    async def aadd(self, key: str, value: StoreValue, ttl: float) -> bool:
        """The async twin of :meth:`add`."""
        return bool(await self._aclient().set(key, dumps(value), px=_ms(ttl), nx=True))

    async def adelete(self, keys: Sequence[str]) -> None:
        """The async twin of :meth:`delete`."""
        if keys:
            await self._aclient().delete(*keys)

    async def aping(self) -> None:
        """The async twin of :meth:`ping`."""
        await self._aclient().ping()

    def close(self) -> None:
        """Close the process's sync connections (they reopen on next use)."""
        with self._lock:
            entry, self._sync = self._sync, None
        if entry is not None:
            entry[1].close()

    def __repr__(self) -> str:
        return f"<RedisStore {_redact(self.url)!r}>"


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


def _redact(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


async def _close_at_shutdown(client: Any) -> AsyncGenerator[None, None]:
    # asyncio.run() finalises pending async generators before closing its loop:
    # the cue to close this loop's Redis connections instead of leaking them.
    try:
        yield
    finally:
        await client.aclose()
