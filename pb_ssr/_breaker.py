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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final, Literal

from ._errors import PocketBaseUnavailable

__all__ = ["CircuitBreaker", "breaker_for", "reset_breakers"]

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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
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

    def configure(self, *, failure_threshold: int, cooldown: float) -> None:
        """Change the thresholds (the adapters apply ``BREAKER_*`` settings here)."""
        with self._lock:
            self.failure_threshold = failure_threshold
            self.cooldown = cooldown

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
_breakers: dict[str, CircuitBreaker] = {}


def breaker_for(base_url: str) -> CircuitBreaker:
    """Return the process-wide :class:`CircuitBreaker` of PocketBase at *base_url*.

    Every client (sync or async, the session's and the service client's) with
    the same base URL shares it, whatever ``http_client`` it sends through.
    """
    url = base_url.rstrip("/")
    breaker = _breakers.get(url)
    if breaker is None:
        with _lock:
            breaker = _breakers.setdefault(url, CircuitBreaker(url))
    return breaker


def reset_breakers() -> None:
    """Close every breaker and forget its failures (the pytest plugin does it per test)."""
    with _lock:
        breakers = list(_breakers.values())
    for breaker in breakers:
        breaker.reset()
