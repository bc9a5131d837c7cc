"""A small TCP proxy that puts network faults between an app and PocketBase.

Point the app's ``URL`` at :attr:`FaultProxy.url` and turn faults on and off
while a test runs: added latency, a black hole (connections accepted, nothing
answered), answers cut off after some bytes, refused connections. It knows
nothing of HTTP, so what the client sees is what a real network would show it.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

__all__ = ["FaultProxy"]

_CHUNK = 65536


class FaultProxy:
    """A loopback TCP proxy in front of *target* that adds faults on demand.

    Every fault is an attribute that may change at any time, also while
    requests are in flight; with none set, bytes pass through untouched::

        with PocketBaseServer() as server, FaultProxy(server.url) as proxy:
            pb = PocketBase(proxy.url)
            proxy.latency = 2.0          # every answer arrives 2 s late
            proxy.drop_after = 100       # answers are cut after 100 bytes
            proxy.blackhole = True       # nothing is answered at all
            proxy.refuse = True          # new connections are closed at once
            proxy.clear()                # back to a healthy network

    :param target: the upstream, a URL (``http://127.0.0.1:8090``) or ``host:port``.
    :param host: the loopback address to listen on (a free port is chosen).
    """

    def __init__(self, target: str, *, host: str = "127.0.0.1") -> None:
        parts = urlsplit(target if "//" in target else f"//{target}")
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"target {target!r} needs a host and a port.")
        self.target = (parts.hostname, parts.port)
        self.host = host
        #: Seconds to hold each chunk of an answer before passing it on (read
        #: while holding: lowering it releases held chunks sooner).
        self.latency = 0.0
        #: Pass nothing on in either direction (held until it is turned off, as
        #: TCP would resend it): requests go unanswered.
        self.blackhole = False
        #: Reset each connection once this many answer bytes went through.
        self.drop_after: int | None = None
        self._refuse = False
        #: Connections accepted so far.
        self.connections = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    @property
    def refuse(self) -> bool:
        """Reset connections as soon as they are accepted, as a stopped PocketBase would.

        Turning it on also cuts the connections already open (kept-alive ones too).
        """
        return self._refuse

    @refuse.setter
    def refuse(self, value: bool) -> None:
        self._refuse = value
        if value:
            self.reset_connections()

    @property
    def port(self) -> int:
        """The port the proxy listens on (after :meth:`start`)."""
        if self._listener is None:
            raise RuntimeError("The proxy is not started; call start() first.")
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        """The proxy's address as a base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.port}"

    def clear(self) -> None:
        """Turn every fault off."""
        self.latency, self.blackhole, self.drop_after, self._refuse = 0.0, False, None, False

    def start(self) -> None:
        """Listen on a free loopback port and serve on a daemon thread."""
        if self._listener is not None:
            return
        listener = socket.create_server((self.host, 0))
        self._listener = listener
        self._closed.clear()
        threading.Thread(target=self._accept, name="pb-fault-proxy", daemon=True).start()

    def close(self) -> None:
        """Stop listening and cut every open connection."""
        self._closed.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)

    def reset_connections(self) -> None:
        """Cut every open connection now (a PocketBase crash, seen from the app)."""
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _reset(sock)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.url if self._listener is not None else "not started"
        return f"<FaultProxy {where} -> {self.target[0]}:{self.target[1]}>"

    # -- the pumps --------------------------------------------------------------------

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._closed.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            if self._refuse:
                _reset(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        self._track(upstream)
        threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
        self._pump(upstream, client, True)

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                # Held, not dropped, while the black hole lasts: TCP would resend
                # it, so it arrives once the path heals.
                while self.blackhole and not self._closed.is_set():
                    time.sleep(0.01)
                if answers:
                    # Held until `latency` after arrival, read afresh: lowering
                    # it releases what is held, like a network that got better.
                    arrived = time.monotonic()
                    while time.monotonic() - arrived < self.latency:
                        time.sleep(0.01)
                    limit = self.drop_after
                    if limit is not None and sent + len(data) >= limit:
                        sink.sendall(data[: max(0, limit - sent)])
                        _reset(sink)
                        _reset(source)
                        return
                    sent += len(data)
                sink.sendall(data)
        except OSError:
            pass
        _close(sink)
        _close(source)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _reset(sock: socket.socket) -> None:
    # SO_LINGER with a zero timeout makes close() send RST: the peer sees a
    # connection reset, not a clean end of the answer.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # A pump thread blocked reading this socket keeps it alive past close(): shut
    # its reading side first so that the read returns and the RST goes out.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    sock.close()
