"""Where sessions keep what PocketBase said about tokens: the store interface.

A session needs a little state beside the cookie, all of it keyed by the
SHA-256 of a token (never the token itself):

======== ==================================================== ==========================
kind     what                                                 kept for
======== ==================================================== ==========================
``v``    the last verdict of ``auth-refresh`` (:class:`Outcome`) ``VALIDATE_TTL``; rejected
                                                              ones until the token's exp
``d``    "logged out": the token is on the deny list (:class:`Mark`) until the token's exp
``c``    "confirmed": PocketBase said valid (login or a         until the token's exp
         validation), with the record it returned (:class:`Mark`)
``l``    a short lease, so one process asks PocketBase          seconds
======== ==================================================== ==========================

:class:`MemoryStore` keeps them in the process (the default). A store shared by
every worker and host (Redis, Django's cache) implements the same
:class:`SessionStore` protocol; values leave the process only through
:func:`dumps` / :func:`loads`, which drop any raw token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from cachetools import TLRUCache

from ._errors import ClientResponseError
from ._records import Record

__all__ = [
    "LayeredStore",
    "Mark",
    "MemoryStore",
    "Outcome",
    "SessionStore",
    "StoreValue",
    "dumps",
    "loads",
]

#: Verdict statuses: PocketBase confirmed the token; refused it (401/403/404, or a
#: token that cannot be sent as is); could not be reached (refused, DNS, timeout, 5xx);
#: or answered without deciding (429 rate limit, any other status).
OutcomeStatus = Literal["valid", "rejected", "outage", "unconfirmed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What PocketBase said about a token: one verdict of ``auth-refresh``."""

    #: ``valid``, ``rejected``, ``outage`` or ``unconfirmed`` (see :data:`OutcomeStatus`).
    status: OutcomeStatus
    #: The fresh auth record (``valid`` only).
    record: Record | None = None
    #: The renewed token PocketBase returned (``valid`` only); hidden from repr and
    #: never written to a store outside the process.
    new_token: str = field(default="", repr=False)
    #: The failure behind any other status.
    error: ClientResponseError | None = None
    #: When the answer was obtained (the validator's clock).
    at: float = 0.0

    @classmethod
    def from_error(cls, exc: ClientResponseError) -> Outcome:
        """Classify a failed ``auth-refresh`` (see :func:`classify_error`)."""
        return cls(status=classify_error(exc), error=exc, at=time.monotonic())


def classify_error(exc: ClientResponseError) -> OutcomeStatus:
    """Sort a failed ``auth-refresh`` into exactly one of rejected, outage or unconfirmed.

    Only "no answer at all" is an outage: a refused connection, DNS, a timeout, a
    dropped connection, or a 5xx. A 429 is *not*: PocketBase is up and refusing
    this address, and an attacker can provoke it at will. A failure that happened
    on this side before anything was sent (a header that cannot be encoded, say) is
    not an outage either. Both are "unconfirmed": anonymous now, asked again soon.
    """
    import httpx  # local: keeps this module importable for type-only users

    from ._errors import PocketBaseUnavailable

    status = exc.status
    if status in (401, 403, 404):
        return "rejected"
    if status >= 500 or (isinstance(exc, PocketBaseUnavailable) and exc.circuit_open):
        return "outage"
    if status == 0 and isinstance(
        exc.original_error,
        httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError | httpx.ProxyError,
    ):
        return "outage"
    return "unconfirmed"


@dataclass(frozen=True, slots=True)
class Mark:
    """A lasting fact about one token: ``denied`` (logged out) or ``confirmed``."""

    kind: Literal["denied", "confirmed", "lease"]
    #: The record PocketBase returned when it confirmed the token (``confirmed`` only).
    record: Record | None = None
    #: When it was written (the validator's clock).
    at: float = 0.0


#: What a store holds.
StoreValue = Outcome | Mark


