"""Realtime subscriptions over PocketBase's server-sent events endpoint.

The protocol (PocketBase ``apis/realtime.go``, the JS SDK's ``RealtimeService``):

1. ``GET /api/realtime`` opens an SSE stream. Its first event is ``PB_CONNECT``
   with ``{"clientId": ...}``.
2. ``POST /api/realtime {"clientId", "subscriptions": [...]}`` *replaces* the
   whole topic set of that client. The auth of this request is pinned to the
   client, and PocketBase filters every event by the topic's API rule under it.
3. Each event's SSE name is the subscribed topic string, options included;
   its data is ``{"action", "record"}``.

PocketBase closes idle streams after 5 minutes and every stream after 30, so
both services reconnect with a backoff and post the whole topic set again
under the new client id. Events fired while reconnecting are lost.

:class:`RealtimeService` reads the stream on a daemon thread,
:class:`AsyncRealtimeService` on a task of the running event loop. The SSE
decoding and the listener bookkeeping below do no I/O and are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ._base import RequestSpec
from ._errors import ClientResponseError
from ._pool import async_pool, sync_pool

if TYPE_CHECKING:
    from ._client import AsyncPocketBase, PocketBase

__all__ = ["AsyncRealtimeService", "Listener", "RealtimeService", "SSEDecoder", "ServerSentEvent"]

logger = logging.getLogger("pb_ssr.realtime")

#: ``listener(topic, data)``: called with the topic and the event's decoded JSON.
Listener = Callable[[str, Any], Any]

_PATH = "/api/realtime"
_CONNECT_EVENT = "PB_CONNECT"


# -- SSE decoding (no I/O) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One decoded server-sent event."""

    #: The event name (``event:`` field), ``"message"`` when none was given.
    event: str = "message"
    #: The ``data:`` lines joined with ``"\n"``.
    data: str = ""
    #: The last event id seen on the stream (``id:`` field).
    id: str = ""


class SSEDecoder:
    """Turn the lines of a ``text/event-stream`` body into :class:`ServerSentEvent`.

    Feed it every line, without its line ending; a blank line completes an
    event (WHATWG HTML, "Interpreting an event stream")::

        decoder = SSEDecoder()
        for line in response.iter_lines():
            if (event := decoder.decode(line)) is not None:
                ...
    """

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id = ""

    def decode(self, line: str) -> ServerSentEvent | None:
        """Consume one line; return the event it completes, if any."""
        if not line:
            event = None
            # The spec dispatches nothing for a block without data lines.
            if self._data:
                event = ServerSentEvent(
                    event=self._event or "message", data="\n".join(self._data), id=self._id
                )
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        name, _, value = line.partition(":")
        # The spec strips exactly one space after the colon; PocketBase writes none.
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


# -- listener bookkeeping (no I/O) ----------------------------------------------


@dataclass(eq=False, slots=True)
class _Registration:
    topic: str
    listener: Listener


@dataclass(slots=True)
class _Topics:
    """topic -> its registrations, in subscription order."""

    by_topic: dict[str, list[_Registration]] = field(default_factory=dict)

    def add(self, registration: _Registration) -> None:
        self.by_topic.setdefault(registration.topic, []).append(registration)

    def remove(self, registration: _Registration) -> bool:
        """Drop one registration; return whether that emptied (and removed) its topic."""
        registrations = self.by_topic.get(registration.topic)
        if registrations is None or registration not in registrations:
            return False
        registrations.remove(registration)
        if registrations:
            return False
        del self.by_topic[registration.topic]
        return True

    def remove_prefix(self, prefix: str) -> bool:
        """Drop every topic starting with *prefix*; return whether any was dropped."""
        doomed = [topic for topic in self.by_topic if topic.startswith(prefix)]
        for topic in doomed:
            del self.by_topic[topic]
        return bool(doomed)

    def remove_topic(self, topic: str) -> bool:
        """Drop *topic* and its option variants (``topic?options=...``), nothing else."""
        doomed = [t for t in self.by_topic if t == topic or t.startswith(topic + "?")]
        for name in doomed:
            del self.by_topic[name]
        return bool(doomed)

    def listeners(self, topic: str) -> list[Listener]:
        return [r.listener for r in self.by_topic.get(topic, ())]

    def names(self) -> list[str]:
        return list(self.by_topic)


