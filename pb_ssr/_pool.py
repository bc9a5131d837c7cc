"""The process-wide connection pools every client shares by default.

Building an ``httpx.Client`` costs tens of milliseconds (it builds an SSL
context even for plain http), and a fresh client also means a fresh TCP
connection per request. pb-ssr therefore keeps one pooled client per process
(and one ``AsyncClient`` per event loop: an asyncio connection belongs to the
loop that opened it). Clients hold *no auth state*: the token travels on each
request, from the per-request :class:`~pb_ssr.AuthStore`.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor

import certifi
import httpcore
import httpx

from ._breaker import WatchedBackend

__all__ = [
    "aclose_default_pool",
    "async_pool",
    "async_transport",
    "bridge_executor",
    "close_default_pool",
    "default_limits",
    "sync_pool",
    "sync_transport",
]

_lock = threading.Lock()
#: The process pool: the client and the transport under it, swapped as one.
_sync: tuple[httpx.Client, httpx.HTTPTransport] | None = None
_sync_pid = 0
_async: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop,
    tuple[
        httpx.AsyncClient,
        httpx.AsyncHTTPTransport,
        AsyncGenerator[None, None],
        asyncio.Task[None],
    ],
] = weakref.WeakKeyDictionary()
_ssl: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    """One SSL context for every pooled client: building one is the slow part of a client."""
    global _ssl
    if _ssl is None:
        _ssl = ssl.create_default_context(cafile=certifi.where())
    return _ssl


async def _close_at_shutdown(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    # asyncio.run() (and so Flask's async views, one loop per request) finalises
    # pending async generators before closing the loop: that is our cue to close
    # the loop's client instead of leaking its sockets.
    try:
        yield
    finally:
        await client.aclose()


def default_limits() -> httpx.Limits:
    """The pool limits of the default clients: enough keep-alive for a busy worker."""
    return httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30.0)


def _sync_entry() -> tuple[httpx.Client, httpx.HTTPTransport]:
    global _sync, _sync_pid
    entry = _sync
    if entry is not None and _sync_pid == os.getpid() and not entry[0].is_closed:
        return entry
    with _lock:
        if _sync is None or _sync_pid != os.getpid() or _sync[0].is_closed:
            # trust_env=False: a server-to-PocketBase hop must not silently go
            # through an HTTP_PROXY meant for outbound traffic. Pass your own
            # client to opt in.
            transport = httpx.HTTPTransport(
                verify=_ssl_context(), limits=default_limits(), trust_env=False
            )
            _watch_reads(transport)
            client = httpx.Client(transport=transport, trust_env=False)
            _sync, _sync_pid = (client, transport), os.getpid()
            # Close keep-alive sockets cleanly at exit instead of leaving them to the GC.
            atexit.register(client.close)
        return _sync


def _watch_reads(transport: httpx.HTTPTransport) -> None:
    # The breaker's read watch (a hung PocketBase frees worker threads after
    # BREAKER_STALL, not TIMEOUT) needs httpcore's backend seam, which httpx
    # does not expose: without those attributes the pool works as before.
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = WatchedBackend(backend)  # type: ignore[union-attr]


def sync_pool() -> httpx.Client:
    """Return the process-wide ``httpx.Client``, creating it on first use.

    A forked worker (gunicorn's preload) gets its own: sockets must not be
    shared across processes.
    """
    return _sync_entry()[0]


def sync_transport() -> httpx.HTTPTransport:
    """Return the connection pool under :func:`sync_pool`.

    pb-ssr's own API calls go straight to it: they need none of the client
    layer (no cookies to keep, no redirects to follow, no auth flow), and
    skipping it saves about a tenth of a millisecond per call.
    """
    return _sync_entry()[1]


def _async_entry() -> tuple[httpx.AsyncClient, httpx.AsyncHTTPTransport]:
    loop = asyncio.get_running_loop()
    entry = _async.get(loop)
    if entry is not None and not entry[0].is_closed:
        return entry[0], entry[1]
    with _lock:
        entry = _async.get(loop)
        if entry is not None and not entry[0].is_closed:
            return entry[0], entry[1]
        transport = httpx.AsyncHTTPTransport(
            verify=_ssl_context(), limits=default_limits(), trust_env=False
        )
        client = httpx.AsyncClient(transport=transport, trust_env=False)
        closer = _close_at_shutdown(client)
        # Start it inside the loop so the loop tracks it (its asyncgen hooks);
        # the strong reference below keeps it from being finalised early.
        starter: asyncio.Task[None] = loop.create_task(closer.__anext__())
        _async[loop] = (client, transport, closer, starter)
    return client, transport


def async_pool() -> httpx.AsyncClient:
    """Return the ``httpx.AsyncClient`` of the running event loop, creating it on first use."""
    return _async_entry()[0]


def async_transport() -> httpx.AsyncHTTPTransport:
    """Return the connection pool under the running loop's :func:`async_pool`."""
    return _async_entry()[1]


def close_default_pool() -> None:
    """Close the process-wide sync pool (it is re-created on next use)."""
    global _sync
    with _lock:
        entry, _sync = _sync, None
    if entry is not None:
        entry[0].close()


async def aclose_default_pool() -> None:
    """Close the running loop's async pool (it is re-created on next use)."""
    loop = asyncio.get_running_loop()
    with _lock:
        entry = _async.pop(loop, None)
    if entry is not None:
        client, _transport, closer, starter = entry
        if not starter.done():
            starter.cancel()
        await client.aclose()
        await closer.aclose()


_bridge: tuple[int, ThreadPoolExecutor] | None = None


def bridge_executor() -> ThreadPoolExecutor:
    """The threads that run sync-pool calls for async code (``sync_pool=True`` clients).

    For event loops that live for one request only (Flask runs each ``async def``
    view on a fresh one): a per-loop async pool would open a new connection per
    request, while the process's sync pool keeps its connections alive. One executor
    per process, shared by every loop; a forked worker gets its own.
    """
    global _bridge
    entry = _bridge
    if entry is not None and entry[0] == os.getpid():
        return entry[1]
    with _lock:
        if _bridge is None or _bridge[0] != os.getpid():
            executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="pb-ssr-sync-pool")
            _bridge = (os.getpid(), executor)
            atexit.register(executor.shutdown, wait=False)
        return _bridge[1]
