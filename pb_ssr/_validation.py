"""Cached, single-flight token validation.

Asking PocketBase (``auth-refresh``) is the only way to know a token is still
good, but doing it on every page doubles the cost of the extra hop. So each
answer is remembered for ``VALIDATE_TTL`` seconds, keyed by a SHA-256 of the
token (never the token itself), and concurrent requests holding the same due
token share one upstream call, whether they run in threads, in asyncio tasks,
or both.

What is remembered lives in a :class:`~pb_ssr.SessionStore` (the process by
default): verdicts, the deny list of logged-out tokens, and the "confirmed"
marks that ``ON_BACKEND_ERROR = "keep"`` relies on. A rejected or logged-out
token stays refused until its own expiry.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from ._store import LayeredStore, Mark, MemoryStore, Outcome, SessionStore, StoreValue

__all__ = ["Outcome", "Validator", "token_key"]


#: The longest anything about one token is remembered (PocketBase auth tokens
#: last 5 days by default; a longer-lived one is re-checked after this).
MAX_TOKEN_MEMORY = 30 * 86400.0

#: How many times followers may take over from interrupted leaders before giving up.
_MAX_HANDOVERS = 5

_Kind = Literal["v", "d", "c", "l"]

#: How often a process waiting on another process's auth-refresh looks for its
#: verdict: from 2 ms, doubling, up to 50 ms (a loopback auth-refresh takes a few ms).
_FOLLOW_FIRST, _FOLLOW_MAX = 0.002, 0.05


class _LeaderGone(Exception):
    """The request making the upstream call was cancelled; a follower takes over."""


def token_key(token: str) -> bytes:
    """The cache key of a token: its SHA-256 digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Validator:
    """Validation verdicts with single-flight, over a :class:`~pb_ssr.SessionStore`.

    :param ttl: seconds a ``valid`` answer is reused.
    :param maxsize: most tokens remembered by the default in-process store.
    :param timer: the clock (a seam for tests).
    :param store: where verdicts and marks live (default: a :class:`MemoryStore`).
    :param namespace: the prefix of every store key.
    """

    def __init__(
        self,
        *,
        ttl: float,
        maxsize: int,
        timer: Callable[[], float] = time.monotonic,
        store: SessionStore | None = None,
        namespace: str = "pbssr:",
    ) -> None:
        self.ttl = ttl
        self._timer = timer
        self.store: SessionStore = store if store is not None else MemoryStore(maxsize, timer=timer)
        self.namespace = namespace
        #: Other processes share the store: single-flight needs a lease there too.
        self.shared = not isinstance(self.store, MemoryStore)
        self._lock = threading.Lock()
        self._inflight: dict[bytes, concurrent.futures.Future[Outcome]] = {}
        #: Upstream calls made (for tests and the benchmark).
        self.upstream_calls = 0

    def __len__(self) -> int:
        return len(self.store) if isinstance(self.store, MemoryStore) else 0

    def now(self) -> float:
        """The validator's clock."""
        return self._timer()

    def _key(self, kind: _Kind, key: bytes) -> str:
        return f"{self.namespace}{kind}:{key.hex()}"

    # -- the pure decisions ------------------------------------------------------------

    def _verdict(self, values: list[StoreValue | None]) -> Outcome | None:
        """Read ``[deny, verdict]`` as fetched from the store: the answer, if known."""
        denied, verdict = values
        if isinstance(denied, Mark) and denied.kind == "denied":
            return Outcome(status="rejected", at=denied.at)
        if not isinstance(verdict, Outcome):
            return None
        if verdict.status == "valid" and self._timer() - verdict.at >= self.ttl:
            return None
        return verdict

    def _lifetime(self, outcome: Outcome, lifetime: float | None) -> float:
        """How long a verdict is kept."""
        if outcome.status == "valid":
            return self.ttl - (self._timer() - outcome.at)
        if outcome.status == "rejected":
            return min(lifetime if lifetime is not None else self.ttl, MAX_TOKEN_MEMORY)
        # Neither is remembered. A 429 is about one client address, not the token. An
        # outage is the circuit breaker's to remember: it fails every call at once while
        # PocketBase is down and lets the first one through as soon as it is back, so a
        # session is confirmed again at once instead of seconds later.
        return 0.0

    def _writes(
        self, key: bytes, outcome: Outcome, lifetime: float | None
    ) -> tuple[list[tuple[str, StoreValue, float]], list[str]]:
        """What to write (and delete) for a new verdict."""
        sets: list[tuple[str, StoreValue, float]] = []
        deletes: list[str] = []
        ttl = self._lifetime(outcome, lifetime)
        if ttl > 0:
            sets.append((self._key("v", key), outcome, ttl))
        else:
            deletes.append(self._key("v", key))
        if outcome.status == "valid" and lifetime is not None:
            mark = Mark(kind="confirmed", record=outcome.record, at=outcome.at)
            sets.append((self._key("c", key), mark, min(lifetime, MAX_TOKEN_MEMORY)))
        elif outcome.status == "rejected":
            deletes.append(self._key("c", key))
        return sets, deletes

    # -- reading and writing --------------------------------------------------------------

    def cached(self, key: bytes) -> Outcome | None:
        """Return what is known about *key* without asking PocketBase, or ``None``."""
        return self._verdict(self.store.get_many([self._key("d", key), self._key("v", key)]))

    async def acached(self, key: bytes) -> Outcome | None:
        """The async twin of :meth:`cached`."""
        values = await self.store.aget_many([self._key("d", key), self._key("v", key)])
        return self._verdict(values)

    def store_outcome(self, key: bytes, outcome: Outcome, *, lifetime: float | None = None) -> None:
        """Remember *outcome* for *key* (a renewed token, a login, a changed record).

        :param lifetime: seconds the token has left; with it, a ``valid`` outcome
            also marks the token confirmed and a ``rejected`` one lasts that long.
        """
        sets, deletes = self._writes(key, outcome, lifetime)
        store = self._store_for(outcome)
        if deletes:
            store.delete(deletes)
        for args in sets:
            store.set(*args)

    async def astore_outcome(
        self, key: bytes, outcome: Outcome, *, lifetime: float | None = None
    ) -> None:
        """The async twin of :meth:`store_outcome`."""
        sets, deletes = self._writes(key, outcome, lifetime)
        store = self._store_for(outcome)
        if deletes:
            await store.adelete(deletes)
        for args in sets:
            await store.aset(*args)

    def _store_for(self, outcome: Outcome) -> SessionStore:
        # An outage is what *this* process saw (its network, its timeouts): other hosts
        # may well reach PocketBase, so it is never shared.
        if outcome.status == "outage" and isinstance(self.store, LayeredStore):
            return self.store.local
        return self.store

    def forget(self, key: bytes) -> None:
        """Drop the verdict on *key* (the next request asks PocketBase again)."""
        self.store.delete([self._key("v", key)])

    def deny(self, key: bytes, lifetime: float) -> None:
        """Put *key* on the deny list for *lifetime* seconds (a logout)."""
        self.store.delete([self._key("v", key), self._key("c", key)])
        self.store.set(
            self._key("d", key),
            Mark(kind="denied", at=self._timer()),
            min(lifetime, MAX_TOKEN_MEMORY),
        )

    async def adeny(self, key: bytes, lifetime: float) -> None:
        """The async twin of :meth:`deny`."""
        await self.store.adelete([self._key("v", key), self._key("c", key)])
        await self.store.aset(
            self._key("d", key),
            Mark(kind="denied", at=self._timer()),
            min(lifetime, MAX_TOKEN_MEMORY),
        )

    def cached_locally(self, key: bytes) -> Outcome | None:
        """:meth:`cached`, from this process's memory only (no I/O, safe on an event loop)."""
        store = self.store
        if isinstance(store, LayeredStore):
            store = store.local
        elif not isinstance(store, MemoryStore):
            return None
        return self._verdict(store.get_many([self._key("d", key), self._key("v", key)]))

    def confirmed(self, key: bytes) -> Mark | None:
        """Return the "confirmed" mark of *key*: PocketBase said valid and nothing since."""
        denied, mark = self.store.get_many([self._key("d", key), self._key("c", key)])
        if denied is not None or not isinstance(mark, Mark) or mark.kind != "confirmed":
            return None
        return mark

    async def aconfirmed(self, key: bytes) -> Mark | None:
        """The async twin of :meth:`confirmed`."""
        denied, mark = await self.store.aget_many([self._key("d", key), self._key("c", key)])
        if denied is not None or not isinstance(mark, Mark) or mark.kind != "confirmed":
            return None
        return mark

    # -- single flight ----------------------------------------------------------------------

    def _claim(
        self, key: bytes, hit: Outcome | None
    ) -> tuple[Outcome | None, concurrent.futures.Future[Outcome], bool]:
        with self._lock:
            if hit is not None:
                return hit, concurrent.futures.Future(), False
            future = self._inflight.get(key)
            if future is not None:
                return None, future, False
            if isinstance(self.store, MemoryStore):
                # A leader may have settled between our read and this lock: look
                # again (no I/O here) so the same token never costs two calls.
                hit = self.cached(key)
                if hit is not None:
                    return hit, concurrent.futures.Future(), False
            future = concurrent.futures.Future()
            # RUNNING futures cannot be cancelled: a follower giving up (timeout,
            # cancelled task) must not cancel the call the others wait for.
            future.set_running_or_notify_cancel()
            self._inflight[key] = future
            return None, future, True

    def _stamp(self, outcome: Outcome) -> Outcome:
        return Outcome(
            status=outcome.status,
            record=outcome.record,
            new_token=outcome.new_token,
            error=outcome.error,
            at=self._timer(),
        )

    def _done(
        self, key: bytes, future: concurrent.futures.Future[Outcome], outcome: Outcome
    ) -> None:
        with self._lock:
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

    def run(
        self,
        key: bytes,
        call: Callable[[], Outcome],
        *,
        timeout: float,
        lifetime: float | None = None,
    ) -> Outcome:
        """Return the outcome for *key*: known, awaited from a call in flight, or *call()*.

        :param call: asks PocketBase; must turn its errors into an :class:`Outcome`.
        :param timeout: how long a follower waits for the leader's call.
        :param lifetime: seconds the token has left (how long a rejection lasts).
        """
        for _ in range(_MAX_HANDOVERS):
            hit, future, leader = self._claim(key, self.cached(key))
            if hit is not None:
                return hit
            if leader:
                try:
                    outcome = self._lead(key, call, timeout, lifetime)
                except BaseException as exc:
                    self._fail(key, future, exc)
                    raise
                self._done(key, future, outcome)
            try:
                return future.result(timeout=timeout)
            except _LeaderGone:
                continue  # the leader was interrupted: one of us takes over
        raise TimeoutError("token validation kept being interrupted")

    async def arun(
        self,
        key: bytes,
        call: Callable[[], Awaitable[Outcome]],
        *,
        timeout: float,
        lifetime: float | None = None,
    ) -> Outcome:
        """The asyncio twin of :meth:`run` (shares the store and in-flight calls)."""
        for _ in range(_MAX_HANDOVERS):
            hit, future, leader = self._claim(key, await self.acached(key))
            if hit is not None:
                return hit
            if leader:
                try:
                    outcome = await self._alead(key, call, timeout, lifetime)
                except BaseException as exc:
                    self._fail(key, future, exc)
                    raise
                self._done(key, future, outcome)
            try:
                # shield: a follower timing out or being cancelled leaves the shared
                # future alone for everybody else.
                return await asyncio.wait_for(
                    asyncio.shield(asyncio.wrap_future(future)), timeout=timeout
                )
            except _LeaderGone:
                continue
        raise TimeoutError("token validation kept being interrupted")

    def _count(self) -> None:
        with self._lock:
            self.upstream_calls += 1

    # -- across processes: a lease per token ------------------------------------------------

    def _lead(
        self, key: bytes, call: Callable[[], Outcome], wait: float, lifetime: float | None
    ) -> Outcome:
        """This process's leader: ask PocketBase, unless another process already is."""
        lease = self._key("l", key)
        if self.shared:
            if self.store.add(lease, Mark(kind="lease", at=self._timer()), wait):
                # Another process may have settled between our read and the lease
                # (it writes the verdict before it lets the lease go): look again.
                hit = self.cached(key)
                if hit is not None:
                    self.store.delete([lease])
                    return hit
            else:
                found = self._follow(key, time.monotonic() + wait)
                if found is not None:
                    return found
                # The other leader died or gave no verdict to share: ask ourselves.
        self._count()
        outcome = self._stamp(call())
        self.store_outcome(key, outcome, lifetime=lifetime)
        if self.shared:
            self.store.delete([lease])
        return outcome

    async def _alead(
        self,
        key: bytes,
        call: Callable[[], Awaitable[Outcome]],
        wait: float,
        lifetime: float | None,
    ) -> Outcome:
        """The async twin of :meth:`_lead`."""
        lease = self._key("l", key)
        if self.shared:
            if await self.store.aadd(lease, Mark(kind="lease", at=self._timer()), wait):
                hit = await self.acached(key)
                if hit is not None:
                    await self.store.adelete([lease])
                    return hit
            else:
                found = await self._afollow(key, time.monotonic() + wait)
                if found is not None:
                    return found
        self._count()
        outcome = self._stamp(await call())
        await self.astore_outcome(key, outcome, lifetime=lifetime)
        if self.shared:
            await self.store.adelete([lease])
        return outcome

    def _followed(self, key: bytes, values: list[StoreValue | None]) -> Outcome | bool:
        """A verdict from the other process; ``False`` when it is gone without one."""
        hit = self._verdict(values[:2])
        if hit is not None:
            return hit
        return values[2] is not None

    def _follow(self, key: bytes, deadline: float) -> Outcome | None:
        keys = [self._key("d", key), self._key("v", key), self._key("l", key)]
        delay = _FOLLOW_FIRST
        while time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, _FOLLOW_MAX)
            found = self._followed(key, self.store.get_many(keys))
            if isinstance(found, Outcome):
                return found
            if not found:
                return None
        return None

    async def _afollow(self, key: bytes, deadline: float) -> Outcome | None:
        keys = [self._key("d", key), self._key("v", key), self._key("l", key)]
        delay = _FOLLOW_FIRST
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, _FOLLOW_MAX)
            found = self._followed(key, await self.store.aget_many(keys))
            if isinstance(found, Outcome):
                return found
            if not found:
                return None
        return None

    @property
    def degraded(self) -> bool:
        """True while a shared store is failing and this process runs on its own memory."""
        return isinstance(self.store, LayeredStore) and self.store.degraded

    def __repr__(self) -> str:
        return f"<Validator ttl={self.ttl} store={type(self.store).__name__}>"
