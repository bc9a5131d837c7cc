"""The realtime relay (pb_ssr.relay) against a real PocketBase.

Each stream is read the way a server reads a response body: the sync driver on a
thread of its own (a WSGI worker thread), the async one in a task. Events are
decoded back with the client's own SSE decoder, so the framing is checked by a
parser that follows the WHATWG rules. Nothing here asserts a duration: every wait
is "until this happens", bounded only so that a broken relay fails instead of
hanging.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pb_ssr import ServiceClient, SessionManager, Settings
from pb_ssr._realtime import ServerSentEvent, SSEDecoder
from pb_ssr.relay import (
    AsyncStream,
    Feed,
    Refusal,
    Relay,
    Stream,
    sse_comment,
    sse_event,
)
from pb_ssr.testing import PocketBaseServer, TestUser

SECRET = "pb-ssr-test-secret-key"
TIMEOUT = 15.0
CLIENT_IP = "10.1.2.3"
TRUSTED_XFF = {"trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": False}}


# -- helpers --------------------------------------------------------------------------------


def make_manager(url: str, **settings: Any) -> SessionManager:
    return SessionManager(Settings.from_mapping({"URL": url, **settings}), secret_key=SECRET)


def cookie_for(manager: SessionManager, user: TestUser) -> str:
    return manager.codec.dump(user.token, user.record, max_age=3600).value


def session_of(manager: SessionManager, user: TestUser | None, ip: str = CLIENT_IP) -> Any:
    cookie = cookie_for(manager, user) if user is not None else None
    return manager.open(cookie, client_ip=ip)


def message_feeds(**render: Any) -> list[Feed]:
    return [
        Feed("messages", "messages", expand="user", **render),
        Feed("notes", "private_notes"),
    ]


def create(server: PocketBaseServer, who: TestUser, collection: str, /, **fields: Any) -> Any:
    """Create a record *as* ``who`` (its API rules apply)."""
    response = httpx.post(
        f"{server.url}/api/collections/{collection}/records",
        json=fields,
        headers={"Authorization": who.token},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def as_user(server: PocketBaseServer, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    response = httpx.request(
        method, server.url + path, headers={"Authorization": user.token}, timeout=10, **kw
    )
    assert response.status_code in (200, 204), response.text
    return response.json() if response.content else None


class Reader:
    """Reads a sync stream on its own thread, like a WSGI server, and decodes it."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.raw: list[bytes] = []
        self.events: list[ServerSentEvent] = []
        self.comments = 0
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._decoder = SSEDecoder()
        self._buffer = ""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for chunk in self.stream:
                self.feed(chunk)
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            self.stream.close()
            with self._cond:
                self.done.set()
                self._cond.notify_all()

    def feed(self, chunk: bytes) -> None:
        with self._cond:
            self.raw.append(chunk)
            self._buffer += chunk.decode()
            *lines, self._buffer = self._buffer.split("\n")
            for line in lines:
                if line.startswith(":"):
                    self.comments += 1
                event = self._decoder.decode(line)
                if event is not None:
                    self.events.append(event)
            self._cond.notify_all()

    def wait(self, ready: Callable[[], bool], what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: ready() or self.done.is_set(), TIMEOUT):
                pytest.fail(f"timed out waiting for {what}: {self.events!r}")
            if not ready():
                pytest.fail(f"the stream ended before {what}: {self.events!r} {self.error!r}")

    def wait_event(self, match: Callable[[ServerSentEvent], bool], what: str) -> ServerSentEvent:
        self.wait(lambda: any(match(e) for e in self.events), what)
        return next(e for e in self.events if match(e))

    def wait_end(self) -> str:
        """Wait until the stream ends; return the reason of its ``pb:end`` event.

        ``""`` when it was closed from outside (the relay then sends no ``pb:end``).
        """
        if not self.done.wait(TIMEOUT):
            pytest.fail(f"the stream did not end: {self.events!r}")
        self.thread.join(TIMEOUT)
        ends = [e for e in self.events if e.event == "pb:end"]
        assert len(ends) <= 1, self.events
        if not ends:
            return ""
        assert self.events[-1] is ends[0], self.events
        return ends[0].data


def data_of(event: ServerSentEvent) -> Any:
    return json.loads(event.data)


