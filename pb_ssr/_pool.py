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
import os
import threading
import weakref

import httpx

__all__ = ["aclose_default_pool", "async_pool", "close_default_pool", "default_limits", "sync_pool"]

_lock = threading.Lock()
_sync: httpx.Client | None = None
_sync_pid = 0
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def default_limits() -> httpx.Limits:
    """The pool limits of the default clients: enough keep-alive for a busy worker."""
    return httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30.0)


def sync_pool() -> httpx.Client:
    """Return the process-wide ``httpx.Client``, creating it on first use.

    A forked worker (gunicorn's preload) gets its own: sockets must not be
    shared across processes.
    """
    global _sync, _sync_pid
    client = _sync
    if client is not None and _sync_pid == os.getpid() and not client.is_closed:
        return client
    with _lock:
        if _sync is None or _sync_pid != os.getpid() or _sync.is_closed:
            # trust_env=False: a server-to-PocketBase hop must not silently go
            # through an HTTP_PROXY meant for outbound traffic. Pass your own
            # client to opt in.
            _sync = httpx.Client(limits=default_limits(), trust_env=False)
            _sync_pid = os.getpid()
        return _sync


def async_pool() -> httpx.AsyncClient:
    """Return the ``httpx.AsyncClient`` of the running event loop, creating it on first use."""
    loop = asyncio.get_running_loop()
    client = _async.get(loop)
    if client is None or client.is_closed:
        with _lock:
            client = _async.get(loop)
            if client is None or client.is_closed:
                client = httpx.AsyncClient(limits=default_limits(), trust_env=False)
                _async[loop] = client
    return client


def close_default_pool() -> None:
    """Close the process-wide sync pool (it is re-created on next use)."""
    global _sync
    with _lock:
        client, _sync = _sync, None
    if client is not None:
        client.close()


async def aclose_default_pool() -> None:
    """Close the running loop's async pool (it is re-created on next use)."""
    loop = asyncio.get_running_loop()
    with _lock:
        client = _async.pop(loop, None)
    if client is not None:
        await client.aclose()
