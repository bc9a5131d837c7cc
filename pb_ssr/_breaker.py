"""One circuit breaker per PocketBase URL, shared by every client in the process.

A hung PocketBase (a stuck disk, a long SQLite lock, a paused VM) answers
nothing, so every call waits for its whole timeout and a thread-pool server
runs out of threads. The breaker counts consecutive failures (no answer, or a
proxy's 502/503/504) and, past ``failure_threshold``, *opens*: calls then fail
at once with :class:`~pb_ssr.PocketBaseUnavailable` instead of each waiting.
After ``cooldown`` seconds one call is let through (*half-open*); an answer
closes the breaker, a failure opens it again::

    closed --N failures--> open --cooldown--> half-open --answer--> closed
                            ^                      |
                            +------failure---------+

Any answer at all counts as success, a 404 or a 500 included: PocketBase is
there. Sync and async clients share the state (no ``await`` happens under its
lock), and every transition is logged once on ``pb_ssr.breaker``.

A hung PocketBase is found sooner than ``TIMEOUT``: the shared sync pool reads
plain-http answers in slices (:class:`WatchedBackend`), and a call that has had
no answer for ``stall_after`` seconds while PocketBase answered nobody else
either counts as a failure; once the breaker is open, the calls still waiting
give up at their next slice. So worker threads are freed after about
``stall_after`` seconds instead of each one's whole timeout.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final, Literal
from urllib.parse import urlsplit

import httpcore

from ._errors import PocketBaseUnavailable

__all__ = ["CircuitBreaker", "WatchedBackend", "breaker_for", "reset_breakers"]

logger = logging.getLogger("pb_ssr.breaker")

BreakerState = Literal["closed", "open", "half_open"]

#: Statuses that mean "nobody answered behind the proxy": counted as failures.
GATEWAY_FAILURES: Final = frozenset({502, 503, 504})
#: How long a half-open probe may stay unreported before another call may probe.
PROBE_LEASE: Final = 60.0


class CircuitBreaker:
    """The circuit breaker of one PocketBase URL. Get it with :func:`breaker_for`.

    :param url: the PocketBase base URL it guards (for messages and logs).
    :param failure_threshold: consecutive failures that open it; ``0`` turns it off.
    :param cooldown: seconds it stays open before one probe call is let through.
    :param stall_after: seconds without any answer after which a waiting call
        counts as a failure (shared sync pool, plain http); ``0`` turns it off.
    :param clock: a monotonic clock (a seam for tests).

    Example::

        breaker = breaker_for("http://127.0.0.1:8090")
        if breaker.state == "open":
            ...  # PocketBase is known to be down: show the cached page instead
    """

    def __init__(
        self,
        url: str,
        *,
        failure_threshold: int = 5,
        cooldown: float = 0.5,
        stall_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.stall_after = stall_after
        self._clock = clock
        #: When PocketBase last answered anybody (``clock`` time).
        self.last_answer = clock()
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._down_since = 0.0
        self._probe_at: float | None = None

    def _current(self) -> BreakerState:
        return self._state

    @property
    def state(self) -> BreakerState:
        """``"closed"`` (calls go through), ``"open"`` (they fail fast) or ``"half_open"``.

        An open breaker whose cool-down is over reports ``"half_open"``: the next
        call is the probe.
        """
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.cooldown:
                return "half_open"
            return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures seen since the last answer."""
        return self._failures

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        with self._lock:
            if self._state != "open":
                return 0.0
            return max(0.0, self.cooldown - (self._clock() - self._opened_at))

    def configure(
        self, *, failure_threshold: int, cooldown: float, stall_after: float | None = None
    ) -> None:
        """Change the thresholds (a :class:`~pb_ssr.SessionManager` applies ``BREAKER_*``)."""
        with self._lock:
            self.failure_threshold = failure_threshold
            self.cooldown = cooldown
            if stall_after is not None:
                self.stall_after = stall_after

    def is_closed(self) -> bool:
        """True while calls go through normally (lock-free)."""
        return self._state == "closed"

    def is_open(self) -> bool:
        """True while calls fail fast (lock-free: the read watch asks it often)."""
        return self._state == "open"

    def allow(self) -> bool:
        """Return whether a call may go out now; ``False`` means fail fast.

        When the cool-down is over, the first caller gets ``True`` and becomes the
        probe; the others keep failing fast until it reports.
        """
        if self._state == "closed":  # the hot path: no lock
            return True
        with self._lock:
            now, state = self._clock(), self._current()
            if state == "closed":  # closed by another thread meanwhile
                return True
            if state == "open" and now - self._opened_at < self.cooldown:
                return False
            if self._probe_at is not None and now - self._probe_at < PROBE_LEASE:
                return False
            self._state, self._probe_at = "half_open", now
        logger.info("PocketBase at %s: circuit half-open, sending one probe call.", self.url)
        return True

    def record_success(self) -> None:
        """An answer arrived: reset the count and close the breaker."""
        self.last_answer = self._clock()
        if self._state == "closed" and not self._failures:  # the hot path: no lock
            return
        with self._lock:
            was, down_for = self._state, self._clock() - self._down_since
            self._state, self._failures, self._probe_at = "closed", 0, None
        if was != "closed":
            logger.warning(
                "PocketBase at %s answers again: circuit closed after %.1f s.", self.url, down_for
            )

    def record_failure(self, reason: str = "") -> None:
        """No answer (or a gateway error): count it; open at the threshold or after a probe."""
        with self._lock:
            self._failures += 1
            if self.failure_threshold <= 0:
                return
            if self._state == "half_open" or (
                self._state == "closed" and self._failures >= self.failure_threshold
            ):
                if self._state == "closed":
                    self._down_since = self._clock()
                self._state, self._opened_at, self._probe_at = "open", self._clock(), None
                failures = self._failures
            else:
                return  # already open (a late call), or still under the threshold
        logger.warning(
            "PocketBase at %s failed %d time(s) in a row%s: circuit open, "
            "calls fail fast for %.1f s.",
            self.url,
            failures,
            f" ({reason})" if reason else "",
            self.cooldown,
        )

    def record_status(self, status: int) -> None:
        """Record an HTTP answer: a gateway error (502, 503, 504) fails, anything else succeeds."""
        if status in GATEWAY_FAILURES:
            self.record_failure(f"HTTP {status}")
        else:
            self.record_success()

    def release(self) -> None:
        """The probe ended without telling anything (cancelled): let another call probe."""
        with self._lock:
            if self._state == "half_open":
                self._state, self._probe_at = "open", None
                self._opened_at = self._clock() - self.cooldown

    def reset(self) -> None:
        """Forget everything: closed, no failures (tests call this between cases)."""
        with self._lock:
            self._state, self._failures, self._opened_at, self._probe_at = "closed", 0, 0.0, None

    def error(self, url: str) -> PocketBaseUnavailable:
        """The fast-fail error for a call to *url* that :meth:`allow` refused."""
        return PocketBaseUnavailable(url=url, is_abort=True, circuit_open=True)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.url!r} {self.state} failures={self._failures}>"