def _decode_data(data: str) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data


def _call_listener(listener: Listener, topic: str, data: Any) -> Any:
    """Call one listener; log (never raise) what it raises so the reader lives on."""
    try:
        return listener(topic, data)
    except Exception:
        logger.exception("A realtime listener of topic %r raised.", topic)
        return None


def _stream_spec(client: PocketBase | AsyncPocketBase, read_timeout: float | None) -> RequestSpec:
    # Built through the client so it carries the same default headers as the
    # subscribe POST: PocketBase binds a realtime client to the *real IP* of its
    # connect request and rejects a subscribe from another one with 400
    # "Invalid realtime client." (the forwarded X-Forwarded-For must match).
    t = client.timeout
    return RequestSpec(
        "GET",
        _PATH,
        headers={"Accept": "text/event-stream", "Cache-Control": "no-store"},
        timeout=httpx.Timeout(read_timeout, connect=t.connect, write=t.write, pool=t.pool),
    )


async def _http_error(request: httpx.Request, response: httpx.Response) -> ClientResponseError:
    await response.aread()
    return _status_error(request, response)


def _status_error(request: httpx.Request, response: httpx.Response) -> ClientResponseError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    return ClientResponseError(
        url=str(request.url),
        status=response.status_code,
        response=body if isinstance(body, dict) else {},
    )


def _is_gone(exc: ClientResponseError) -> bool:
    # 404 "Missing or invalid client id.": the server already dropped our
    # connection (idle timeout, restart); the reader reconnects and re-posts.
    return exc.status == 404


class _RealtimeBase:
    """Configuration and state shared by the sync and async services (no I/O)."""

    #: Seconds :meth:`subscribe` waits for the connection and the subscribe POST.
    connect_timeout: ClassVar[float] = 10.0
    #: Read timeout of the event stream, in seconds. PocketBase sends nothing
    #: between events (no keep-alive) but ends a stream idle for 5 minutes, so a
    #: longer silence means a dead connection (a vanished host, a NAT that
    #: forgot us): drop it and reconnect. ``None`` waits forever; raise it if a
    #: ``OnRealtimeConnectRequest`` hook lengthens PocketBase's idle timeout.
    read_timeout: ClassVar[float | None] = 330.0
    #: Delays between reconnect attempts; the last one repeats for as long as
    #: topics remain. A successful connection starts the list again.
    reconnect_delays: ClassVar[tuple[float, ...]] = (0.2, 0.5, 1.0, 2.0, 5.0)

    def __init__(self) -> None:
        self._topics = _Topics()
        self._client_id = ""
        # (client id, topic set) the server last accepted; skips redundant POSTs.
        self._posted: tuple[str, frozenset[str]] | None = None
        # Failed connection attempts so far; a waiting subscribe watches it.
        self._failures = 0
        self._last_error: ClientResponseError | None = None

    @property
    def client_id(self) -> str:
        """The id PocketBase gave the current connection, ``""`` when disconnected."""
        return self._client_id

    @property
    def is_connected(self) -> bool:
        """Whether the event stream is open (``PB_CONNECT`` received)."""
        return bool(self._client_id)

    @property
    def topics(self) -> list[str]:
        """The subscribed topics, in subscription order."""
        return self._topics.names()

    def _delays(self) -> Iterator[float]:
        yield from self.reconnect_delays[:-1]
        while True:
            yield self.reconnect_delays[-1]

    def _timeout_error(self, url: str) -> ClientResponseError:
        return ClientResponseError(
            url=url,
            status=0,
            is_abort=True,
            response={
                "message": (
                    f"The realtime connection was not ready within {self.connect_timeout} s; "
                    "check that PocketBase is reachable, or raise connect_timeout."
                )
            },
        )

    def _as_error(self, url: str, exc: BaseException) -> ClientResponseError:
        if isinstance(exc, ClientResponseError):
            return exc
        return ClientResponseError(
            url=url, status=0, is_abort=isinstance(exc, httpx.TimeoutException), original_error=exc
        )

    def __repr__(self) -> str:
        state = "connected" if self._client_id else "disconnected"
        return f"<{type(self).__name__} {state} topics={len(self._topics.by_topic)}>"


