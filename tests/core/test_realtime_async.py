"""AsyncRealtimeService against a real PocketBase."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from pb_ssr import AsyncPocketBase, ClientResponseError, RecordSubscription, aclose_default_pool
from pb_ssr._realtime import AsyncRealtimeService
from pb_ssr.testing import PocketBaseServer

from ..versions import REALTIME_SAME_ADDRESS

pytestmark = pytest.mark.anyio

TIMEOUT = 10.0
TRUSTED_XFF = {"trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": False}}
UNTRUSTED = {"trustedProxy": {"headers": [], "useLeftmostIP": False}}

Event = tuple[str, Any]


def create_collections(server: PocketBaseServer) -> None:
    tags = server.create_collection(
        {
            "name": "tags",
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "fields": [{"name": "name", "type": "text"}],
        }
    )
    server.create_collection(
        {
            "name": "posts",
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "tag", "type": "relation", "collectionId": tags["id"], "maxSelect": 1},
            ],
        }
    )
    users = server.api("GET", "/api/collections/users")
    server.create_collection(
        {
            "name": "secrets",
            "type": "base",
            "listRule": "owner = @request.auth.id",
            "viewRule": "owner = @request.auth.id",
            "fields": [
                {"name": "owner", "type": "relation", "collectionId": users["id"], "maxSelect": 1},
                {"name": "note", "type": "text"},
            ],
        }
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server() -> Iterator[PocketBaseServer]:
    with PocketBaseServer() as server:
        create_collections(server)
        yield server


@pytest.fixture(autouse=True)
async def close_pool() -> AsyncIterator[None]:
    yield
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "pb-ssr-realtime"]
    await aclose_default_pool()
    assert tasks == []


async def create(server: PocketBaseServer, collection: str, **fields: Any) -> dict[str, Any]:
    # The server helper is sync: run it off the loop so the reader keeps reading.
    record: dict[str, Any] = await asyncio.to_thread(
        server.api, "POST", f"/api/collections/{collection}/records", json=fields
    )
    return record


async def update(server: PocketBaseServer, collection: str, rid: str, **fields: Any) -> None:
    await asyncio.to_thread(
        server.api, "PATCH", f"/api/collections/{collection}/records/{rid}", json=fields
    )


class Inbox:
    """A listener that records events and lets the test await one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._arrived = asyncio.Event()

    def __call__(self, topic: str, data: Any) -> None:
        self.events.append((topic, data))
        self._arrived.set()

    async def wait_for(self, match: Callable[[Event], bool], timeout: float = TIMEOUT) -> Event:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for event in self.events:
                        if match(event):
                            return event
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            pytest.fail(f"no matching realtime event within {timeout} s: {self.events!r}")

    def record_ids(self) -> list[str]:
        return [d["record"]["id"] for _, d in self.events]


def about(record_id: str, action: str = "create") -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        data = event[1]
        return bool(data["action"] == action and data["record"]["id"] == record_id)

    return match


def assert_idle(realtime: AsyncRealtimeService) -> None:
    assert not realtime.is_connected
    assert realtime.client_id == ""
    assert realtime.topics == []
    assert realtime._task is None


