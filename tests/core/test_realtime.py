"""RealtimeService (sync) against a real PocketBase, plus the SSE decoder."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pb_ssr import ClientResponseError, PocketBase, RecordSubscription
from pb_ssr._realtime import RealtimeService, ServerSentEvent, SSEDecoder
from pb_ssr.testing import PocketBaseServer

from ..versions import REALTIME_SAME_ADDRESS

TIMEOUT = 10.0
TRUSTED_XFF = {"trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": False}}

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
    # No rules at all: superusers only.
    server.create_collection(
        {"name": "hidden", "type": "base", "fields": [{"name": "title", "type": "text"}]}
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


@pytest.fixture(scope="module")
def server() -> Iterator[PocketBaseServer]:
    with PocketBaseServer() as server:
        create_collections(server)
        yield server


def create(server: PocketBaseServer, collection: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = server.api(
        "POST", f"/api/collections/{collection}/records", json=fields
    )
    return record


class Inbox:
    """A listener that records events and lets the test wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def __call__(self, topic: str, data: Any) -> None:
        with self._cond:
            self.events.append((topic, data))
            self._cond.notify_all()

    def wait_for(self, match: Callable[[Event], bool], timeout: float = TIMEOUT) -> Event:
        with self._cond:
            found: list[Event] = []

            def ready() -> bool:
                found[:] = [e for e in self.events if match(e)]
                return bool(found)

            if not self._cond.wait_for(ready, timeout):
                pytest.fail(f"no matching realtime event within {timeout} s: {self.events!r}")
            return found[0]

    def record_ids(self, action: str | None = None) -> list[str]:
        with self._cond:
            return [d["record"]["id"] for _, d in self.events if action in (None, d.get("action"))]


def about(record_id: str, action: str = "create") -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        data = event[1]
        return bool(data["action"] == action and data["record"]["id"] == record_id)

    return match


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "pb-ssr-realtime"]


def assert_idle(realtime: RealtimeService) -> None:
    assert not realtime.is_connected
    assert realtime.client_id == ""
    assert realtime.topics == []
    assert realtime._conn is None


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


@pytest.fixture(autouse=True)
def no_leaked_reader() -> Iterator[None]:
    yield
    for thread in reader_threads():
        thread.join(5)
    assert reader_threads() == []


# -- SSE decoding -------------------------------------------------------------------