def about(feed: str, action: str, record_id: str) -> Callable[[ServerSentEvent], bool]:
    def match(event: ServerSentEvent) -> bool:
        if event.event != feed:
            return False
        data = data_of(event)
        found = data.get("id") or data.get("record", {}).get("id")
        return bool(data["action"] == action and found == record_id)

    return match


def open_stream(relay: Relay, session: Any, feeds: str) -> Stream:
    result = relay.open(session, feeds)
    assert isinstance(result, Stream), result
    return result


@pytest.fixture
def manager(pocketbase_url: str) -> SessionManager:
    return make_manager(pocketbase_url)


@pytest.fixture
def alice(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Alice")


@pytest.fixture
def bob(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Bob")


# -- declaring feeds and framing (no I/O) ------------------------------------------------


def test_feed_topic_carries_options_as_the_js_sdk_encodes_them() -> None:
    feed = Feed("messages", "messages", expand="user", fields=["id", "text"], filter="a = 1")
    topic, _, options = feed.subscription.partition("?options=")
    assert topic == "messages/*"
    from urllib.parse import unquote

    assert json.loads(unquote(options)) == {
        "query": {"expand": "user", "fields": "id,text", "filter": "a = 1"}
    }
    assert Feed("one", "messages", topic="abc123").subscription == "messages/abc123"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "bad name", "collection": "messages"},
        {"name": "x\nevent: y", "collection": "messages"},
        {"name": "pb:end", "collection": "messages"},
        {"name": "", "collection": "messages"},
        {"name": "ok", "collection": "messages/*"},
        {"name": "ok", "collection": "messages", "topic": "*?options=x"},
        {"name": "ok", "collection": "messages", "topic": ""},
    ],
)
def test_feed_refuses_names_and_topics_that_could_escape(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Feed(**kwargs)


def test_relay_refuses_duplicate_feed_names() -> None:
    with pytest.raises(ValueError, match="Two feeds"):
        Relay([Feed("a", "messages"), Feed("a", "notes")])


@pytest.mark.parametrize("value", [None, "", " , ", "nope", "messages,nope", "x" * 2000])
def test_select_refuses_anything_but_declared_names(value: str | None) -> None:
    relay = Relay(message_feeds())
    refusal = relay.select(value)
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.reason) == (400, "unknown_feed")
    assert "nope" not in refusal.message  # request input is never echoed
    assert refusal.headers["Cache-Control"] == "no-store"


def test_select_picks_declared_feeds_in_declaration_order() -> None:
    relay = Relay(message_feeds())
    selected = relay.select(" notes , messages,notes")
    assert isinstance(selected, list)
    assert [f.name for f in selected] == ["messages", "notes"]
    selected = relay.select(["notes"])
    assert isinstance(selected, list) and [f.name for f in selected] == ["notes"]


def test_sse_event_frames_every_line_break_as_a_data_line() -> None:
    hostile = 'line one\n\nevent: x\r\ndata: {"forged": 1}\rid: 7\nlast'
    framed = sse_event("messages", hostile)
    lines = framed.decode().split("\n")
    assert lines[0] == "event: messages"
    assert all(line.startswith("data: ") for line in lines[1:-2]), lines
    assert lines[-2:] == ["", ""]
    assert "\r" not in framed.decode()
    decoder = SSEDecoder()
    events = [e for line in lines if (e := decoder.decode(line)) is not None]
    assert len(events) == 1
    assert events[0].event == "messages"
    assert events[0].id == ""
    assert events[0].data == hostile.replace("\r\n", "\n").replace("\r", "\n")
    with pytest.raises(ValueError):
        sse_event("a\nb", "x")
    assert sse_comment("a\nretry: 1") == b": a retry: 1\n\n"


# -- who may stream ----------------------------------------------------------------------


def test_anonymous_gets_401_and_holds_no_slot(manager: SessionManager) -> None:
    relay = Relay(message_feeds())
    for cookie in (None, "garbage"):
        result = relay.open(manager.open(cookie, client_ip=CLIENT_IP), "messages")
        assert isinstance(result, Refusal)
        assert (result.status, result.reason) == (401, "anonymous")
    assert relay.active == 0


@pytest.mark.anyio
async def test_anonymous_gets_401_async(manager: SessionManager) -> None:
    relay = Relay(message_feeds())
    result = await relay.aopen(manager.open(None, client_ip=CLIENT_IP), "messages")
    assert isinstance(result, Refusal) and result.status == 401
    assert relay.active == 0