_lock = threading.Lock()
#: Base URL as given -> its server's breaker (a cache of _by_server).
_breakers: dict[str, CircuitBreaker] = {}
_by_server: dict[tuple[str, int], CircuitBreaker] = {}


def breaker_for(base_url: str) -> CircuitBreaker:
    """Return the process-wide :class:`CircuitBreaker` of PocketBase at *base_url*.

    Every client (sync or async, the session's and the service client's) of the
    same server (scheme, host and port) shares it, whatever ``http_client`` it
    sends through.
    """
    breaker = _breakers.get(base_url)
    if breaker is None:
        key = _server_key(base_url)
        with _lock:
            breaker = _by_server.get(key)
            if breaker is None:
                breaker = _by_server[key] = CircuitBreaker(base_url.rstrip("/"))
            _breakers[base_url] = breaker
    return breaker


def _server_key(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))


def reset_breakers() -> None:
    """Close every breaker and forget its failures (the pytest plugin does it per test)."""
    with _lock:
        breakers = list(_by_server.values())
    for breaker in breakers:
        breaker.reset()


# -- the read watch of the shared sync pool --------------------------------------------------

#: Longest single wait of a watched read: how soon a waiting call notices a stall.
READ_SLICE: Final = 0.25

#: Set while this thread runs one of pb-ssr's own API calls through the shared
#: pool: only those are watched. A realtime event stream, idle for minutes by
#: design, reads the same pool's connections and must not count as a stall.
calls = threading.local()


class WatchedBackend(httpcore.NetworkBackend):
    """A network backend whose plain-TCP reads notice a hung PocketBase early.

    Wraps the shared sync pool's backend. Each read of a pb-ssr API call (the
    thread has ``calls.api`` set; not an event stream) waits in slices of
    :data:`READ_SLICE` up to its own timeout; between slices it reports a stall
    (no answer from the server for ``stall_after`` seconds) as one failure, and
    gives up with a read error once the server's breaker is open. TLS streams
    are left alone: a timed-out TLS read is not retried.
    """

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        breaker = _by_server.get((host, port))
        return stream if breaker is None else _WatchedStream(stream, breaker)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return self.inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class _WatchedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        breaker = self.breaker
        stall = breaker.stall_after
        if stall <= 0 or breaker.failure_threshold <= 0 or not getattr(calls, "api", False):
            return self.inner.read(max_bytes, timeout)
        clock = breaker._clock
        started = clock()
        deadline = None if timeout is None else started + timeout
        counted = False
        while True:
            wait = READ_SLICE if deadline is None else min(READ_SLICE, deadline - clock())
            if wait <= 0:
                raise httpcore.ReadTimeout("timed out")
            try:
                return self.inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                if deadline is not None and clock() >= deadline:
                    raise
            if breaker.is_open():
                # PocketBase is known to be down: stop holding this thread.
                raise httpcore.ReadError("PocketBase stopped answering (circuit open)")
            # Nobody got an answer while this call waited: count it once. Not for
            # a half-open probe, which may take its time (a slow PocketBase is up).
            if (
                not counted
                and clock() - started >= stall
                and breaker.last_answer <= started
                and breaker.is_closed()
            ):
                counted = True
                breaker.record_failure(f"no answer for {stall:g} s")

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, timeout)

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return self.inner.start_tls(ssl_context, server_hostname=server_hostname, timeout=timeout)

    def get_extra_info(self, info: str) -> object:
        return self.inner.get_extra_info(info)