def decode_all(lines: list[str]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [e for line in lines if (e := decoder.decode(line)) is not None]


def test_decoder_reads_pocketbase_events() -> None:
    lines = ["id:abc", "event:PB_CONNECT", 'data:{"clientId":"abc"}', ""]
    assert decode_all(lines) == [
        ServerSentEvent(event="PB_CONNECT", data='{"clientId":"abc"}', id="abc")
    ]


def test_decoder_joins_data_lines_and_skips_comments() -> None:
    lines = [": keep-alive", "event: posts/*", "data: one", "data:  two", "data", "", ""]
    assert decode_all(lines) == [ServerSentEvent(event="posts/*", data="one\n two\n")]


def test_decoder_defaults_the_event_name_and_keeps_the_last_id() -> None:
    lines = ["data:1", "", "id:7", "", "event:x", "data:2", "unknown:field", ""]
    assert decode_all(lines) == [
        ServerSentEvent(event="message", data="1"),
        ServerSentEvent(event="x", data="2", id="7"),
    ]


def test_decoder_drops_a_block_without_data() -> None:
    assert decode_all(["event:lonely", "", "data:x", ""]) == [ServerSentEvent(data="x")]


# -- subscribing --------------------------------------------------------------------


def test_collection_topic_gets_create_update_delete(server: PocketBaseServer) -> None:
    inbox = Inbox()
    with PocketBase(server.url) as pb:
        pb.auth_store.save(server.superuser_token())
        unsubscribe = pb.realtime.subscribe("posts/*", inbox)
        assert pb.realtime.is_connected
        assert pb.realtime.client_id
        assert repr(pb.realtime) == "<RealtimeService connected topics=1>"
        [reader] = reader_threads()
        assert reader.daemon

        post = create(server, "posts", title="hello")
        topic, data = inbox.wait_for(about(post["id"]))
        assert topic == "posts/*"
        assert data["record"]["title"] == "hello"
        assert data["record"]["collectionName"] == "posts"

        server.api("PATCH", f"/api/collections/posts/records/{post['id']}", json={"title": "hi"})
        _, data = inbox.wait_for(about(post["id"], "update"))
        assert data["record"]["title"] == "hi"

        server.api("DELETE", f"/api/collections/posts/records/{post['id']}")
        inbox.wait_for(about(post["id"], "delete"))

        unsubscribe()
        assert_idle(pb.realtime)


def test_record_topic_gets_only_that_record(server: PocketBaseServer) -> None:
    inbox = Inbox()
    watched = create(server, "posts", title="watched")
    other = create(server, "posts", title="other")
    with PocketBase(server.url) as pb:
        pb.realtime.subscribe(f"posts/{watched['id']}", inbox)
        server.api("PATCH", f"/api/collections/posts/records/{other['id']}", json={"title": "x"})
        server.api("PATCH", f"/api/collections/posts/records/{watched['id']}", json={"title": "y"})
        topic, data = inbox.wait_for(about(watched["id"], "update"))
        assert topic == f"posts/{watched['id']}"
        assert data["record"]["title"] == "y"
        assert other["id"] not in inbox.record_ids()


def test_record_service_passes_options_into_the_event(server: PocketBaseServer) -> None:
    tag = create(server, "tags", name="news")
    received: list[RecordSubscription] = []
    arrived = threading.Event()

    def callback(event: RecordSubscription) -> None:
        received.append(event)
        arrived.set()

    with PocketBase(server.url) as pb:
        pb.collection("posts").subscribe("*", callback, expand="tag", fields="id,title,expand")
        post = create(server, "posts", title="tagged", tag=tag["id"])
        assert arrived.wait(TIMEOUT)
        event = received[0]
        assert event.action == "create"
        assert event.topic.startswith("posts/*?options=")
        assert event.record.id == post["id"]
        assert set(event.record) == {"id", "title", "expand"}
        assert event.record["expand"]["tag"]["name"] == "news"
        pb.collection("posts").unsubscribe()
        assert_idle(pb.realtime)


def test_two_listeners_one_post_and_unsubscribe_each(server: PocketBaseServer) -> None:
    first, second = Inbox(), Inbox()
    spy = PostSpy()
    with PocketBase(server.url, after_send=spy) as pb:
        unsubscribe_first = pb.realtime.subscribe("posts/*", first)
        unsubscribe_second = pb.realtime.subscribe("posts/*", second)
        # The topic set did not change for the second listener: no second POST.
        assert [(subs, status) for _, subs, status in spy.posts] == [(["posts/*"], 204)]

        post = create(server, "posts", title="both")
        first.wait_for(about(post["id"]))
        second.wait_for(about(post["id"]))

        unsubscribe_first()
        unsubscribe_first()  # a second call does nothing
        assert pb.realtime.is_connected
        post = create(server, "posts", title="second only")
        second.wait_for(about(post["id"]))
        assert post["id"] not in first.record_ids()

        unsubscribe_second()
        assert_idle(pb.realtime)
        assert len(spy.posts) == 1  # the last unsubscribe just disconnects


def test_unsubscribing_a_topic_posts_the_smaller_set(server: PocketBaseServer) -> None:
    posts, tags = Inbox(), Inbox()
    spy = PostSpy()
    with PocketBase(server.url, after_send=spy) as pb:
        unsubscribe_posts = pb.realtime.subscribe("posts/*", posts)
        pb.realtime.subscribe("tags/*", tags)
        unsubscribe_posts()
        posted = [subs for _, subs, _ in spy.posts]
        assert posted == [["posts/*"], ["posts/*", "tags/*"], ["tags/*"]]

        post = create(server, "posts", title="unheard")
        tag = create(server, "tags", name="heard")
        tags.wait_for(about(tag["id"]))
        assert post["id"] not in posts.record_ids()
        assert pb.realtime.topics == ["tags/*"]


def test_unsubscribe_by_prefix(server: PocketBaseServer) -> None:
    inbox = Inbox()
    with PocketBase(server.url) as pb:
        post = create(server, "posts", title="p")
        pb.realtime.subscribe("posts/*", inbox)
        pb.realtime.subscribe(f"posts/{post['id']}", inbox)
        pb.realtime.subscribe("tags/*", inbox)
        pb.realtime.unsubscribe_by_prefix("posts/")
        assert pb.realtime.topics == ["tags/*"]
        assert pb.realtime.is_connected
        pb.realtime.unsubscribe_by_prefix("tags/")
        assert_idle(pb.realtime)
        pb.realtime.unsubscribe_by_prefix("tags/")  # nothing left: a no-op


def test_record_service_unsubscribes_exactly_one_topic(server: PocketBaseServer) -> None:
    inbox = Inbox()
    with PocketBase(server.url) as pb:
        posts = pb.collection("posts")
        posts.subscribe("abc", inbox)
        posts.subscribe("abc", inbox, fields="id")  # the same record, with options
        posts.subscribe("abcdef", inbox)  # shares the prefix, must survive
        posts.subscribe("*", inbox)
        posts.unsubscribe("abc")
        assert sorted(pb.realtime.topics) == ["posts/*", "posts/abcdef"]
        posts.unsubscribe()
        assert_idle(pb.realtime)


def test_close_is_idempotent_and_the_service_can_start_again(server: PocketBaseServer) -> None:
    inbox = Inbox()
    pb = PocketBase(server.url)
    pb.realtime.subscribe("posts/*", inbox)
    pb.close()
    assert_idle(pb.realtime)
    pb.close()
    pb.realtime.subscribe("posts/*", inbox)
    post = create(server, "posts", title="again")
    inbox.wait_for(about(post["id"]))
    pb.close()
    assert_idle(pb.realtime)


def test_a_failing_listener_is_logged_and_the_reader_lives_on(
    server: PocketBaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()

    def broken(topic: str, data: Any) -> None:
        raise RuntimeError("listener bug")

    with PocketBase(server.url) as pb:
        pb.realtime.subscribe("posts/*", broken)
        pb.realtime.subscribe("posts/*", inbox)
        with caplog.at_level(logging.ERROR, logger="pb_ssr.realtime"):
            first = create(server, "posts", title="1")
            inbox.wait_for(about(first["id"]))
        second = create(server, "posts", title="2")
        inbox.wait_for(about(second["id"]))
    assert "listener bug" in caplog.text
    assert pb.realtime.client_id == ""


def test_a_listener_may_unsubscribe_the_last_topic(server: PocketBaseServer) -> None:
    done = threading.Event()
    unsubscribe: Callable[[], None] | None = None

    def once(topic: str, data: Any) -> None:
        assert unsubscribe is not None
        unsubscribe()
        done.set()

    with PocketBase(server.url) as pb:
        unsubscribe = pb.realtime.subscribe("posts/*", once)
        create(server, "posts", title="stop")
        assert done.wait(TIMEOUT)
        assert_idle(pb.realtime)


# -- rules and auth -----------------------------------------------------------------


def test_owner_rule_delivers_only_the_users_own_records(server: PocketBaseServer) -> None:
    alice, bob = server.create_user(), server.create_user()
    inbox = Inbox()
    with PocketBase(server.url) as pb:
        pb.auth_store.save(alice.token, alice.record)
        pb.realtime.subscribe("secrets/*", inbox)
        bobs = create(server, "secrets", owner=bob.id, note="bob's")
        alices = create(server, "secrets", owner=alice.id, note="alice's")
        _, data = inbox.wait_for(about(alices["id"]))
        assert data["record"]["note"] == "alice's"
        # Events are sent in parallel goroutines: wait for one more before judging.
        later = create(server, "secrets", owner=alice.id, note="later")
        inbox.wait_for(about(later["id"]))
        assert bobs["id"] not in inbox.record_ids()


def test_guest_gets_nothing_from_the_owner_rule(server: PocketBaseServer) -> None:
    user = server.create_user()
    secrets, posts = Inbox(), Inbox()
    with PocketBase(server.url) as pb:
        pb.realtime.subscribe("secrets/*", secrets)
        pb.realtime.subscribe("posts/*", posts)
        create(server, "secrets", owner=user.id, note="private")
        post = create(server, "posts", title="public")
        posts.wait_for(about(post["id"]))
        later = create(server, "posts", title="later")
        posts.wait_for(about(later["id"]))
        assert secrets.events == []


def test_rules_are_not_checked_when_subscribing(server: PocketBaseServer) -> None:
    # PocketBase accepts any topic (204) and applies the list/view rule to each
    # event instead: a forbidden topic subscribes fine and stays silent.
    hidden, posts = Inbox(), Inbox()
    with PocketBase(server.url) as pb:
        pb.realtime.subscribe("hidden/*", hidden)
        pb.realtime.subscribe("posts/*", posts)
        create(server, "hidden", title="for superusers")
        post = create(server, "posts", title="public")
        posts.wait_for(about(post["id"]))
        later = create(server, "posts", title="later")
        posts.wait_for(about(later["id"]))
        assert hidden.events == []


def test_changing_user_is_refused_with_403_and_changes_nothing(server: PocketBaseServer) -> None:
    alice, bob = server.create_user(), server.create_user()
    posts, tags = Inbox(), Inbox()
    with PocketBase(server.url) as pb:
        pb.auth_store.save(alice.token, alice.record)
        pb.realtime.subscribe("posts/*", posts)
        pb.auth_store.save(bob.token, bob.record)
        with pytest.raises(ClientResponseError) as info:
            pb.realtime.subscribe("tags/*", tags)
        assert info.value.status == 403
        assert "authorization" in info.value.message
        assert bob.token not in repr(info.value)
        assert pb.realtime.topics == ["posts/*"]
        assert pb.realtime.is_connected
        post = create(server, "posts", title="still here")
        posts.wait_for(about(post["id"]))


# -- failures -----------------------------------------------------------------------


def test_unreachable_server_raises_and_leaves_nothing_behind() -> None:
    with PocketBaseServer() as gone:
        url = gone.url
    with PocketBase(url) as pb:
        with pytest.raises(ClientResponseError) as info:
            pb.realtime.subscribe("posts/*", Inbox())
        assert info.value.status == 0
        assert_idle(pb.realtime)


def test_different_ip_on_subscribe_raises_and_leaves_nothing_behind(
    server: PocketBaseServer, pocketbase_version: tuple[int, ...]
) -> None:
    server.update_settings(TRUSTED_XFF)

    def other_ip_on_post(request: httpx.Request) -> None:
        if request.method == "POST":
            request.headers["X-Forwarded-For"] = "10.9.9.9"

    try:
        with PocketBase(
            server.url, headers={"X-Forwarded-For": "10.1.2.3"}, before_send=other_ip_on_post
        ) as pb:
            if pocketbase_version < REALTIME_SAME_ADDRESS:
                # Older releases do not compare the addresses: the subscribe succeeds.
                pb.realtime.subscribe("posts/*", Inbox())()
                assert_idle(pb.realtime)
                return
            with pytest.raises(ClientResponseError) as info:
                pb.realtime.subscribe("posts/*", Inbox())
            assert info.value.status == 400
            assert info.value.message == "Invalid realtime client."
            assert_idle(pb.realtime)
    finally:
        server.update_settings({"trustedProxy": {"headers": [], "useLeftmostIP": False}})


def test_forwarded_address_is_the_same_on_connect_and_subscribe(
    server: PocketBaseServer,
) -> None:
    server.update_settings(TRUSTED_XFF)
    inbox = Inbox()
    try:
        with PocketBase(server.url, headers={"X-Forwarded-For": "10.1.2.3"}) as pb:
            pb.realtime.subscribe("posts/*", inbox)
            post = create(server, "posts", title="forwarded")
            inbox.wait_for(about(post["id"]))
        logs = server.wait_for_logs("data.url = '/api/realtime' && data.method = 'POST'")
        assert logs[0]["data"]["userIP"] == "10.1.2.3"
    finally:
        server.update_settings({"trustedProxy": {"headers": [], "useLeftmostIP": False}})


def test_reconnects_and_resubscribes_after_a_server_restart() -> None:
    spy = PostSpy()
    inbox = Inbox()
    with PocketBaseServer() as server:
        create_collections(server)
        with PocketBase(server.url, after_send=spy) as pb:
            connects = Inbox()
            pb.realtime.subscribe("PB_CONNECT", connects)
            pb.realtime.subscribe("posts/*", inbox)
            first_id = pb.realtime.client_id
            connects.wait_for(lambda e: e == ("PB_CONNECT", {"clientId": first_id}))
            server.restart()
            # `superuser upsert` on restart invalidates the cached superuser token;
            # a superuser-only read gets the 401 that makes server.api log in again.
            server.api("GET", "/api/collections/posts")
            _, data = connects.wait_for(lambda e: e[1]["clientId"] != first_id, timeout=15)
            assert spy.posts[-1] == (data["clientId"], ["PB_CONNECT", "posts/*"], 204)
            post = create(server, "posts", title="after restart")
            inbox.wait_for(about(post["id"]))
            assert pb.realtime.client_id == data["clientId"]


def test_a_silent_stream_is_dropped_and_reconnected(
    server: PocketBaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RealtimeService, "read_timeout", 0.5)
    connects, inbox = Inbox(), Inbox()
    with PocketBase(server.url) as pb:
        pb.realtime.subscribe("PB_CONNECT", connects)
        pb.realtime.subscribe("posts/*", inbox)
        first_id = pb.realtime.client_id
        connects.wait_for(lambda e: e[1]["clientId"] != first_id)
        post = create(server, "posts", title="after a stall")
        inbox.wait_for(about(post["id"]))


def test_a_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RealtimeService, "connect_timeout", 0.5)
    monkeypatch.setattr(RealtimeService, "join_timeout", 0.1)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        host, port = listener.getsockname()
        with PocketBase(f"http://{host}:{port}") as pb:
            with pytest.raises(ClientResponseError) as info:
                pb.realtime.subscribe("posts/*", Inbox())
            assert (info.value.status, info.value.is_abort) == (0, True)
            assert "0.5 s" in info.value.message
            assert_idle(pb.realtime)
            # The reader is still waiting for response headers: hang up on it.
            connection, _ = listener.accept()
            connection.close()


def test_a_refused_stream_raises_its_status(server: PocketBaseServer) -> None:
    def wrong_route(request: httpx.Request) -> httpx.Request | None:
        if request.method == "GET":
            return httpx.Request("GET", request.url.copy_with(path="/api/nowhere"))
        return None

    with PocketBase(server.url, before_send=wrong_route) as pb:
        with pytest.raises(ClientResponseError) as info:
            pb.realtime.subscribe("posts/*", Inbox())
        assert info.value.status == 404
        assert info.value.url.endswith("/api/nowhere")
        assert_idle(pb.realtime)