def test_unknown_feed_is_refused_before_the_session_is_read(
    manager: SessionManager, alice: TestUser
) -> None:
    relay = Relay(message_feeds())
    session = session_of(manager, alice)
    result = relay.open(session, "users")
    assert isinstance(result, Refusal) and result.status == 400
    assert not session.loaded  # no validation round trip for a bad request
    assert relay.active == 0


# -- events as the user -----------------------------------------------------------------


def test_json_events_reach_the_stream_with_options_applied(
    pocketbase_server: PocketBaseServer, manager: SessionManager, alice: TestUser, bob: TestUser
) -> None:
    relay = Relay(message_feeds())
    stream = open_stream(relay, session_of(manager, alice), "messages")
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers["Cache-Control"] == "no-store, no-transform"
    assert relay.active == 1
    reader = Reader(stream)
    try:
        posted = create(pocketbase_server, bob, "messages", text="hello", user=bob.id)
        created = reader.wait_event(about("messages", "create", posted["id"]), "the create")
        record = data_of(created)["record"]
        assert record["text"] == "hello"
        # The expand runs under Alice's auth too: Bob's user record is not hers to see.
        assert "user" not in record.get("expand", {})
        own = create(pocketbase_server, alice, "messages", text="mine", user=alice.id)
        mine = reader.wait_event(about("messages", "create", own["id"]), "her own message")
        assert data_of(mine)["record"]["expand"]["user"]["name"] == "Alice"
        path = f"/api/collections/messages/records/{posted['id']}"
        as_user(pocketbase_server, bob, "PATCH", path, json={"text": "edited"})
        updated = reader.wait_event(about("messages", "update", posted["id"]), "the update")
        assert data_of(updated)["record"]["text"] == "edited"
        as_user(pocketbase_server, bob, "DELETE", path)
        reader.wait_event(about("messages", "delete", posted["id"]), "the delete")
    finally:
        stream.close()
        assert reader.wait_end() == ""
    assert reader.raw[0] == b"retry: 3000\n\n"  # the first bytes on the wire
    assert relay.active == 0


def test_rules_filter_events_per_user(
    pocketbase_server: PocketBaseServer, manager: SessionManager, alice: TestUser, bob: TestUser
) -> None:
    relay = Relay(message_feeds())
    readers = {
        name: Reader(open_stream(relay, session_of(manager, user), "notes"))
        for name, user in (("alice", alice), ("bob", bob))
    }
    try:
        bobs = create(pocketbase_server, bob, "private_notes", title="bob's", owner=bob.id)
        readers["bob"].wait_event(about("notes", "create", bobs["id"]), "bob's own note")
        # PocketBase sends one client its events in order: once Alice has her own
        # later note, Bob's earlier one would have come first had she been allowed it.
        alices = create(pocketbase_server, alice, "private_notes", title="hers", owner=alice.id)
        readers["alice"].wait_event(about("notes", "create", alices["id"]), "alice's note")
        seen = [data_of(e)["record"]["id"] for e in readers["alice"].events if e.event == "notes"]
        assert seen == [alices["id"]]
    finally:
        for reader in readers.values():
            reader.stream.close()
            assert reader.wait_end() == ""
    bobs_seen = [data_of(e)["record"]["id"] for e in readers["bob"].events if e.event == "notes"]
    assert alices["id"] not in bobs_seen


def test_html_fragments_are_framed_safely(
    pocketbase_server: PocketBaseServer, manager: SessionManager, alice: TestUser
) -> None:
    calls: list[tuple[str, str]] = []

    def render(action: str, record: Any) -> str:
        calls.append((action, record.id))
        name = record.expand["user"]["name"]
        return f'<li id="msg-{record.id}">\n<b>{name}</b>\n{record["text"]}\n</li>'

    relay = Relay(message_feeds(render=render))
    reader = Reader(open_stream(relay, session_of(manager, alice), "messages"))
    hostile = "hi\n\nevent: x\r\ndata: forged\rretry: 1\n\n"
    try:
        posted = create(pocketbase_server, alice, "messages", text=hostile, user=alice.id)
        event = reader.wait_event(about("messages", "create", posted["id"]), "the fragment")
        payload = data_of(event)
        assert payload == {
            "action": "create",
            "id": posted["id"],
            "html": f'<li id="msg-{posted["id"]}">\n<b>Alice</b>\n{hostile}\n</li>',
        }
        path = f"/api/collections/messages/records/{posted['id']}"
        as_user(pocketbase_server, alice, "DELETE", path)
        deleted = reader.wait_event(about("messages", "delete", posted["id"]), "the delete")
        assert data_of(deleted) == {"action": "delete", "id": posted["id"]}
    finally:
        reader.stream.close()
        assert reader.wait_end() == ""
    assert calls == [("create", posted["id"])]  # never rendered for a deletion
    assert {e.event for e in reader.events} == {"messages"}
    wire = b"".join(reader.raw).decode()
    assert "\r" not in wire
    assert not any(
        line.startswith(("event: x", "retry: 1", "data: forged")) for line in wire.split("\n")
    )