# -- sync -----------------------------------------------------------------------


@dataclass(eq=False)
class _SyncConnection:
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    response: httpx.Response | None = None


class RealtimeService(_RealtimeBase):
    """The realtime (SSE) subscriptions of a :class:`~pb_ssr.PocketBase` client.

    The first :meth:`subscribe` opens the event stream on a daemon thread;
    listeners run on that thread, so keep them short and thread-safe. The
    stream closes when the last topic is unsubscribed or the client is closed.
    Usually reached through ``pb.collection(name).subscribe(...)``.

    The stream request carries the client's ``headers`` and passes its
    ``before_send`` hook like every other request: PocketBase only accepts a
    subscribe from the address that connected, so a forwarded client address
    must be the same on both. PocketBase also pins the auth of the first
    subscribe to the connection; a later one as another user (or as a guest)
    gets a 403, so :meth:`close` and subscribe again after a login change.

    :param client: the owning client.

    Example::

        pb = PocketBase("http://127.0.0.1:8090")
        unsubscribe = pb.realtime.subscribe("messages/*", lambda topic, data: print(data))
        ...
        unsubscribe()
    """

    #: Seconds :meth:`close` waits for the reader thread to end.
    join_timeout: ClassVar[float] = 5.0

    def __init__(self, client: PocketBase) -> None:
        super().__init__()
        self.client = client
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._post_lock = threading.Lock()
        self._conn: _SyncConnection | None = None

    # -- public API ---------------------------------------------------------------

    @property
    def topics(self) -> list[str]:
        """The subscribed topics, in subscription order."""
        with self._lock:
            return self._topics.names()

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(topic, data)`` for every event of *topic*.

        Returns once PocketBase has accepted the subscription: the first call
        connects and waits up to :attr:`connect_timeout` seconds.

        :param topic: e.g. ``"messages/*"``, ``"messages/RECORD_ID"``, with an
            optional ``?options=`` suffix. ``"PB_CONNECT"`` is called with
            ``{"clientId": ...}`` after each (re)connection has been subscribed:
            events fired while reconnecting are lost, so reload what matters.
        :param listener: receives the topic and the decoded event data. What it
            raises is logged to ``pb_ssr.realtime`` and ignored.
        :returns: a function that removes this listener again.
        :raises ClientResponseError: when connecting or subscribing fails; the
            listener is then not registered.
        """
        if not topic:
            raise ValueError("Give a topic, e.g. 'messages/*'.")
        registration = _Registration(topic, listener)
        with self._lock:
            self._topics.add(registration)
            baseline = self._failures
            self._ensure_reader()
        try:
            self._wait_subscribed(baseline)
        except BaseException:
            with self._lock:
                emptied = self._topics.remove(registration)
            self._after_removal(emptied, quiet=True)
            raise

        def unsubscribe() -> None:
            with self._lock:
                emptied = self._topics.remove(registration)
            self._after_removal(emptied)

        return unsubscribe

    def unsubscribe_by_prefix(self, prefix: str) -> None:
        """Remove every topic starting with *prefix*, with all its listeners.

        The connection closes when no topic remains.
        """
        with self._lock:
            emptied = self._topics.remove_prefix(prefix)
        self._after_removal(emptied)

    def unsubscribe(self, topic: str) -> None:
        """Remove *topic* (with any ``?options=`` variants) and all its listeners."""
        with self._lock:
            emptied = self._topics.remove_topic(topic)
        self._after_removal(emptied)

    def close(self) -> None:
        """Drop every subscription and stop the reader thread. Safe to call twice."""
        with self._lock:
            self._topics.by_topic.clear()
        self._disconnect()

    # -- internals ------------------------------------------------------------------

    def _ensure_reader(self) -> None:
        # Called with self._lock held.
        if self._conn is not None:
            return
        conn = _SyncConnection()
        conn.thread = threading.Thread(
            target=self._run, args=(conn,), name="pb-ssr-realtime", daemon=True
        )
        self._conn = conn
        conn.thread.start()

    def _wait_subscribed(self, baseline: int) -> None:
        url = self.client.build_url(_PATH)
        deadline = time.monotonic() + self.connect_timeout
        while True:
            with self._lock:
                while True:
                    if self._failures != baseline and self._last_error is not None:
                        raise self._last_error
                    if self._client_id:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise self._timeout_error(url)
                    self._changed.wait(remaining)
            if self._submit():
                return
            # The server forgot this client id: wait for the reader to reconnect.
            with self._lock:
                self._changed.wait(max(0.0, min(0.2, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                raise self._timeout_error(url)

    def _submit(self) -> bool:
        """Post the topic set unless the server already has it; False if not connected."""
        with self._post_lock:
            with self._lock:
                client_id = self._client_id
                topics = self._topics.names()
            if not client_id:
                return False
            if self._posted == (client_id, frozenset(topics)):
                return True
            spec = RequestSpec("POST", _PATH, body={"clientId": client_id, "subscriptions": topics})
            try:
                self.client._send(spec)
            except ClientResponseError as exc:
                if exc.status == 0:
                    self._posted = None  # did it arrive? Post again next time.
                if _is_gone(exc):
                    return False
                raise
            self._posted = (client_id, frozenset(topics))
            return True

    def _after_removal(self, emptied: bool, *, quiet: bool = False) -> None:
        with self._lock:
            empty = not self._topics.by_topic
        if empty:
            self._disconnect()
        elif emptied:
            try:
                self._submit()
            except ClientResponseError as exc:
                # The listener is gone locally either way; a topic the server
                # still sends is dropped on arrival and forgotten on reconnect.
                if not quiet:
                    logger.warning("Could not shrink the realtime subscriptions: %s", exc)

    def _disconnect(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            self._client_id = ""
            self._posted = None
            if conn is None:
                return
            conn.stop.set()
            self._interrupt(conn)
            self._changed.notify_all()
        thread = conn.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.join_timeout)

    @staticmethod
    def _interrupt(conn: _SyncConnection) -> None:
        # Closing an httpx response from another thread does not wake a reader
        # blocked in recv(); shutting the socket down does (it then sees EOF).
        response = conn.response
        if response is None:
            return
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            # Already closed by the reader or the peer: nothing to wake.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        else:
            response.close()

    def _run(self, conn: _SyncConnection) -> None:
        url = self.client.build_url(_PATH)
        delays = self._delays()
        while not conn.stop.is_set():
            error: ClientResponseError | None = None
            try:
                if self._read_stream(conn):
                    delays = self._delays()
            except Exception as exc:
                error = self._as_error(url, exc)
                if not isinstance(exc, httpx.HTTPError | ClientResponseError):
                    logger.exception("The realtime reader failed.")
            finally:
                with self._lock:
                    if self._conn is conn:
                        self._client_id = ""
                        if error is not None:
                            self._failures += 1
                            self._last_error = error
                        self._changed.notify_all()
            if conn.stop.is_set():
                break
            delay = next(delays)
            if error is not None:
                logger.warning("Realtime connection failed (%s); retrying in %s s.", error, delay)
            else:
                logger.info("Realtime stream ended; reconnecting in %s s.", delay)
            if conn.stop.wait(delay):
                break

    def _read_stream(self, conn: _SyncConnection) -> bool:
        """Read one connection to its end; return whether it got subscribed."""
        client = self.client
        http = client._http if client._http is not None else sync_pool()
        request = client._build_request(http, _stream_spec(client, self.read_timeout))
        if client.before_send is not None:
            replaced = client.before_send(request)
            if inspect.isawaitable(replaced):
                raise TypeError("A coroutine before_send hook needs AsyncPocketBase.")
            if replaced is not None:
                request = replaced
        response = http.send(request, stream=True)
        subscribed = False
        try:
            with self._lock:
                conn.response = response
            if conn.stop.is_set():
                return False
            if response.status_code != 200:
                response.read()
                raise _status_error(request, response)
            decoder = SSEDecoder()
            for line in response.iter_lines():
                event = decoder.decode(line)
                if event is None:
                    continue
                if event.event == _CONNECT_EVENT:
                    data = _decode_data(event.data)
                    client_id = data.get("clientId") if isinstance(data, dict) else None
                    with self._lock:
                        if self._conn is not conn:
                            return subscribed
                        self._client_id = str(client_id or event.id)
                        self._changed.notify_all()
                    subscribed = self._submit()
                self._dispatch(event)
                if conn.stop.is_set():
                    break
        finally:
            with self._lock:
                conn.response = None
            response.close()
        return subscribed

    def _dispatch(self, event: ServerSentEvent) -> None:
        with self._lock:
            listeners = self._topics.listeners(event.event)
        if not listeners:
            return
        data = _decode_data(event.data)
        for listener in listeners:
            result = _call_listener(listener, event.event, data)
            if inspect.iscoroutine(result):
                result.close()
                logger.error(
                    "A realtime listener of topic %r is a coroutine function; "
                    "use AsyncPocketBase for async callbacks.",
                    event.event,
                )


# -- async ----------------------------------------------------------------------


class AsyncRealtimeService(_RealtimeBase):
    """The realtime (SSE) subscriptions of an :class:`~pb_ssr.AsyncPocketBase` client.

    The first :meth:`subscribe` starts a task on the running event loop that
    reads the event stream and calls the listeners; a listener may also return
    an awaitable, which the reader awaits before the next event. Usually
    reached through ``await pb.collection(name).subscribe(...)``. Headers,
    hooks and auth work as described for :class:`RealtimeService`.

    :param client: the owning client.

    Example::

        pb = AsyncPocketBase("http://127.0.0.1:8090")
        unsubscribe = await pb.realtime.subscribe("messages/*", on_message)
        ...
        await unsubscribe()
    """

    def __init__(self, client: AsyncPocketBase) -> None:
        super().__init__()
        self.client = client
        self._task: asyncio.Task[None] | None = None
        self._changed_event: asyncio.Event | None = None
        self._post_lock: asyncio.Lock | None = None

    # -- public API ---------------------------------------------------------------

    async def subscribe(self, topic: str, listener: Listener) -> Callable[[], Awaitable[None]]:
        """Call ``listener(topic, data)`` for every event of *topic*.

        Returns once PocketBase has accepted the subscription: the first call
        connects and waits up to :attr:`connect_timeout` seconds.

        :param topic: e.g. ``"messages/*"``, ``"messages/RECORD_ID"``, with an
            optional ``?options=`` suffix. ``"PB_CONNECT"`` is called with
            ``{"clientId": ...}`` after each (re)connection has been subscribed:
            events fired while reconnecting are lost, so reload what matters.
        :param listener: receives the topic and the decoded event data. What it
            raises is logged to ``pb_ssr.realtime`` and ignored.
        :returns: a coroutine function that removes this listener again.
        :raises ClientResponseError: when connecting or subscribing fails; the
            listener is then not registered.
        """
        if not topic:
            raise ValueError("Give a topic, e.g. 'messages/*'.")
        registration = _Registration(topic, listener)
        self._topics.add(registration)
        baseline = self._failures
        self._ensure_reader()
        try:
            await self._wait_subscribed(baseline)
        except BaseException:
            emptied = self._topics.remove(registration)
            await self._after_removal(emptied, quiet=True)
            raise

        async def unsubscribe() -> None:
            await self._after_removal(self._topics.remove(registration))

        return unsubscribe

    async def unsubscribe_by_prefix(self, prefix: str) -> None:
        """Remove every topic starting with *prefix*, with all its listeners.

        The connection closes when no topic remains.
        """
        await self._after_removal(self._topics.remove_prefix(prefix))

    async def unsubscribe(self, topic: str) -> None:
        """Remove *topic* (with any ``?options=`` variants) and all its listeners."""
        await self._after_removal(self._topics.remove_topic(topic))

    async def aclose(self) -> None:
        """Drop every subscription and stop the reader task. Safe to call twice."""
        self._topics.by_topic.clear()
        await self._disconnect()

    # -- internals ------------------------------------------------------------------

    def _notify(self) -> None:
        event, self._changed_event = self._changed_event, None
        if event is not None:
            event.set()

    async def _changed(self) -> None:
        if self._changed_event is None:
            self._changed_event = asyncio.Event()
        await self._changed_event.wait()

    def _ensure_reader(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="pb-ssr-realtime")

    async def _wait_subscribed(self, baseline: int) -> None:
        url = self.client.build_url(_PATH)
        try:
            async with asyncio.timeout(self.connect_timeout):
                while True:
                    while True:
                        if self._failures != baseline and self._last_error is not None:
                            raise self._last_error
                        if self._client_id:
                            break
                        await self._changed()
                    if await self._submit():
                        return
                    # The server forgot this client id: let the reader reconnect.
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise self._timeout_error(url) from None

    async def _submit(self) -> bool:
        """Post the topic set unless the server already has it; False if not connected."""
        if self._post_lock is None:
            self._post_lock = asyncio.Lock()
        async with self._post_lock:
            client_id = self._client_id
            topics = self._topics.names()
            if not client_id:
                return False
            if self._posted == (client_id, frozenset(topics)):
                return True
            spec = RequestSpec("POST", _PATH, body={"clientId": client_id, "subscriptions": topics})
            try:
                await self.client._send(spec)
            except ClientResponseError as exc:
                if exc.status == 0:
                    self._posted = None
                if _is_gone(exc):
                    return False
                raise
            self._posted = (client_id, frozenset(topics))
            return True

    async def _after_removal(self, emptied: bool, *, quiet: bool = False) -> None:
        if not self._topics.by_topic:
            await self._disconnect()
        elif emptied:
            try:
                await self._submit()
            except ClientResponseError as exc:
                if not quiet:
                    logger.warning("Could not shrink the realtime subscriptions: %s", exc)

    async def _disconnect(self) -> None:
        task, self._task = self._task, None
        self._client_id = ""
        self._posted = None
        self._notify()
        if task is None or task.done():
            return
        if task is asyncio.current_task():
            # A listener is unsubscribing from inside the reader: the reader sees
            # it is no longer self._task and returns after this event, rather than
            # being cancelled in the middle of the listener.
            return
        task.cancel()
        await asyncio.wait({task})

    async def _run(self) -> None:
        url = self.client.build_url(_PATH)
        task = asyncio.current_task()
        delays = self._delays()
        while True:
            error: ClientResponseError | None = None
            try:
                if await self._read_stream(task):
                    delays = self._delays()
            except asyncio.CancelledError:
                if self._task is task:
                    self._client_id = ""
                    self._notify()
                raise
            except Exception as exc:
                error = self._as_error(url, exc)
                if not isinstance(exc, httpx.HTTPError | ClientResponseError):
                    logger.exception("The realtime reader failed.")
            if self._task is not task:
                return
            self._client_id = ""
            if error is not None:
                self._failures += 1
                self._last_error = error
            self._notify()
            delay = next(delays)
            if error is not None:
                logger.warning("Realtime connection failed (%s); retrying in %s s.", error, delay)
            else:
                logger.info("Realtime stream ended; reconnecting in %s s.", delay)
            await asyncio.sleep(delay)

    async def _read_stream(self, task: asyncio.Task[Any] | None) -> bool:
        """Read one connection to its end; return whether it got subscribed."""
        client = self.client
        http = client._http if client._http is not None else async_pool()
        request = client._build_request(http, _stream_spec(client, self.read_timeout))
        if client.before_send is not None:
            replaced = client.before_send(request)
            if inspect.isawaitable(replaced):
                replaced = await replaced
            if replaced is not None:
                request = replaced
        response = await http.send(request, stream=True)
        subscribed = False
        try:
            if response.status_code != 200:
                raise await _http_error(request, response)
            decoder = SSEDecoder()
            async for line in response.aiter_lines():
                event = decoder.decode(line)
                if event is None:
                    continue
                if event.event == _CONNECT_EVENT:
                    if self._task is not task:
                        break
                    data = _decode_data(event.data)
                    client_id = data.get("clientId") if isinstance(data, dict) else None
                    self._client_id = str(client_id or event.id)
                    self._notify()
                    subscribed = await self._submit()
                await self._dispatch(event)
                if self._task is not task:
                    break
        finally:
            await response.aclose()
        return subscribed

    async def _dispatch(self, event: ServerSentEvent) -> None:
        listeners = self._topics.listeners(event.event)
        if not listeners:
            return
        data = _decode_data(event.data)
        for listener in listeners:
            result = _call_listener(listener, event.event, data)
            if inspect.isawaitable(result):
                try:
                    await result
                except Exception:
                    logger.exception("A realtime listener of topic %r raised.", event.event)
