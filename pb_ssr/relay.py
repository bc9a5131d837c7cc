"""Relay a signed-in user's PocketBase realtime events to the browser as server-sent events.

The browser never holds the PocketBase token (it lives in an HttpOnly cookie) and
PocketBase stays private, so the app subscribes *as the user*, on the server, and
passes the events on. PocketBase filters every event by the topic's API rule under
the user's auth, exactly as it would for the user's own realtime connection.

What a browser may follow is declared by the app, by name (:class:`Feed`); the
browser only picks among those names (``?feeds=messages``) and can never open a
subscription of its own choosing. A :class:`Relay` holds the feeds and a
per-process cap on open streams. An adapter endpoint is a translation:

1. ``result = relay.open(session, request_args.get("feeds"))`` (WSGI, one thread
   per stream) or ``result = await relay.aopen(...)`` (ASGI, one task per stream);
2. a :class:`Refusal` becomes a plain response (``result.status``,
   ``result.message``, ``result.headers``: 400 unknown feed, 401 anonymous, 503 with
   ``Retry-After`` past the cap or while PocketBase is down);
3. a :class:`Stream` / :class:`AsyncStream` is an iterator of ``bytes``: the body of
   a streaming response with ``result.headers``. Closing it (the server does when
   the client goes away) releases its slot and its PocketBase connection.

The stream starts with a ``retry:`` hint, sends a ``: ping`` comment when nothing
else was sent for ``heartbeat`` seconds, and ends (after an ``event: pb:end``) when
the user signs out, when the token is refused at its next validation (the cached
verdict is reused for ``VALIDATE_TTL``), when the token expires, or when the
PocketBase connection drops (the browser's ``EventSource`` reconnects by itself).

Each event is sent as ``event: <feed name>`` with one JSON ``data:`` line: either
``{"action", "record"}`` or, for a feed with a ``render`` callable,
``{"action", "id", "html"}`` (``{"action": "delete", "id"}`` for a deletion). The
``live.js`` script shipped in ``pb_ssr/static/pb_ssr/`` applies the HTML form to
the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import inspect
import json
import logging
import os
import queue
import re
import threading
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Final, Literal

import httpx

from ._auth_store import AuthStore
from ._client import AsyncPocketBase, PocketBase
from ._errors import ClientResponseError
from ._forwarding import forward_headers
from ._pool import _ssl_context
from ._records import Record, to_record
from ._tokens import TokenClaims, read_auth_token
from ._urls import topic_with_options
from ._validation import Outcome, token_key

if TYPE_CHECKING:
    from ._session import RequestSession, SessionManager

__all__ = [
    "AsyncStream",
    "Feed",
    "Refusal",
    "Relay",
    "Render",
    "Stream",
    "live_script",
    "render_context",
    "sse_comment",
    "sse_event",
]

logger = logging.getLogger("pb_ssr.relay")

#: ``render(action, record) -> str``: the HTML of one record (``create``/``update``).
#: The async driver also awaits an awaitable result.
Render = Callable[[str, Record], str | Awaitable[str]]

#: Feed names: they travel as the SSE ``event:`` field and in a query parameter.
_FEED_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: A collection name or id, and a topic (``*`` or a record id).
_COLLECTION = re.compile(r"[A-Za-z0-9_]{1,100}")
_TOPIC = re.compile(r"\*|[A-Za-z0-9_-]{1,255}")
#: The longest ``feeds`` query value looked at.
_MAX_SELECTION = 1024
#: Line breaks as the SSE parser sees them.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: The event sent just before the relay ends a stream (not a valid feed name).
END_EVENT: Final = "pb:end"

#: Queued to wake a stream's reader; matches no feed.
_WAKE: Final = ("", None)

#: Why a stream ended (the ``data`` of the ``pb:end`` event).
EndReason = Literal["signed-out", "expired", "unavailable", "overflow", "closed"]

#: Headers of a stream response.
STREAM_HEADERS: Final[dict[str, str]] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    # Never cached or transformed (a compressing proxy would buffer the stream).
    "Cache-Control": "no-store, no-transform",
    # nginx: pass each chunk on at once instead of buffering the response.
    "X-Accel-Buffering": "no",
}


# -- declaring feeds (no I/O) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Feed:
    """One realtime subscription the app lets a page follow, by name.

    :param name: what the browser asks for (``?feeds=<name>``) and the SSE event
        name: letters, digits, ``_`` and ``-``, at most 64.
    :param collection: the collection name or id.
    :param topic: ``"*"`` for every record the user may list (the ``listRule``
        applies) or one record id (the ``viewRule`` applies).
    :param expand: relations to expand in each event's record.
    :param fields: the fields to send (keep ``id`` for the HTML form).
    :param filter: a PocketBase filter the events must also match.
    :param render: ``render(action, record) -> str``, the HTML of a created or
        updated record (the page's own template partial). Without it the events
        are sent as JSON ``{"action", "record"}``.

    Example::

        messages = Feed("messages", "messages", expand="user",
                        render=lambda action, record: f"<li id='msg-{record.id}'>...</li>")
    """

    name: str
    collection: str
    topic: str = "*"
    expand: str | Sequence[str] | None = None
    fields: str | Sequence[str] | None = None
    filter: str | None = None
    render: Render | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _FEED_NAME.fullmatch(self.name):
            raise ValueError(f"Feed name {self.name!r}: use 1-64 letters, digits, '_' or '-'.")
        if not isinstance(self.collection, str) or not _COLLECTION.fullmatch(self.collection):
            raise ValueError(f"Feed {self.name!r}: {self.collection!r} is not a collection name.")
        if not isinstance(self.topic, str) or not _TOPIC.fullmatch(self.topic):
            raise ValueError(f"Feed {self.name!r}: topic must be '*' or a record id.")

    @property
    def subscription(self) -> str:
        """The PocketBase topic, with the ``?options=`` suffix the JS SDK would add."""
        return topic_with_options(
            f"{self.collection}/{self.topic}",
            expand=self.expand,
            fields=self.fields,
            filter=self.filter,
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why no stream was opened: the adapter answers with a plain response.

    ``reason`` is one of ``unknown_feed`` (400), ``anonymous`` (401), ``forbidden``
    (403), ``busy`` (503, the per-process cap is reached) and ``unavailable`` (503,
    PocketBase could not confirm the session or take the subscription).
    """

    #: The HTTP status to answer with.
    status: int
    #: A stable, machine-readable reason.
    reason: str
    #: A short plain-text message, safe to show (it never repeats request input).
    message: str
    #: Seconds for ``Retry-After`` (503 only).
    retry_after: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The response headers: plain text, never stored, ``Retry-After`` on a 503."""
        headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


# -- what a render sees --------------------------------------------------------------------

_render_context: contextvars.ContextVar[Any] = contextvars.ContextVar("pb_ssr_relay_render")


def render_context() -> Any:
    """The ``context`` the stream was opened with, inside a feed's ``render``.

    The adapters pass the request, so a render can use the page's own partial with
    what differs per viewer (the signed-in user, a CSRF token): Django's
    ``render_to_string(..., request=render_context())``. ``None`` outside a render.
    """
    return _render_context.get(None)


@contextlib.contextmanager
def _rendering(context: Any) -> Iterator[None]:
    token = _render_context.set(context)
    try:
        yield
    finally:
        _render_context.reset(token)


# -- the browser's script ---------------------------------------------------------------


@functools.cache
def _script() -> tuple[bytes, str]:
    body = resources.files(__package__).joinpath("static/pb_ssr/live.js").read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def live_script(if_none_match: str | None = None) -> tuple[int, bytes, dict[str, str]]:
    """``live.js`` as a response: ``(status, body, headers)``, for an adapter's route.

    The one copy shipped in ``pb_ssr/static/pb_ssr/``: no CDN, no build step. Sent
    with an ``ETag`` and cached for an hour; a matching *if_none_match* (the
    request's ``If-None-Match``) gets ``304`` and no body.
    """
    body, etag = _script()
    headers = {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=3600",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return 304, b"", headers
    return 200, body, headers


# -- SSE framing (no I/O) ------------------------------------------------------------------


def sse_event(event: str, data: str) -> bytes:
    """Frame one server-sent event: ``event:``, one ``data:`` line per line of *data*.

    Every line break of *data* (CR, LF or CRLF, as the browser's parser sees them)
    starts a new ``data:`` line, so no content can end the event early or add a
    field of its own; the browser joins the lines back with ``"\\n"``.

    :raises ValueError: when *event* holds a line break.
    """
    if _LINE_BREAK.search(event):
        raise ValueError("An SSE event name cannot hold a line break.")
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"event: {event}\n{lines}\n".encode()


def sse_comment(text: str = "") -> bytes:
    """Frame an SSE comment (``: text``), which the browser ignores: a keep-alive."""
    return f": {_LINE_BREAK.sub(' ', text)}\n\n".encode()


def _retry_hint(seconds: float) -> bytes:
    return f"retry: {max(0, round(seconds * 1000))}\n\n".encode()


def _dumps(value: Any) -> str:
    # One line: json.dumps escapes every control character inside strings.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


# -- the per-process cap --------------------------------------------------------------------


class _Slots:
    """A counter of open streams, shared by the sync and async drivers of one relay."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def acquire(self) -> _Slot | None:
        with self._lock:
            if self.used >= self.limit:
                return None
            self.used += 1
        return _Slot(self)

    def _release(self) -> None:
        with self._lock:
            self.used -= 1


class _Slot:
    """One stream's place under the cap; releasing it twice releases it once."""

    __slots__ = ("_lock", "_slots")

    def __init__(self, slots: _Slots) -> None:
        self._slots: _Slots | None = slots
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            slots, self._slots = self._slots, None
        if slots is not None:
            slots._release()

    @property
    def held(self) -> bool:
        return self._slots is not None


# -- the streams' own connections -------------------------------------------------------------


class _Pools:
    """The HTTP connections of a relay's streams, apart from the pages' shared pool.

    Each stream holds one connection to PocketBase for as long as it is open: in the
    process-wide pool, ``max_streams`` of them would starve every page request of a
    connection. Keep-alive is off (a stream's connection is never reused; its one
    subscribe POST opens and closes its own), so nothing idles in these pools.
    """

    def __init__(
        self,
        max_streams: int,
        http_client: httpx.Client | None,
        async_http_client: httpx.AsyncClient | None,
    ) -> None:
        # The stream plus its subscribe POST, with room to spare.
        self._limits = httpx.Limits(
            max_connections=2 * max_streams + 10, max_keepalive_connections=0
        )
        self._given = http_client
        self._given_async = async_http_client
        self._lock = threading.Lock()
        self._sync: tuple[int, httpx.Client] | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def sync(self) -> httpx.Client:
        if self._given is not None:
            return self._given
        with self._lock:
            # A forked worker (gunicorn's preload) must not share the parent's sockets.
            if self._sync is None or self._sync[0] != os.getpid():
                client = httpx.Client(verify=_ssl_context(), limits=self._limits, trust_env=False)
                self._sync = (os.getpid(), client)
            return self._sync[1]

    def async_(self) -> httpx.AsyncClient:
        if self._given_async is not None:
            return self._given_async
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.get(loop)
            if client is None or client.is_closed:
                # An asyncio connection belongs to the loop that opened it.
                client = httpx.AsyncClient(
                    verify=_ssl_context(), limits=self._limits, trust_env=False
                )
                self._async[loop] = client
            return client


# -- the relay ----------------------------------------------------------------------------


class Relay:
    """The feeds an app offers, the per-process cap, and the stream timings.

    Create one per process (at import or app start) and share it between requests.

    :param feeds: the :class:`Feed` objects pages may follow (names must be unique).
    :param max_streams: streams open at once in this process, sync and async
        together; past it :meth:`open` returns a 503 :class:`Refusal`.
    :param heartbeat: seconds of silence after which a ``: ping`` comment is sent,
        so proxies keep the connection open.
    :param retry: the reconnection delay the browser is told (``retry:``), seconds.
    :param recheck: how often, in seconds, an open stream looks at the session again:
        sign-out (the deny list) is seen within this; PocketBase is asked only when
        the cached verdict is older than ``VALIDATE_TTL``.
    :param retry_after: the ``Retry-After`` of a 503, seconds.
    :param queue_size: events buffered per stream for a slow client; past it the
        stream ends (the browser reconnects) rather than grow without bound.
    :param http_client: the ``httpx.Client`` the sync streams connect through
        (default: the relay's own, sized for ``max_streams``, never the pages' pool).
    :param async_http_client: the same for the async streams (default: the relay's
        own, one per event loop).

    Example::

        relay = Relay([Feed("messages", "messages", expand="user")], max_streams=100)
        result = relay.open(session, "messages")       # WSGI: one thread per stream
        result = await relay.aopen(session, "messages")  # ASGI: one task per stream
    """

    def __init__(
        self,
        feeds: Iterable[Feed],
        *,
        max_streams: int = 100,
        heartbeat: float = 15.0,
        retry: float = 3.0,
        recheck: float = 5.0,
        retry_after: int = 5,
        queue_size: int = 256,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.feeds: dict[str, Feed] = {}
        for feed in feeds:
            if not isinstance(feed, Feed):
                raise TypeError(f"Relay takes Feed objects, not {type(feed).__name__}.")
            if feed.name in self.feeds:
                raise ValueError(f"Two feeds are named {feed.name!r}.")
            self.feeds[feed.name] = feed
        if max_streams < 1:
            raise ValueError("max_streams must be at least 1.")
        if heartbeat <= 0 or recheck <= 0 or retry < 0 or queue_size < 1:
            raise ValueError("heartbeat and recheck must be > 0, retry >= 0, queue_size >= 1.")
        self.max_streams = max_streams
        self.heartbeat = float(heartbeat)
        self.retry = float(retry)
        self.recheck = float(recheck)
        self.retry_after = int(retry_after)
        self.queue_size = queue_size
        self._slots = _Slots(max_streams)
        self._pools = _Pools(max_streams, http_client, async_http_client)

    @property
    def active(self) -> int:
        """Streams open now (their slots are held)."""
        return self._slots.used

    # -- the steps before a stream -------------------------------------------------------

    def select(self, names: str | Sequence[str] | None) -> list[Feed] | Refusal:
        """Resolve the browser's ``feeds`` parameter (``"a,b"``) to declared feeds.

        :returns: the feeds, in declaration order, or a 400 :class:`Refusal` when the
            value is missing, too long or names a feed that was not declared.
        """
        if names is not None and not isinstance(names, str):
            names = ",".join(n for n in names if isinstance(n, str))
        if not names or len(names) > _MAX_SELECTION:
            return _refuse_feeds("Name the feeds to follow: ?feeds=name[,name].")
        wanted = {n.strip() for n in names.split(",") if n.strip()}
        if not wanted:
            return _refuse_feeds("Name the feeds to follow: ?feeds=name[,name].")
        if not wanted <= self.feeds.keys():
            return _refuse_feeds("Unknown feed name.")
        return [feed for name, feed in self.feeds.items() if name in wanted]

    def _busy(self) -> Refusal:
        return Refusal(503, "busy", "Too many live streams; try again shortly.", self.retry_after)

    def _unavailable(self) -> Refusal:
        return Refusal(
            503, "unavailable", "Live updates are unavailable right now.", self.retry_after
        )

    def _user(self, session: RequestSession, store: AuthStore) -> _User | Refusal:
        token = store.token
        claims = read_auth_token(token) if token else None
        if claims is None:
            return Refusal(401, "anonymous", "Sign in to follow live updates.")
        if not session.verified:
            # Kept through an outage (ON_BACKEND_ERROR = "keep"): PocketBase did not
            # confirm it now, and it would not take the subscription either.
            return self._unavailable()
        return _User(
            token=token,
            claims=claims,
            record=store.record,
            manager=session.manager,
            client_ip=session.client_ip,
            user_agent=session.user_agent,
        )

    def _refusal_for(self, exc: ClientResponseError) -> Refusal:
        if exc.status == 401:
            return Refusal(401, "anonymous", "Sign in to follow live updates.")
        if exc.status == 403:
            return Refusal(403, "forbidden", "This live feed is not available to you.")
        logger.warning("The relay could not subscribe (status=%s: %s).", exc.status, exc.message)
        return self._unavailable()

    # -- the two drivers -------------------------------------------------------------------

    def open(
        self, session: RequestSession, feeds: str | Sequence[str] | None, *, context: Any = None
    ) -> Stream | Refusal:
        """Open a stream for a WSGI server (the request's thread reads it).

        Checks the feed names, the session (:meth:`RequestSession.load`) and the cap,
        then subscribes as the user, from the user's address, before returning: any
        failure is a :class:`Refusal`, never a half-open stream.

        :param session: the request's session (its client address is forwarded).
        :param feeds: the ``feeds`` query value, e.g. ``"messages"``.
        :param context: what a feed's ``render`` needs to render for this viewer (the
            adapters pass the request): :func:`render_context` returns it while
            ``render`` runs, on the thread or task that reads the stream.
        """
        selected = self.select(feeds)
        if isinstance(selected, Refusal):
            return selected
        try:
            store = session.load()
        except ClientResponseError:  # PocketBaseUnavailable under ON_BACKEND_ERROR="raise"
            return self._unavailable()
        user = self._user(session, store)
        if isinstance(user, Refusal):
            return user
        slot = self._slots.acquire()
        if slot is None:
            return self._busy()
        try:
            stream = Stream(self, slot, user, selected, context)
        except BaseException:
            slot.release()
            raise
        try:
            stream._subscribe()
        except ClientResponseError as exc:
            stream.close()
            return self._refusal_for(exc)
        except BaseException:
            stream.close()
            raise
        return stream

    async def aopen(
        self, session: RequestSession, feeds: str | Sequence[str] | None, *, context: Any = None
    ) -> AsyncStream | Refusal:
        """Open a stream for an ASGI server: a task per stream, no thread.

        The async twin of :meth:`open` (:meth:`RequestSession.aload`).
        """
        selected = self.select(feeds)
        if isinstance(selected, Refusal):
            return selected
        try:
            store = await session.aload()
        except ClientResponseError:
            return self._unavailable()
        user = self._user(session, store)
        if isinstance(user, Refusal):
            return user
        slot = self._slots.acquire()
        if slot is None:
            return self._busy()
        try:
            stream = AsyncStream(self, slot, user, selected, context)
        except BaseException:
            slot.release()
            raise
        try:
            await stream._subscribe()
        except ClientResponseError as exc:
            await stream.aclose()
            return self._refusal_for(exc)
        except BaseException:
            await stream.aclose()
            raise
        return stream

    def __repr__(self) -> str:
        return f"<Relay feeds={sorted(self.feeds)} active={self.active}/{self.max_streams}>"


def _refuse_feeds(message: str) -> Refusal:
    return Refusal(400, "unknown_feed", message)


@dataclass(frozen=True, slots=True)
class _User:
    """Who a stream runs as: the token never appears in a repr."""

    token: str = field(repr=False)
    claims: TokenClaims
    record: Record | None = field(repr=False)
    manager: SessionManager = field(repr=False)
    client_ip: str | None = field(repr=False)
    user_agent: str | None = field(repr=False)

    @property
    def key(self) -> bytes:
        return token_key(self.token)

    @property
    def headers(self) -> dict[str, str]:
        """Who the end user is, for PocketBase: the same on connect and subscribe."""
        header = self.manager.settings.CLIENT_IP_HEADER
        return forward_headers(header, self.client_ip, self.user_agent)

    @property
    def token_hash(self) -> str:
        return self.key.hex()[:12]


# -- what both streams share (no I/O) ---------------------------------------------------


class _StreamBase:
    """Feeds by topic, deadlines, and turning a PocketBase event into SSE bytes."""

    def __init__(
        self, relay: Relay, slot: _Slot, user: _User, feeds: list[Feed], context: Any = None
    ) -> None:
        self.relay = relay
        #: What :func:`render_context` returns while this stream's renders run.
        self.context = context
        self._slot = slot
        self._user = user
        self.feeds = feeds
        self._by_topic: dict[str, list[Feed]] = {}
        for feed in feeds:
            self._by_topic.setdefault(feed.subscription, []).append(feed)
        #: The PocketBase connection the subscriptions were accepted on.
        self._client_id = ""
        #: Why the stream ended (``None`` while it runs).
        self.ended: EndReason | None = None
        now = time.monotonic()
        self._expires_at = now + user.claims.seconds_left()
        self._next_check = now + relay.recheck
        self._next_beat = now + relay.heartbeat

    #: The status of a stream response.
    status: Final = 200

    @property
    def headers(self) -> dict[str, str]:
        """The response headers of an SSE stream (``text/event-stream``, never cached)."""
        return dict(STREAM_HEADERS)

    def _wait(self) -> float:
        """Seconds until something is due."""
        due = min(self._next_beat, self._next_check, self._expires_at)
        return max(0.0, due - time.monotonic())

    def _event(self, feed: Feed, action: str, record: Record, html: str | None) -> bytes:
        if feed.render is None:
            payload: dict[str, Any] = {"action": action, "record": record}
        elif action == "delete":
            payload = {"action": action, "id": record.id}
        else:
            payload = {"action": action, "id": record.id, "html": html or ""}
        return sse_event(feed.name, _dumps(payload))

    @staticmethod
    def _decode(data: Any) -> tuple[str, Record]:
        data = data if isinstance(data, dict) else {}
        action = data.get("action")
        return (action if isinstance(action, str) else ""), to_record(data.get("record"))

    def _end(self, reason: EndReason) -> bytes:
        self.ended = reason
        if reason != "closed":
            logger.info("Relay stream ended: %s (token_hash=%s).", reason, self._user.token_hash)
        return sse_event(END_EVENT, reason)

    def _lifetime(self) -> float:
        return max(0.0, self._user.claims.seconds_left())

    def _wait_limit(self) -> float:
        return float(self._user.manager.settings.TIMEOUT) + 5.0

    def __repr__(self) -> str:
        state = self.ended or "open"
        return f"<{type(self).__name__} feeds={[f.name for f in self.feeds]} {state}>"


class _Inbox:
    """Takes the realtime reader's events for one stream; refers to nothing else.

    Called on the reader thread (sync) or task (async): it hands over and never
    blocks. A full queue (a client that does not read) marks the stream overflowed.
    """

    __slots__ = ("overflow", "queue")

    def __init__(self, events: queue.Queue[tuple[str, Any]] | asyncio.Queue[tuple[str, Any]]):
        self.queue = events
        self.overflow = False

    def __call__(self, topic: str, data: Any) -> None:
        try:
            self.queue.put_nowait((topic, data))
        except (queue.Full, asyncio.QueueFull):
            self.overflow = True


def _abandon(slot: _Slot, close: Callable[[], object]) -> None:
    """Clean up after a stream collected without being closed."""
    if slot.held:
        logger.warning("A relay stream was dropped without close(); releasing it.")
    slot.release()
    try:
        close()
    except Exception:
        logger.exception("Closing an abandoned relay stream failed.")


def _canceller(pb: AsyncPocketBase, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Stop an async client's realtime reader from any thread (no await possible)."""
    realtime = pb.realtime

    def cancel() -> None:
        task = realtime._task
        if task is not None and not task.done() and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)

    return cancel


def _verdict_reason(outcome: Outcome) -> EndReason | None:
    if outcome.status == "valid":
        return None
    if outcome.status == "rejected":
        return "signed-out"  # a sign-out (deny list) or PocketBase refused the token
    return "unavailable"


# -- sync: a thread per stream ----------------------------------------------------------


class Stream(_StreamBase):
    """An open relay stream for a WSGI server: iterate it for the response body.

    Made by :meth:`Relay.open`. Each ``next()`` blocks until an event, a heartbeat
    or a check is due; PocketBase's events arrive on the realtime reader thread of
    the stream's own client. :meth:`close` (which WSGI servers and Django call when
    the response ends or the client is gone) releases the slot and the connection.
    """

    def __init__(
        self, relay: Relay, slot: _Slot, user: _User, feeds: list[Feed], context: Any = None
    ) -> None:
        super().__init__(relay, slot, user, feeds, context)
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(relay.queue_size)
        self._inbox = _Inbox(self._queue)
        settings = user.manager.settings
        self._pb = PocketBase(
            settings.URL,
            http_client=relay._pools.sync(),
            auth_store=AuthStore(user.token, user.record),
            timeout=settings.http_timeout,
            headers=user.headers,
        )
        self._gen = self._run()
        self._closed = threading.Event()
        # A stream dropped without close() (an adapter bug) still gives its slot and
        # its connection back once collected: nothing the reader holds points here.
        self._finalizer = weakref.finalize(self, _abandon, self._slot, self._pb.realtime.close)

    def _subscribe(self) -> None:
        for topic in self._by_topic:
            self._pb.realtime.subscribe(topic, self._inbox)
        self._client_id = self._pb.realtime.client_id

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._gen)

    def _run(self) -> Generator[bytes, None, None]:
        try:
            yield _retry_hint(self.relay.retry)
            while True:
                try:
                    item = self._queue.get(timeout=self._wait())
                except queue.Empty:
                    item = None
                if self._closed.is_set():
                    return
                if self._inbox.overflow:
                    yield self._end("overflow")
                    return
                if item is not None:
                    chunks = self._frames(*item)
                    if chunks:
                        self._next_beat = time.monotonic() + self.relay.heartbeat
                        yield b"".join(chunks)
                reason = self._due()
                if reason is not None:
                    yield self._end(reason)
                    return
                if time.monotonic() >= self._next_beat:
                    self._next_beat = time.monotonic() + self.relay.heartbeat
                    yield sse_comment("ping")
        finally:
            self._shutdown()

    def _frames(self, topic: str, data: Any) -> list[bytes]:
        action, record = self._decode(data)
        chunks = []
        for feed in self._by_topic.get(topic, ()):
            html = None
            if feed.render is not None and action != "delete":
                try:
                    with _rendering(self.context):
                        rendered = feed.render(action, record)
                except Exception:
                    logger.exception("The render of feed %r raised; event skipped.", feed.name)
                    continue
                if not isinstance(rendered, str):
                    if inspect.iscoroutine(rendered):
                        rendered.close()
                    logger.error(
                        "The render of feed %r returned %s, not str (an async render "
                        "needs Relay.aopen); event skipped.",
                        feed.name,
                        type(rendered).__name__,
                    )
                    continue
                html = rendered
            chunks.append(self._event(feed, action, record, html))
        return chunks

    def _due(self) -> EndReason | None:
        now = time.monotonic()
        if now >= self._expires_at:
            return "expired"
        if now < self._next_check:
            return None
        self._next_check = now + self.relay.recheck
        if self._pb.realtime.client_id != self._client_id:
            return "unavailable"  # PocketBase dropped us (events may be lost)
        user = self._user
        validator = user.manager.validator
        try:
            known = validator.cached(user.key)
            if known is None:
                known = validator.run(
                    user.key, self._confirm, timeout=self._wait_limit(), lifetime=self._lifetime()
                )
        except Exception as exc:  # a store or a timeout: fail closed
            logger.warning("The relay could not check a session (%s).", type(exc).__name__)
            return "unavailable"
        return _verdict_reason(known)

    def _confirm(self) -> Outcome:
        user = self._user
        pb = user.manager.new_client(AuthStore(user.token), user.client_ip, user.user_agent)
        try:
            auth = pb.collection(user.claims.collection_id).auth_refresh()
        except ClientResponseError as exc:
            return Outcome.from_error(exc)
        return Outcome(status="valid", record=auth.record, new_token=auth.token)

    def _shutdown(self) -> None:
        self._closed.set()
        # Wake a reader blocked on the queue (closed from another thread).
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_WAKE)
        self._slot.release()
        if self.ended is None:
            self.ended = "closed"
        try:
            self._pb.realtime.close()
        except Exception:
            logger.exception("Closing a relay stream's realtime connection failed.")
        self._finalizer.detach()

    def close(self) -> None:
        """End the stream: release its slot and close its PocketBase connection.

        Safe to call twice, before the first ``next()`` and from another thread.
        """
        try:
            self._gen.close()
        except ValueError:
            pass  # running on another thread: it sees _closed at its next wake-up
        finally:
            self._shutdown()


# -- async: a task per stream ------------------------------------------------------------


class AsyncStream(_StreamBase):
    """An open relay stream for an ASGI server: ``async for`` it for the response body.

    Made by :meth:`Relay.aopen`. Events arrive on the realtime reader task of the
    stream's own async client, on the same event loop: no thread. :meth:`aclose`
    (or cancelling the task that iterates it) releases the slot and the connection.
    """

    def __init__(
        self, relay: Relay, slot: _Slot, user: _User, feeds: list[Feed], context: Any = None
    ) -> None:
        super().__init__(relay, slot, user, feeds, context)
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(relay.queue_size)
        self._inbox = _Inbox(self._queue)
        settings = user.manager.settings
        self._pb = AsyncPocketBase(
            settings.URL,
            http_client=relay._pools.async_(),
            auth_store=AuthStore(user.token, user.record),
            timeout=settings.http_timeout,
            headers=user.headers,
        )
        self._gen = self._run()
        self._closed = False
        self._finalizer = weakref.finalize(
            self, _abandon, self._slot, _canceller(self._pb, asyncio.get_running_loop())
        )

    async def _subscribe(self) -> None:
        for topic in self._by_topic:
            await self._pb.realtime.subscribe(topic, self._inbox)
        self._client_id = self._pb.realtime.client_id

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self._gen.__anext__()

    async def _run(self) -> AsyncGenerator[bytes, None]:
        try:
            yield _retry_hint(self.relay.retry)
            while True:
                item: tuple[str, Any] | None = None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._wait()):
                        item = await self._queue.get()
                if self._closed:
                    return
                if self._inbox.overflow:
                    yield self._end("overflow")
                    return
                if item is not None:
                    chunks = await self._frames(*item)
                    if chunks:
                        self._next_beat = time.monotonic() + self.relay.heartbeat
                        yield b"".join(chunks)
                reason = await self._due()
                if reason is not None:
                    yield self._end(reason)
                    return
                if time.monotonic() >= self._next_beat:
                    self._next_beat = time.monotonic() + self.relay.heartbeat
                    yield sse_comment("ping")
        finally:
            await self._shutdown()

    async def _frames(self, topic: str, data: Any) -> list[bytes]:
        action, record = self._decode(data)
        chunks = []
        for feed in self._by_topic.get(topic, ()):
            html = None
            if feed.render is not None and action != "delete":
                try:
                    with _rendering(self.context):
                        rendered: object = feed.render(action, record)
                        if inspect.isawaitable(rendered):
                            rendered = await rendered
                except Exception:
                    logger.exception("The render of feed %r raised; event skipped.", feed.name)
                    continue
                if not isinstance(rendered, str):
                    logger.error(
                        "The render of feed %r returned %s, not str; event skipped.",
                        feed.name,
                        type(rendered).__name__,
                    )
                    continue
                html = rendered
            chunks.append(self._event(feed, action, record, html))
        return chunks

    async def _due(self) -> EndReason | None:
        now = time.monotonic()
        if now >= self._expires_at:
            return "expired"
        if now < self._next_check:
            return None
        self._next_check = now + self.relay.recheck
        if self._pb.realtime.client_id != self._client_id:
            return "unavailable"
        user = self._user
        validator = user.manager.validator
        try:
            known = await validator.acached(user.key)
            if known is None:
                known = await validator.arun(
                    user.key, self._confirm, timeout=self._wait_limit(), lifetime=self._lifetime()
                )
        except Exception as exc:
            logger.warning("The relay could not check a session (%s).", type(exc).__name__)
            return "unavailable"
        return _verdict_reason(known)

    async def _confirm(self) -> Outcome:
        user = self._user
        pb = user.manager.new_async_client(AuthStore(user.token), user.client_ip, user.user_agent)
        try:
            auth = await pb.collection(user.claims.collection_id).auth_refresh()
        except ClientResponseError as exc:
            return Outcome.from_error(exc)
        return Outcome(status="valid", record=auth.record, new_token=auth.token)

    async def _shutdown(self) -> None:
        # The slot first: nothing below may keep it (a second cancellation, say).
        self._slot.release()
        if self.ended is None:
            self.ended = "closed"
        self._finalizer.detach()
        try:
            await self._pb.realtime.aclose()
        except Exception:
            logger.exception("Closing a relay stream's realtime connection failed.")

    async def body(self) -> AsyncIterator[bytes]:
        """The stream as a response body that closes it however it ends.

        For frameworks that close only their own wrapper of a body (Django's
        ``StreamingHttpResponse``): ends with :meth:`aclose`, also when cancelled.
        """
        try:
            async for chunk in self:
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """End the stream: release its slot and close its PocketBase connection.

        Safe to call twice and before the first ``__anext__``.
        """
        if getattr(self._gen, "ag_running", False):
            # Another task is inside __anext__ (waiting for an event): wake it; it
            # sees the stream closed and ends.
            self._closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_WAKE)
            await self._shutdown()
            return
        try:
            await self._gen.aclose()
        finally:
            await self._shutdown()