@runtime_checkable
class SessionStore(Protocol):
    """Where a :class:`~pb_ssr.SessionManager` keeps verdicts, the deny list and leases.

    Every method has an ``a``-prefixed async twin; a store for sync code only may
    implement the async ones by calling the sync ones. Keys are short ASCII strings
    that pb-ssr builds (namespace, kind, token hash); every write has a TTL in
    seconds, so nothing grows without bound. A store that leaves the process must
    serialise values with :func:`dumps` and :func:`loads`.

    A store must not raise for a missing key; a store that is down may raise, and
    the session then falls back to the process (see the README, "Scaling out").
    """

    def get_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """Return the live value of each key, ``None`` where there is none."""
        ...

    def set(self, key: str, value: StoreValue, ttl: float) -> None:
        """Store *value* under *key* for *ttl* seconds (replacing any value)."""
        ...

    def add(self, key: str, value: StoreValue, ttl: float) -> bool:
        """Store *value* only if *key* holds nothing; return whether it was stored."""
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Remove *keys* (missing ones are fine)."""
        ...

    async def aget_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """The async twin of :meth:`get_many`."""
        ...

    async def aset(self, key: str, value: StoreValue, ttl: float) -> None:
        """The async twin of :meth:`set`."""
        ...

    async def aadd(self, key: str, value: StoreValue, ttl: float) -> bool:
        """The async twin of :meth:`add`."""
        ...

    async def adelete(self, keys: Sequence[str]) -> None:
        """The async twin of :meth:`delete`."""
        ...


def _expires(_key: str, value: tuple[StoreValue, float], _now: float) -> float:
    return value[1]


#: Marks that an attacker cannot create at will (a logout, a confirmation need a real
#: session): kept apart so a flood of garbage verdicts never evicts them.
_DURABLE_KINDS = frozenset({"denied", "confirmed"})


class MemoryStore:
    """The in-process store: two bounded LRU maps with per-entry expiry.

    What one process learns (a logout, a rejection) holds in that process only;
    use a shared store when several workers or hosts serve one site.

    :param maxsize: most verdicts kept, and separately most deny/confirmed marks.
    :param timer: the clock (a seam for tests), in seconds.
    """

    def __init__(self, maxsize: int = 10_000, *, timer: Callable[[], float] = time.monotonic):
        self.maxsize = maxsize
        self._timer = timer
        self._lock = threading.Lock()
        self._volatile: TLRUCache[str, tuple[StoreValue, float]] = TLRUCache(
            maxsize=max(1, maxsize), ttu=_expires, timer=timer
        )
        self._durable: TLRUCache[str, tuple[StoreValue, float]] = TLRUCache(
            maxsize=max(1, maxsize), ttu=_expires, timer=timer
        )

    def _map(self, value: StoreValue) -> TLRUCache[str, tuple[StoreValue, float]]:
        durable = isinstance(value, Mark) and value.kind in _DURABLE_KINDS
        return self._durable if durable else self._volatile

    def __len__(self) -> int:
        """The number of live verdicts and leases (marks are counted by :meth:`marks`)."""
        with self._lock:
            self._volatile.expire()
            return len(self._volatile)

    def marks(self) -> int:
        """The number of live deny and confirmed marks."""
        with self._lock:
            self._durable.expire()
            return len(self._durable)

    def get_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """Return the live value of each key, ``None`` where there is none."""
        out: list[StoreValue | None] = []
        with self._lock:
            for key in keys:
                entry = self._volatile.get(key) or self._durable.get(key)
                out.append(entry[0] if entry is not None else None)
        return out

    def set(self, key: str, value: StoreValue, ttl: float) -> None:
        """Store *value* under *key* for *ttl* seconds."""
        if ttl <= 0:
            self.delete((key,))
            return
        with self._lock:
            target = self._map(value)
            (self._volatile if target is self._durable else self._durable).pop(key, None)
            target[key] = (value, self._timer() + ttl)

    def add(self, key: str, value: StoreValue, ttl: float) -> bool:
        """Store *value* only if *key* holds nothing live."""
        with self._lock:
            if self._volatile.get(key) is not None or self._durable.get(key) is not None:
                return False
            self._map(value)[key] = (value, self._timer() + max(ttl, 0.0))
            return True

    def delete(self, keys: Sequence[str]) -> None:
        """Remove *keys*."""
        with self._lock:
            for key in keys:
                self._volatile.pop(key, None)
                self._durable.pop(key, None)

    async def aget_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """The async twin of :meth:`get_many` (no I/O: same as the sync call)."""
        return self.get_many(keys)

    async def aset(self, key: str, value: StoreValue, ttl: float) -> None:
        """The async twin of :meth:`set`."""
        self.set(key, value, ttl)

    async def aadd(self, key: str, value: StoreValue, ttl: float) -> bool:
        """The async twin of :meth:`add`."""
        return self.add(key, value, ttl)

    async def adelete(self, keys: Sequence[str]) -> None:
        """The async twin of :meth:`delete`."""
        self.delete(keys)

    def __repr__(self) -> str:
        return f"<MemoryStore verdicts={len(self)} marks={self.marks()} max={self.maxsize}>"


# -- leaving the process --------------------------------------------------------------


def dumps(value: StoreValue) -> bytes:
    """Serialise a store value for a store outside the process.

    Only what another process needs goes out: the status, the record and the time;
    never a raw token (a renewed token stays with the process that received it)
    and never an exception object.
    """
    if isinstance(value, Outcome):
        data: dict[str, Any] = {"o": value.status, "at": value.at}
        if value.record is not None:
            data["r"] = value.record
        if value.error is not None:
            data["e"] = value.error.status
    else:
        data = {"m": value.kind, "at": value.at}
        if value.record is not None:
            data["r"] = value.record
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def loads(raw: bytes | str | None) -> StoreValue | None:
    """Read back what :func:`dumps` wrote; ``None`` for anything unreadable."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    at = data.get("at")
    at = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0
    record = data.get("r")
    rec = Record(record) if isinstance(record, dict) else None
    status = data.get("o")
    if status in ("valid", "rejected", "outage", "unconfirmed"):
        code = data.get("e")
        error = (
            ClientResponseError(status=code)
            if isinstance(code, int) and not isinstance(code, bool)
            else None
        )
        return Outcome(status=status, record=rec, error=error, at=at)
    kind = data.get("m")
    if kind in ("denied", "confirmed", "lease"):
        return Mark(kind=kind, record=rec, at=at)
    return None


