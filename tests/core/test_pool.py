"""The shared pools: one per process (sync), one per event loop (async), closed with the loop."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from pb_ssr import AsyncPocketBase, PocketBase, aclose_default_pool, close_default_pool
from pb_ssr._pool import async_pool, sync_pool


def test_sync_pool_is_shared_and_recreated_after_close(pocketbase_url: str) -> None:
    first = sync_pool()
    assert sync_pool() is first
    assert PocketBase(pocketbase_url).health.check()["code"] == 200
    close_default_pool()
    assert first.is_closed
    second = sync_pool()
    assert second is not first and not second.is_closed


def test_pool_ignores_proxy_environment(
    monkeypatch: pytest.MonkeyPatch, pocketbase_url: str
) -> None:
    close_default_pool()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert PocketBase(pocketbase_url).health.check()["code"] == 200


def test_each_short_lived_loop_closes_its_client(pocketbase_url: str) -> None:
    # Flask's async views run every request in a fresh asyncio.run() loop.
    clients: list[httpx.AsyncClient] = []

    async def one_request() -> None:
        assert (await AsyncPocketBase(pocketbase_url).health.check())["code"] == 200
        clients.append(async_pool())
        assert async_pool() is clients[-1]

    for _ in range(3):
        asyncio.run(one_request())
    assert len({id(c) for c in clients}) == 3
    assert all(c.is_closed for c in clients)


@pytest.mark.anyio
async def test_aclose_default_pool(pocketbase_url: str) -> None:
    client = async_pool()
    await aclose_default_pool()
    assert client.is_closed
    assert (await AsyncPocketBase(pocketbase_url).health.check())["code"] == 200
    assert async_pool() is not client


def test_forked_worker_gets_its_own_pool() -> None:
    parent = sync_pool()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: a gunicorn worker forked after the app preloaded
        ok = sync_pool() is not parent
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert sync_pool() is parent