class PostSpy:
    """An ``after_send`` hook recording each realtime subscribe POST."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, list[str], int]] = []

    def __call__(self, response: httpx.Response, data: Any) -> Any:
        request = response.request
        if request.method == "POST" and request.url.path == "/api/realtime":
            body = json.loads(request.content)
            self.posts.append((body["clientId"], body["subscriptions"], response.status_code))
        return data


async def test_collection_topic_gets_create_update_delete(server: PocketBaseServer) -> None:
    inbox = Inbox()
    async with AsyncPocketBase(server.url) as pb:
        unsubscribe = await pb.realtime.subscribe("posts/*", inbox)
        assert pb.realtime.is_connected

        post = await create(server, "posts", title="hello")
        topic, data = await inbox.wait_for(about(post["id"]))
        assert topic == "posts/*"
        assert data["record"]["title"] == "hello"

        await update(server, "posts", post["id"], title="hi")
        _, data = await inbox.wait_for(about(post["id"], "update"))
        assert data["record"]["title"] == "hi"

        await asyncio.to_thread(
            server.api, "DELETE", f"/api/collections/posts/records/{post['id']}"
        )
        await inbox.wait_for(about(post["id"], "delete"))

        await unsubscribe()
        assert_idle(pb.realtime)


async def test_record_topic_with_options_through_the_record_service(
    server: PocketBaseServer,
) -> None:
    tag = await create(server, "tags", name="news")
    watched = await create(server, "posts", title="watched", tag=tag["id"])
    other = await create(server, "posts", title="other")
    received: list[RecordSubscription] = []
    arrived = asyncio.Event()

    async def callback(event: RecordSubscription) -> None:
        # An async callback: the reader awaits it.
        await asyncio.sleep(0)
        received.append(event)
        arrived.set()

    async with AsyncPocketBase(server.url) as pb:
        posts = pb.collection("posts")
        await posts.subscribe(watched["id"], callback, expand="tag", fields="id,title,expand")
        await update(server, "posts", other["id"], title="x")
        await update(server, "posts", watched["id"], title="y")
        await asyncio.wait_for(arrived.wait(), TIMEOUT)
        [event] = received
        assert event.action == "update"
        assert event.topic.startswith(f"posts/{watched['id']}?options=")
        assert event.record == {
            "id": watched["id"],
            "title": "y",
            "expand": {"tag": event.record["expand"]["tag"]},
        }
        assert event.record["expand"]["tag"]["name"] == "news"
        await posts.unsubscribe(watched["id"])
        assert_idle(pb.realtime)


async def test_two_listeners_and_unsubscribe_disconnects_when_empty(
    server: PocketBaseServer,
) -> None:
    first, second = Inbox(), Inbox()
    spy = PostSpy()
    async with AsyncPocketBase(server.url, after_send=spy) as pb:
        unsubscribe_first = await pb.realtime.subscribe("posts/*", first)
        unsubscribe_tags = await pb.realtime.subscribe("tags/*", second)
        unsubscribe_second = await pb.realtime.subscribe("posts/*", second)
        post = await create(server, "posts", title="both")
        await first.wait_for(about(post["id"]))
        await second.wait_for(about(post["id"]))

        await unsubscribe_first()
        await unsubscribe_tags()
        posted = [subs for _, subs, _ in spy.posts]
        assert posted == [["posts/*"], ["posts/*", "tags/*"], ["posts/*"]]
        post = await create(server, "posts", title="second only")
        await second.wait_for(about(post["id"]))
        assert post["id"] not in first.record_ids()

        await unsubscribe_second()
        await unsubscribe_second()
        assert_idle(pb.realtime)


async def test_unsubscribe_by_prefix_and_aclose(server: PocketBaseServer) -> None:
    pb = AsyncPocketBase(server.url)
    inbox = Inbox()
    await pb.realtime.subscribe("posts/*", inbox)
    await pb.realtime.subscribe("tags/*", inbox)
    await pb.realtime.unsubscribe_by_prefix("posts/")
    assert pb.realtime.topics == ["tags/*"]
    assert pb.realtime.is_connected
    await pb.aclose()
    assert_idle(pb.realtime)
    await pb.aclose()


async def test_a_failing_listener_is_logged_and_the_reader_lives_on(
    server: PocketBaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()

    def broken(topic: str, data: Any) -> None:
        raise RuntimeError("listener bug")

    async def broken_async(topic: str, data: Any) -> None:
        raise RuntimeError("async listener bug")

    async with AsyncPocketBase(server.url) as pb:
        await pb.realtime.subscribe("posts/*", broken)
        await pb.realtime.subscribe("posts/*", broken_async)
        await pb.realtime.subscribe("posts/*", inbox)
        with caplog.at_level(logging.ERROR, logger="pb_ssr.realtime"):
            first = await create(server, "posts", title="1")
            await inbox.wait_for(about(first["id"]))
        second = await create(server, "posts", title="2")
        await inbox.wait_for(about(second["id"]))
    assert "listener bug" in caplog.text
    assert "async listener bug" in caplog.text


async def test_a_listener_may_unsubscribe_the_last_topic(server: PocketBaseServer) -> None:
    done = asyncio.Event()
    unsubscribe: Callable[[], Awaitable[None]] | None = None

    async def once(topic: str, data: Any) -> None:
        assert unsubscribe is not None
        await unsubscribe()
        await asyncio.sleep(0)  # not cancelled by its own unsubscribe
        done.set()

    async with AsyncPocketBase(server.url) as pb:
        unsubscribe = await pb.realtime.subscribe("posts/*", once)
        await create(server, "posts", title="stop")
        await asyncio.wait_for(done.wait(), TIMEOUT)
        assert_idle(pb.realtime)
        for _ in range(100):
            if not [t for t in asyncio.all_tasks() if t.get_name() == "pb-ssr-realtime"]:
                break
            await asyncio.sleep(0.01)


async def test_owner_rule_delivers_only_the_users_own_records(server: PocketBaseServer) -> None:
    alice, bob = server.create_user(), server.create_user()
    inbox = Inbox()
    async with AsyncPocketBase(server.url) as pb:
        pb.auth_store.save(alice.token, alice.record)
        await pb.realtime.subscribe("secrets/*", inbox)
        bobs = await create(server, "secrets", owner=bob.id, note="bob's")
        alices = await create(server, "secrets", owner=alice.id, note="alice's")
        await inbox.wait_for(about(alices["id"]))
        later = await create(server, "secrets", owner=alice.id, note="later")
        await inbox.wait_for(about(later["id"]))
        assert bobs["id"] not in inbox.record_ids()


async def test_changing_user_is_refused_with_403_and_changes_nothing(
    server: PocketBaseServer,
) -> None:
    alice = server.create_user()
    posts = Inbox()
    async with AsyncPocketBase(server.url) as pb:
        pb.auth_store.save(alice.token, alice.record)
        await pb.realtime.subscribe("posts/*", posts)
        pb.auth_store.clear()
        with pytest.raises(ClientResponseError) as info:
            await pb.realtime.subscribe("tags/*", Inbox())
        assert info.value.status == 403
        assert pb.realtime.topics == ["posts/*"]
        post = await create(server, "posts", title="still here")
        await posts.wait_for(about(post["id"]))


async def test_unreachable_server_raises_and_leaves_nothing_behind() -> None:
    with PocketBaseServer() as gone:
        url = gone.url
    async with AsyncPocketBase(url) as pb:
        with pytest.raises(ClientResponseError) as info:
            await pb.realtime.subscribe("posts/*", Inbox())
        assert info.value.status == 0
        assert_idle(pb.realtime)


async def test_different_ip_on_subscribe_raises_and_leaves_nothing_behind(
    server: PocketBaseServer, pocketbase_version: tuple[int, ...]
) -> None:
    server.update_settings(TRUSTED_XFF)

    async def other_ip_on_post(request: httpx.Request) -> None:
        if request.method == "POST":
            request.headers["X-Forwarded-For"] = "10.9.9.9"

    try:
        async with AsyncPocketBase(
            server.url, headers={"X-Forwarded-For": "10.1.2.3"}, before_send=other_ip_on_post
        ) as pb:
            if pocketbase_version < REALTIME_SAME_ADDRESS:
                # Older releases do not compare the addresses: the subscribe succeeds.
                await (await pb.realtime.subscribe("posts/*", Inbox()))()
                assert_idle(pb.realtime)
                return
            with pytest.raises(ClientResponseError) as info:
                await pb.realtime.subscribe("posts/*", Inbox())
            assert info.value.status == 400
            assert info.value.message == "Invalid realtime client."
            assert_idle(pb.realtime)
    finally:
        server.update_settings(UNTRUSTED)


async def test_forwarded_address_is_the_same_on_connect_and_subscribe(
    server: PocketBaseServer,
) -> None:
    server.update_settings(TRUSTED_XFF)
    inbox = Inbox()
    try:
        async with AsyncPocketBase(server.url, headers={"X-Forwarded-For": "10.1.2.3"}) as pb:
            await pb.realtime.subscribe("posts/*", inbox)
            post = await create(server, "posts", title="forwarded")
            await inbox.wait_for(about(post["id"]))
    finally:
        server.update_settings(UNTRUSTED)


async def test_reconnects_and_resubscribes_after_a_server_restart() -> None:
    spy = PostSpy()
    inbox = Inbox()
    with PocketBaseServer() as server:
        create_collections(server)
        async with AsyncPocketBase(server.url, after_send=spy) as pb:
            connects = Inbox()
            await pb.realtime.subscribe("posts/*", inbox)
            await pb.realtime.subscribe("PB_CONNECT", connects)
            first_id = pb.realtime.client_id
            await asyncio.to_thread(server.restart)
            # `superuser upsert` on restart invalidates the cached superuser token;
            # a superuser-only read gets the 401 that makes server.api log in again.
            await asyncio.to_thread(server.api, "GET", "/api/collections/posts")
            _, data = await connects.wait_for(lambda e: e[1]["clientId"] != first_id, 15)
            assert spy.posts[-1] == (data["clientId"], ["posts/*", "PB_CONNECT"], 204)
            post = await create(server, "posts", title="after restart")
            await inbox.wait_for(about(post["id"]))


async def test_a_silent_stream_is_dropped_and_reconnected(
    server: PocketBaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AsyncRealtimeService, "read_timeout", 0.5)
    connects, inbox = Inbox(), Inbox()
    async with AsyncPocketBase(server.url) as pb:
        await pb.realtime.subscribe("PB_CONNECT", connects)
        await pb.realtime.subscribe("posts/*", inbox)
        first_id = pb.realtime.client_id
        await connects.wait_for(lambda e: e[1]["clientId"] != first_id)
        post = await create(server, "posts", title="after a stall")
        await inbox.wait_for(about(post["id"]))


async def test_a_refused_stream_raises_its_status(server: PocketBaseServer) -> None:
    def wrong_route(request: httpx.Request) -> httpx.Request | None:
        if request.method == "GET":
            return httpx.Request("GET", request.url.copy_with(path="/api/nowhere"))
        return None

    async with AsyncPocketBase(server.url, before_send=wrong_route) as pb:
        with pytest.raises(ClientResponseError) as info:
            await pb.realtime.subscribe("posts/*", Inbox())
        assert info.value.status == 404
        assert_idle(pb.realtime)