# -- a shared store that is never a single point of failure ------------------------------

logger = logging.getLogger("pb_ssr.store")


class LayeredStore:
    """A shared store with this process's memory under it.

    Every write goes to both; a read takes the shared value and falls back to the
    process's own. When the shared store fails (down, slow, misconfigured) the
    process carries on with its memory alone for *retry_after* seconds, logs one
    warning per interval, and goes back to the shared store by itself once it
    answers again. Nobody is logged out and no request fails because of it.

    :param shared: the store every worker and host sees (Redis, Django's cache).
    :param local: this process's memory.
    :param retry_after: seconds between attempts while the shared store is failing.
    """

    def __init__(
        self, shared: SessionStore, *, local: MemoryStore, retry_after: float = 5.0
    ) -> None:
        self.shared = shared
        self.local = local
        self.retry_after = retry_after
        self._down_until = float("-inf")
        self._degraded = False
        self._state_lock = threading.Lock()
        #: Failures seen (for tests, checks and monitoring).
        self.failures = 0

    @property
    def degraded(self) -> bool:
        """True while the shared store is failing and this process uses its memory alone."""
        return self._degraded

    def __len__(self) -> int:
        return len(self.local)

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _fail(self, exc: BaseException) -> None:
        with self._state_lock:
            self.failures += 1
            warn = time.monotonic() >= self._down_until
            self._down_until = time.monotonic() + self.retry_after
            self._degraded = True
        if warn:
            # One line per interval, whatever the traffic; never the key or the value.
            logger.warning(
                "pb-ssr session store %r failed (%s: %s); this process uses its own memory "
                "for the next %.0f s (sign-outs seen elsewhere are not known here meanwhile).",
                self.shared,
                type(exc).__name__,
                str(exc)[:200],
                self.retry_after,
            )

    def _ok(self) -> None:
        if self._degraded:
            with self._state_lock:
                was, self._degraded = self._degraded, False
            if was:
                logger.warning("pb-ssr session store %r is back.", self.shared)

    @staticmethod
    def _merge(
        shared: list[StoreValue | None], local: list[StoreValue | None]
    ) -> list[StoreValue | None]:
        return [s if s is not None else v for s, v in zip(shared, local, strict=True)]

    def get_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """The shared values, with this process's where the shared store has none."""
        local = self.local.get_many(keys)
        if not self._up():
            return local
        try:
            shared = self.shared.get_many(keys)
        except Exception as exc:  # a store failure must never fail a request
            self._fail(exc)
            return local
        self._ok()
        return self._merge(shared, local)

    def set(self, key: str, value: StoreValue, ttl: float) -> None:
        """Write to this process's memory and to the shared store."""
        self.local.set(key, value, ttl)
        if self._up():
            try:
                self.shared.set(key, value, ttl)
            except Exception as exc:
                self._fail(exc)
            else:
                self._ok()

    def add(self, key: str, value: StoreValue, ttl: float) -> bool:
        """Set-if-absent on the shared store (this process's memory while it fails)."""
        if self._up():
            try:
                added = self.shared.add(key, value, ttl)
            except Exception as exc:
                self._fail(exc)
            else:
                self._ok()
                if added:
                    self.local.set(key, value, ttl)
                return added
        return self.local.add(key, value, ttl)

    def delete(self, keys: Sequence[str]) -> None:
        """Delete from both."""
        self.local.delete(keys)
        if self._up():
            try:
                self.shared.delete(keys)
            except Exception as exc:
                self._fail(exc)

    async def aget_many(self, keys: Sequence[str]) -> list[StoreValue | None]:
        """The async twin of :meth:`get_many`."""
        local = self.local.get_many(keys)
        if not self._up():
            return local
        try:
            shared = await self.shared.aget_many(keys)
        except Exception as exc:
            self._fail(exc)
            return local
        self._ok()
        return self._merge(shared, local)

    async def aset(self, key: str, value: StoreValue, ttl: float) -> None:
        """The async twin of :meth:`set`."""
        self.local.set(key, value, ttl)
        if self._up():
            try:
                await self.shared.aset(key, value, ttl)
            except Exception as exc:
                self._fail(exc)
            else:
                self._ok()

    async def aadd(self, key: str, value: StoreValue, ttl: float) -> bool:
        """The async twin of :meth:`add`."""
        if self._up():
            try:
                added = await self.shared.aadd(key, value, ttl)
            except Exception as exc:
                self._fail(exc)
            else:
                self._ok()
                if added:
                    self.local.set(key, value, ttl)
                return added
        return self.local.add(key, value, ttl)

    async def adelete(self, keys: Sequence[str]) -> None:
        """The async twin of :meth:`delete`."""
        self.local.delete(keys)
        if self._up():
            try:
                await self.shared.adelete(keys)
            except Exception as exc:
                self._fail(exc)

    def ping(self) -> None:
        """Raise unless the shared store answers (a write and a read of a probe key)."""
        probe = Mark(kind="lease", at=time.time())
        ping = getattr(self.shared, "ping", None)
        if callable(ping):
            ping()
        else:
            self.shared.set("pbssr:ping", probe, 5.0)
            self.shared.get_many(["pbssr:ping"])

    def __repr__(self) -> str:
        state = "degraded" if self._degraded else "ok"
        return f"<LayeredStore {self.shared!r} {state}>"