def test_a_render_that_raises_skips_that_event_only(
    pocketbase_server: PocketBaseServer,
    manager: SessionManager,
    alice: TestUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def render(action: str, record: Any) -> str:
        if record["text"] == "boom":
            raise RuntimeError("template error")
        return f'<li id="msg-{record.id}">{record["text"]}</li>'

    relay = Relay(message_feeds(render=render))
    reader = Reader(open_stream(relay, session_of(manager, alice), "messages"))
    try:
        boom = create(pocketbase_server, alice, "messages", text="boom", user=alice.id)
        fine = create(pocketbase_server, alice, "messages", text="fine", user=alice.id)
        reader.wait_event(about("messages", "create", fine["id"]), "the second message")
    finally:
        reader.stream.close()
        assert reader.wait_end() == ""
    ids = [data_of(e)["id"] for e in reader.events if e.event == "messages"]
    assert ids == [fine["id"]]
    assert boom["id"] not in ids
    assert "The render of feed 'messages' raised" in caplog.text


def test_client_address_is_forwarded_on_connect_and_subscribe(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    server.update_settings(TRUSTED_XFF)
    user = server.create_user(name="Forwarded")
    sent: list[tuple[str, str | None]] = []

    def spy(request: httpx.Request) -> None:
        if request.url.path == "/api/realtime":
            sent.append((request.method, request.headers.get("X-Forwarded-For")))

    with httpx.Client(event_hooks={"request": [spy]}) as http:
        relay = Relay(message_feeds(), http_client=http)
        manager = make_manager(server.url)
        # PocketBase >= 0.38.2 refuses a subscribe from another address than the
        # connection's ("Invalid realtime client."): a stream that opens and carries
        # an event shows PocketBase saw one address on both.
        stream = open_stream(relay, session_of(manager, user, ip=CLIENT_IP), "messages")
        reader = Reader(stream)
        try:
            posted = create(server, user, "messages", text="via proxy", user=user.id)
            reader.wait_event(about("messages", "create", posted["id"]), "the event")
        finally:
            stream.close()
            assert reader.wait_end() == ""
    assert sent == [("GET", CLIENT_IP), ("POST", CLIENT_IP)]
    posts = server.wait_for_logs("data.url = '/api/realtime' && data.method = 'POST'")
    assert {log["data"]["userIP"] for log in posts} == {CLIENT_IP}


# -- when the stream ends ------------------------------------------------------------------


def test_sign_out_ends_the_stream(manager: SessionManager, alice: TestUser) -> None:
    relay = Relay(message_feeds(), recheck=0.2)
    reader = Reader(open_stream(relay, session_of(manager, alice), "messages"))
    reader.wait(lambda: bool(reader.raw), "the retry hint")
    # The sign-out view of another request, with the same cookie.
    other = session_of(manager, alice)
    assert other.user() is not None
    other.logout()
    other.finalize()
    assert reader.wait_end() == "signed-out"
    assert relay.active == 0
    assert reader.stream.ended == "signed-out"


def test_a_revoked_token_ends_the_stream_at_its_next_validation(
    pocketbase_server: PocketBaseServer, pocketbase_url: str, alice: TestUser
) -> None:
    manager = make_manager(pocketbase_url, VALIDATE_TTL=0.5)
    relay = Relay(message_feeds(), recheck=0.2)
    reader = Reader(open_stream(relay, session_of(manager, alice), "messages"))
    reader.wait(lambda: bool(reader.raw), "the retry hint")
    calls = manager.validator.upstream_calls
    service = ServiceClient(
        pocketbase_url,
        email=pocketbase_server.superuser_email,
        password=pocketbase_server.superuser_password,
    )
    service.revoke_sessions("users", alice.id)
    assert reader.wait_end() == "signed-out"
    # PocketBase was asked again (auth-refresh), not only the local cache.
    assert manager.validator.upstream_calls > calls
    assert relay.active == 0


def test_the_stream_ends_when_the_token_expires(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    # A token that lives 10 s (PocketBase's minimum): the collection's own duration, an
    # ordinary refreshable one (PocketBase before 0.29 refuses to refresh, and so to
    # confirm, the impersonation tokens that would be the shortcut).
    server = pocketbase_server_factory()
    server.api("PATCH", "/api/collections/users", json={"authToken": {"duration": 10}})
    user = server.create_user(name="Short")
    relay = Relay(message_feeds(), heartbeat=60, recheck=60)
    manager = make_manager(server.url, REFRESH_WITHIN=0)
    reader = Reader(open_stream(relay, session_of(manager, user), "messages"))
    assert reader.wait_end() == "expired"
    assert relay.active == 0


def test_an_outage_ends_the_stream_cleanly_and_new_streams_get_503(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    user = server.create_user(name="Outage")
    manager = make_manager(server.url)
    relay = Relay(message_feeds(), recheck=0.2, retry_after=7)
    reader = Reader(open_stream(relay, session_of(manager, user), "messages"))
    reader.wait(lambda: bool(reader.raw), "the retry hint")
    server.stop()
    assert reader.wait_end() == "unavailable"
    assert reader.error is None
    assert relay.active == 0
    # The session is still cached as valid, but PocketBase takes no subscription.
    result = relay.open(session_of(manager, user), "messages")
    assert isinstance(result, Refusal)
    assert (result.status, result.reason) == (503, "unavailable")
    assert result.headers["Retry-After"] == "7"
    assert relay.active == 0


# -- the cap and releasing it ------------------------------------------------------------


def test_the_cap_refuses_with_503_and_is_released_on_close(
    manager: SessionManager, alice: TestUser
) -> None:
    relay = Relay(message_feeds(), max_streams=2, retry_after=9)
    first = open_stream(relay, session_of(manager, alice), "messages")
    second = open_stream(relay, session_of(manager, alice), "notes")
    busy = relay.open(session_of(manager, alice), "messages")
    assert isinstance(busy, Refusal)
    assert (busy.status, busy.reason) == (503, "busy")
    assert busy.headers["Retry-After"] == "9"
    assert relay.active == 2
    # Closed before a single chunk was read (the server gave up on the response).
    first.close()
    assert relay.active == 1
    # Closed mid-stream, as a WSGI server does when the client has gone (GeneratorExit).
    assert next(second) == b"retry: 3000\n\n"
    second.close()
    second.close()  # twice is harmless
    assert relay.active == 0
    assert second.ended == "closed"
    third = open_stream(relay, session_of(manager, alice), "messages")
    assert relay.active == 1
    third.close()
    assert relay.active == 0


def test_streams_take_no_connection_from_the_pages_pool(
    pocketbase_url: str, alice: TestUser
) -> None:
    # The pages' pool holds two connections: three streams in it would leave the
    # page below waiting for a free connection until its pool timeout.
    with httpx.Client(limits=httpx.Limits(max_connections=2)) as pages:
        manager = SessionManager(
            Settings.from_mapping({"URL": pocketbase_url, "CONNECT_TIMEOUT": 1}),
            secret_key=SECRET,
            http_client=pages,
        )
        relay = Relay(message_feeds())
        streams = [open_stream(relay, session_of(manager, alice), "messages") for _ in range(3)]
        try:
            page = session_of(manager, alice).client()
            assert page.collection("messages").get_list(1, 1).page == 1
        finally:
            for stream in streams:
                stream.close()
    assert relay.active == 0


def test_closing_releases_the_realtime_connection(manager: SessionManager, alice: TestUser) -> None:
    relay = Relay(message_feeds())
    before = {t for t in threading.enumerate() if t.name == "pb-ssr-realtime"}
    stream = open_stream(relay, session_of(manager, alice), "messages")
    during = {t for t in threading.enumerate() if t.name == "pb-ssr-realtime"} - before
    assert len(during) == 1
    next(stream)
    stream.close()
    (thread,) = during
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_a_slow_client_overflows_and_the_stream_ends(
    pocketbase_server: PocketBaseServer, manager: SessionManager, alice: TestUser
) -> None:
    relay = Relay(message_feeds(), queue_size=1)
    stream = open_stream(relay, session_of(manager, alice), "messages")
    try:
        assert next(stream).startswith(b"retry:")
        for text in ("one", "two", "three"):
            create(pocketbase_server, alice, "messages", text=text, user=alice.id)
        deadline = time.monotonic() + TIMEOUT
        while not stream._inbox.overflow and time.monotonic() < deadline:
            time.sleep(0.05)
        reader = Reader(stream)
        assert reader.wait_end() == "overflow"
    finally:
        stream.close()
    assert relay.active == 0


def test_a_stream_dropped_without_close_gives_its_slot_back(
    manager: SessionManager, alice: TestUser, caplog: pytest.LogCaptureFixture
) -> None:
    relay = Relay(message_feeds())
    before = {t for t in threading.enumerate() if t.name == "pb-ssr-realtime"}
    stream = open_stream(relay, session_of(manager, alice), "messages")
    (thread,) = {t for t in threading.enumerate() if t.name == "pb-ssr-realtime"} - before
    assert relay.active == 1
    del stream
    gc.collect()
    assert relay.active == 0
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert "dropped without close()" in caplog.text


@pytest.mark.anyio
async def test_an_async_stream_dropped_without_aclose_gives_its_slot_back(
    manager: SessionManager, alice: TestUser
) -> None:
    relay = Relay(message_feeds())
    stream = await aopen_stream(relay, session_of(manager, alice), "messages")
    reader_task = stream._pb.realtime._task
    assert reader_task is not None
    del stream
    gc.collect()
    assert relay.active == 0
    async with asyncio.timeout(TIMEOUT):
        await asyncio.wait({reader_task})
    assert reader_task.cancelled()


def test_heartbeat_comments_keep_the_stream_alive(manager: SessionManager, alice: TestUser) -> None:
    relay = Relay(message_feeds(), heartbeat=0.1, retry=1.5)
    reader = Reader(open_stream(relay, session_of(manager, alice), "messages"))
    try:
        reader.wait(lambda: reader.comments >= 2, "two heartbeats")
    finally:
        reader.stream.close()
        assert reader.wait_end() == ""
    assert reader.raw[0] == b"retry: 1500\n\n"
    assert b": ping\n\n" in reader.raw
    assert relay.active == 0


def test_tokens_never_show_in_reprs(manager: SessionManager, alice: TestUser) -> None:
    relay = Relay(message_feeds())
    stream = open_stream(relay, session_of(manager, alice), "messages")
    try:
        text = repr(stream) + repr(relay) + repr(stream._user)
        assert alice.token not in text
        assert alice.token.split(".")[2] not in text
    finally:
        stream.close()


# -- the async driver ----------------------------------------------------------------------


class AsyncReader:
    """Reads an async stream in a task, like an ASGI server."""

    def __init__(self, stream: AsyncStream) -> None:
        self.stream = stream
        self.raw: list[bytes] = []
        self.events: list[ServerSentEvent] = []
        self._decoder = SSEDecoder()
        self._changed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        buffer = ""
        try:
            async for chunk in self.stream:
                self.raw.append(chunk)
                buffer += chunk.decode()
                *lines, buffer = buffer.split("\n")
                for line in lines:
                    if (event := self._decoder.decode(line)) is not None:
                        self.events.append(event)
                self._changed.set()
        finally:
            self._changed.set()

    async def wait(self, ready: Callable[[], bool], what: str) -> None:
        async with asyncio.timeout(TIMEOUT):
            while not ready():
                if self.task.done():
                    pytest.fail(f"the stream ended before {what}: {self.events!r}")
                self._changed.clear()
                await self._changed.wait()

    async def wait_end(self) -> str:
        async with asyncio.timeout(TIMEOUT):
            await self.task
        ends = [e for e in self.events if e.event == "pb:end"]
        assert len(ends) <= 1, self.events
        if not ends:
            return ""
        assert self.events[-1] is ends[0], self.events
        return ends[0].data


async def aopen_stream(relay: Relay, session: Any, feeds: str) -> AsyncStream:
    result = await relay.aopen(session, feeds)
    assert isinstance(result, AsyncStream), result
    return result


@pytest.mark.anyio
async def test_async_events_and_rules(
    pocketbase_server: PocketBaseServer, manager: SessionManager, alice: TestUser, bob: TestUser
) -> None:
    relay = Relay(message_feeds())
    alice_reader = AsyncReader(await aopen_stream(relay, session_of(manager, alice), "notes"))
    bob_reader = AsyncReader(await aopen_stream(relay, session_of(manager, bob), "messages,notes"))
    assert relay.active == 2
    try:
        bobs = await asyncio.to_thread(
            create, pocketbase_server, bob, "private_notes", title="b", owner=bob.id
        )
        await bob_reader.wait(
            lambda: any(about("notes", "create", bobs["id"])(e) for e in bob_reader.events),
            "bob's note",
        )
        msg = await asyncio.to_thread(
            create, pocketbase_server, bob, "messages", text="async", user=bob.id
        )
        await bob_reader.wait(
            lambda: any(about("messages", "create", msg["id"])(e) for e in bob_reader.events),
            "bob's message",
        )
        alices = await asyncio.to_thread(
            create, pocketbase_server, alice, "private_notes", title="a", owner=alice.id
        )
        await alice_reader.wait(
            lambda: any(about("notes", "create", alices["id"])(e) for e in alice_reader.events),
            "alice's note",
        )
        # Alice follows notes only, and only her own reach her.
        assert [e.event for e in alice_reader.events] == ["notes"]
    finally:
        await alice_reader.stream.aclose()
        await bob_reader.stream.aclose()
    assert alice_reader.raw[0] == b"retry: 3000\n\n"
    assert relay.active == 0
    assert alice_reader.stream.ended == "closed"


@pytest.mark.anyio
async def test_async_sign_out_ends_the_stream(manager: SessionManager, alice: TestUser) -> None:
    relay = Relay(message_feeds(), recheck=0.2)
    reader = AsyncReader(await aopen_stream(relay, session_of(manager, alice), "messages"))
    await reader.wait(lambda: bool(reader.raw), "the retry hint")
    other = session_of(manager, alice)
    assert await other.auser() is not None
    other.logout()
    await other.afinalize()
    assert await reader.wait_end() == "signed-out"
    assert relay.active == 0


@pytest.mark.anyio
async def test_async_cap_is_released_by_aclose_and_by_cancellation(
    manager: SessionManager, alice: TestUser
) -> None:
    relay = Relay(message_feeds(), max_streams=1, heartbeat=0.1)
    first = await aopen_stream(relay, session_of(manager, alice), "messages")
    busy = await relay.aopen(session_of(manager, alice), "messages")
    assert isinstance(busy, Refusal) and (busy.status, busy.reason) == (503, "busy")
    await first.aclose()  # never iterated
    assert relay.active == 0

    # A client disconnect under ASGI cancels the task that iterates the body.
    second = await aopen_stream(relay, session_of(manager, alice), "messages")
    reader = AsyncReader(second)
    await reader.wait(lambda: len(reader.raw) >= 2, "a heartbeat")
    reader.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader.task
    assert relay.active == 0
    assert second.ended == "closed"
    third = await aopen_stream(relay, session_of(manager, alice), "messages")
    await third.aclose()
    assert relay.active == 0


@pytest.mark.anyio
async def test_async_render_may_be_a_coroutine(
    pocketbase_server: PocketBaseServer, manager: SessionManager, alice: TestUser
) -> None:
    async def render(action: str, record: Any) -> str:
        await asyncio.sleep(0)
        return f'<li id="msg-{record.id}">{action}</li>'

    relay = Relay(message_feeds(render=render))
    reader = AsyncReader(await aopen_stream(relay, session_of(manager, alice), "messages"))
    try:
        msg = await asyncio.to_thread(
            create, pocketbase_server, alice, "messages", text="x", user=alice.id
        )
        await reader.wait(
            lambda: bool([e for e in reader.events if e.event == "messages"]), "the fragment"
        )
    finally:
        await reader.stream.aclose()
    event = next(e for e in reader.events if e.event == "messages")
    assert data_of(event) == {
        "action": "create",
        "id": msg["id"],
        "html": f'<li id="msg-{msg["id"]}">create</li>',
    }


def test_live_js_ships_inside_the_package() -> None:
    from importlib.resources import files

    script = files("pb_ssr").joinpath("static/pb_ssr/live.js").read_text()
    assert len(script.splitlines()) < 100
    assert "new EventSource(" in script and '"pb:end"' in script
