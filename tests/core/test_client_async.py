"""The async client against a real PocketBase: the same features, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pb_ssr import AsyncPocketBase, AuthStore, ClientResponseError, Record
from pb_ssr._pool import async_pool
from pb_ssr.testing import PocketBaseServer, TestUser

from .test_client import PNG

pytestmark = pytest.mark.anyio


@pytest.fixture
def user(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Ada")


@pytest.fixture
async def apb(pocketbase_url: str, user: TestUser) -> AsyncPocketBase:
    client = AsyncPocketBase(pocketbase_url)
    await client.collection("users").auth_with_password(user.email, user.password)
    return client


async def test_auth_methods(pocketbase_server: PocketBaseServer, user: TestUser) -> None:
    pb = AsyncPocketBase(pocketbase_server.url)
    methods = await pb.collection("users").list_auth_methods()
    assert methods["password"]["enabled"]
    auth = await pb.collection("users").auth_with_password(user.email, user.password)
    assert pb.auth_store.token == auth.token and auth.record.id == user.id
    refreshed = await pb.collection("users").auth_refresh()
    assert refreshed.record.id == user.id and pb.auth_store.token == refreshed.token

    su = AsyncPocketBase(pocketbase_server.url)
    await su.collection("_superusers").auth_with_password(
        pocketbase_server.superuser_email, pocketbase_server.superuser_password
    )
    assert su.auth_store.is_superuser
    imp = await su.collection("users").impersonate(user.id, 300)
    assert isinstance(imp, AsyncPocketBase)
    assert imp.auth_store.record is not None and imp.auth_store.record.id == user.id
    assert imp.auth_store.claims is not None and not imp.auth_store.claims.refreshable


async def test_crud_and_lists(apb: AsyncPocketBase, user: TestUser) -> None:
    messages = apb.collection("messages")
    created = await messages.create({"text": "async hello", "user": user.id}, expand="user")
    assert isinstance(created, Record) and created.expand["user"].id == user.id
    for i in range(3):
        await messages.create({"text": f"alist-{user.id}-{i}", "user": user.id})
    mine = apb.filter("user = {:u} && text ~ 'alist'", u=user.id)
    page = await messages.get_list(1, 2, filter=mine, sort="text")
    assert (page.total_items, page.total_pages, len(page.items)) == (3, 2, 2)
    full = await messages.get_full_list(batch=2, filter=mine, sort="-text")
    assert [m["text"][-1] for m in full] == ["2", "1", "0"]
    first = await messages.get_first_list_item(mine, sort="text")
    assert first["text"].endswith("-0")
    got = await messages.get_one(created.id, fields="id,text")
    assert got == {"id": created.id, "text": "async hello"}
    assert (await messages.update(created.id, {"text": "edited"}))["text"] == "edited"
    assert await messages.delete(created.id)
    with pytest.raises(ClientResponseError) as info:
        await messages.get_one(created.id)
    assert info.value.is_not_found


async def test_files_batch_health_send(
    pocketbase_server: PocketBaseServer, apb: AsyncPocketBase, user: TestUser
) -> None:
    doc = await apb.collection("docs").create(
        {"title": "a"}, files={"attachment": ("p.png", PNG), "secret_file": ("s.txt", b"shh")}
    )
    token = await apb.files.get_token()
    async with httpx.AsyncClient() as http:
        ok = await http.get(apb.files.get_url(doc, doc["secret_file"], token=token))
        assert ok.status_code == 200 and ok.content == b"shh"

    pocketbase_server.update_settings({"batch": {"enabled": True}})
    batch = apb.create_batch()
    batch.collection("messages").create({"text": "from batch", "user": user.id})
    batch.collection("docs").delete(doc.id)
    results = await batch.send()
    assert [r["status"] for r in results] == [200, 204]

    assert (await apb.health.check())["code"] == 200
    assert (await apb.send("/api/health"))["message"] == "API is healthy."


async def test_shared_pool_requests_carry_the_pool_headers(pocketbase_url: str) -> None:
    seen: list[httpx.Response] = []

    def after(response: httpx.Response, data: Any) -> Any:
        seen.append(response)
        return data

    pb = AsyncPocketBase(pocketbase_url, after_send=after)
    assert (await pb.health.check())["code"] == 200
    request = seen[0].request
    assert request.headers["User-Agent"] == "pb-ssr"
    assert request.headers["Accept"] == "application/json"
    assert seen[0].json()["code"] == 200


async def test_async_hooks(pocketbase_url: str) -> None:
    async def before(request: httpx.Request) -> httpx.Request:
        request.headers["X-Hook"] = "async"
        return request

    async def after(response: httpx.Response, data: Any) -> Any:
        return {"hooked": response.request.headers["X-Hook"], **data}

    pb = AsyncPocketBase(pocketbase_url, before_send=before, after_send=after)
    assert (await pb.health.check())["hooked"] == "async"


async def test_concurrent_clients_keep_auth_apart(
    pocketbase_url: str, pb_user_factory: Callable[..., TestUser]
) -> None:
    users = [pb_user_factory() for _ in range(8)]

    async def one(i: int) -> tuple[str, str]:
        u = users[i % len(users)]
        pb = AsyncPocketBase(pocketbase_url, auth_store=AuthStore(u.token))
        auth = await pb.collection("users").auth_refresh()
        return u.id, auth.record.id

    pool = async_pool()
    results = await asyncio.gather(*(one(i) for i in range(120)))
    assert all(a == b for a, b in results)
    assert async_pool() is pool


async def test_timeout_maps_to_abort() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        pb = AsyncPocketBase("http://pb.test", http_client=http)
        with pytest.raises(ClientResponseError) as info:
            await pb.collection("x").get_list()
    assert info.value.status == 0 and info.value.is_abort
