"""Cached, single-flight token validation.

Asking PocketBase (``auth-refresh``) is the only way to know a token is still
good, but doing it on every page doubles the cost of the extra hop. So each
answer is remembered for ``VALIDATE_TTL`` seconds per process, keyed by a
SHA-256 of the token (never the token itself), and concurrent requests holding
the same due token share one upstream call, whether they run in threads, in
asyncio tasks, or both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from cachetools import TTLCache

from ._errors import ClientResponseError
from ._records import Record

__all__ = ["Outcome", "Validator", "token_key"]

#: How long a "PocketBase is unreachable" answer is reused, so a down backend
#: costs one timeout per few seconds instead of one per page.
BACKEND_ERROR_TTL = 5.0


#: How many times followers may take over from interrupted leaders before giving up.
_MAX_HANDOVERS = 5


class _LeaderGone(Exception):
    """The request making the upstream call was cancelled; a follower takes over."""


def token_key(token: str) -> bytes:
    """The cache key of a token: its SHA-256 digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What PocketBase said about a token."""

    #: ``valid``: confirmed; ``rejected``: 401/403/404; ``error``: no usable answer.
    status: Literal["valid", "rejected", "error"]
    #: The fresh auth record (``valid`` only).
    record: Record | None = None
    #: The renewed token PocketBase returned (``valid`` only), hidden from repr.
    new_token: str = field(default="", repr=False)
    #: The failure behind ``rejected`` or ``error``.
    error: ClientResponseError | None = None
    #: When the answer was obtained (``time.monotonic``).
    at: float = 0.0

    @classmethod
    def from_error(cls, exc: ClientResponseError) -> Outcome:
        """Classify a failed ``auth-refresh``: only 401/403/404 mean "token rejected"."""
        status: Literal["rejected", "error"] = (
            "rejected" if exc.status in (401, 403, 404) else "error"
        )
        return cls(status=status, error=exc, at=time.monotonic())


class _Cache(TTLCache[bytes, Outcome]):
    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float]) -> None:
        super().__init__(maxsize=maxsize, ttl=ttl, timer=timer)


class Validator:
    """The per-process validation cache with single-flight.

    :param ttl: seconds a ``valid`` or ``rejected`` answer is reused.
    :param maxsize: most tokens remembered (least recently used go first).
    :param timer: the clock (a seam for tests).
    """

    def __init__(
        self, *, ttl: float, maxsize: int, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._timer = timer
        self._cache = _Cache(maxsize, max(ttl, BACKEND_ERROR_TTL, 1e-9), timer)
        self._lock = threading.Lock()
        self._inflight: dict[bytes, concurrent.futures.Future[Outcome]] = {}
        #: Upstream calls made (for tests and the benchmark).
        self.upstream_calls = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def cached(self, key: bytes) -> Outcome | None:
        """Return a still-fresh cached outcome for *key*, or ``None``."""
        with self._lock:
            return self._fresh(key)

    def _fresh(self, key: bytes) -> Outcome | None:
        outcome = self._cache.get(key)
        if outcome is None:
            return None
        limit = BACKEND_ERROR_TTL if outcome.status == "error" else self.ttl
        if self._timer() - outcome.at >= limit:
            return None
        return outcome

    def store(self, key: bytes, outcome: Outcome) -> None:
        """Remember *outcome* for *key* (used for a refreshed token's own entry too)."""
        if self.ttl <= 0 and outcome.status != "error":
            return
        with self._lock:
            self._cache[key] = outcome

    def forget(self, key: bytes) -> None:
        """Drop *key* (after a logout, say)."""
        with self._lock:
            self._cache.pop(key, None)

    def _claim(self, key: bytes) -> tuple[Outcome | None, concurrent.futures.Future[Outcome], bool]:
        with self._lock:
            hit = self._fresh(key)
            if hit is not None:
                return hit, concurrent.futures.Future(), False
            future = self._inflight.get(key)
            if future is not None:
                return None, future, False
            future = concurrent.futures.Future()
            # RUNNING futures cannot be cancelled: a follower giving up (timeout,
            # cancelled task) must not cancel the call the others wait for.
            future.set_running_or_notify_cancel()
            self._inflight[key] = future
            self.upstream_calls += 1
            return None, future, True

    def _settle(
        self, key: bytes, future: concurrent.futures.Future[Outcome], outcome: Outcome
    ) -> None:
        outcome = Outcome(
            status=outcome.status,
            record=outcome.record,
            new_token=outcome.new_token,
            error=outcome.error,
            at=self._timer(),
        )
        with self._lock:
            if self.ttl > 0 or outcome.status == "error":
                self._cache[key] = outcome
            self._inflight.pop(key, None)
        future.set_result(outcome)

    def _fail(
        self, key: bytes, future: concurrent.futures.Future[Outcome], exc: BaseException
    ) -> None:
        with self._lock:
            self._inflight.pop(key, None)
        if isinstance(exc, Exception):
            future.set_exception(exc)
        else:
            # Cancellation or interpreter exit hit the leader, not the followers:
            # hand over instead of spreading the leader's CancelledError.
            future.set_exception(_LeaderGone())

    def run(self, key: bytes, call: Callable[[], Outcome], *, timeout: float) -> Outcome:
        """Return the outcome for *key*: cached, awaited from a call in flight, or *call()*.

        :param call: asks PocketBase; must turn its errors into an :class:`Outcome`.
        :param timeout: how long a follower waits for the leader's call.
        """
        for _ in range(_MAX_HANDOVERS):
            hit, future, leader = self._claim(key)
            if hit is not None:
                return hit
            if leader:
                try:
                    outcome = call()
                except BaseException as exc:
                    self._fail(key, future, exc)
                    raise
                self._settle(key, future, outcome)
            try:
                return future.result(timeout=timeout)
            except _LeaderGone:
                continue  # the leader was interrupted: one of us takes over
        raise TimeoutError("token validation kept being interrupted")

    async def arun(
        self, key: bytes, call: Callable[[], Awaitable[Outcome]], *, timeout: float
    ) -> Outcome:
        """The asyncio twin of :meth:`run` (shares the cache and in-flight calls)."""
        for _ in range(_MAX_HANDOVERS):
            hit, future, leader = self._claim(key)
            if hit is not None:
                return hit
            if leader:
                try:
                    outcome = await call()
                except BaseException as exc:
                    self._fail(key, future, exc)
                    raise
                self._settle(key, future, outcome)
            try:
                # shield: a follower timing out or being cancelled leaves the shared
                # future alone for everybody else.
                return await asyncio.wait_for(
                    asyncio.shield(asyncio.wrap_future(future)), timeout=timeout
                )
            except _LeaderGone:
                continue
        raise TimeoutError("token validation kept being interrupted")

    def __repr__(self) -> str:
        return f"<Validator ttl={self.ttl} size={len(self)}>"
