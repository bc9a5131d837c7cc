"""The per-request auth session: signed cookie in, checked client out, cookie back.

Adapters (Django middleware, Flask extension) do three things per request:

1. ``session = manager.open(cookie_value, client_ip=...)`` -- no I/O;
2. the view calls ``session.client()`` (or ``await session.aclient()``): the
   cookie is decoded, its token checked locally, confirmed with PocketBase at
   most once per ``VALIDATE_TTL`` (cached, single-flight), renewed when due,
   and a fresh client with that auth state comes back;
3. ``session.finalize()`` says which ``Set-Cookie`` to emit (if any) and
   whether the response depended on the user (``Vary: Cookie``, private cache).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import LRUCache

from ._auth_store import AuthStore
from ._breaker import breaker_for
from ._client import AsyncPocketBase, PocketBase
from ._config import Settings
from ._cookie import CookieCodec, CookieUpdate
from ._errors import BlockingCallError, ClientResponseError, PocketBaseUnavailable
from ._forwarding import forward_headers
from ._records import Record
from ._service import ServiceClient
from ._store import LayeredStore, Mark, MemoryStore, SessionStore
from ._tokens import TokenClaims, read_auth_token
from ._validation import Outcome, Validator, token_key

__all__ = ["RequestSession", "SessionManager", "SessionResult"]

logger = logging.getLogger("pb_ssr.session")


@dataclass(frozen=True, slots=True)
class SessionResult:
    """What the adapter must do to the response."""

    #: The ``Set-Cookie`` to emit, or ``None``.
    cookie: CookieUpdate | None
    #: The response depended on who is signed in: add ``Vary: Cookie`` and
    #: ``Cache-Control: private`` so no shared cache serves it to someone else.
    user_dependent: bool

    @property
    def no_store(self) -> bool:
        """A response that sets the cookie must not be stored by any cache."""
        return self.cookie is not None and not self.cookie.is_delete

    def headers(self, vary: str | None = None, cache_control: str | None = None) -> dict[str, str]:
        """The ``Vary`` and ``Cache-Control`` values to set, given the response's own.

        ``Vary`` gains ``Cookie`` and ``Cache-Control`` gains ``private`` (``public``
        goes) when the response depended on the user, and ``no-store`` when it sets the
        cookie; the response's other directives stay. Only changed headers are returned.
        """
        out: dict[str, str] = {}
        if self.user_dependent:
            names = {v.strip().lower() for v in (vary or "").split(",")}
            if not vary:
                out["Vary"] = "Cookie"
            elif "cookie" not in names and "*" not in names:
                out["Vary"] = f"{vary}, Cookie"
        added = [
            d for d, on in (("private", self.user_dependent), ("no-store", self.no_store)) if on
        ]
        if not added:
            return out
        if not cache_control:
            out["Cache-Control"] = ", ".join(added)
            return out
        dropped = {*added, "public"} if self.user_dependent else set(added)
        kept = [d.strip() for d in cache_control.split(",") if d.strip()]
        kept = [d for d in kept if d.split("=")[0].strip().lower() not in dropped]
        out["Cache-Control"] = ", ".join([*kept, *added])
        return out


#: A cookie that passed the checks: token, record, claims, token key, trimmed record.
_Decoded = tuple[str, dict[str, Any] | None, TokenClaims, bytes, dict[str, Any]]


@dataclass(slots=True)
class _Pending:
    """The cookie as read, before PocketBase was asked."""

    present: bool
    token: str = field(default="", repr=False)
    record: dict[str, Any] | None = None
    claims: TokenClaims | None = None

    _key: bytes = field(default=b"", repr=False)
    #: ``record`` cut to ``RECORD_FIELDS`` (what the cookie would carry again).
    trimmed: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> bytes:
        if not self._key:
            self._key = token_key(self.token)
        return self._key

    def lifetime(self) -> float:
        """Seconds the token has left (how long a rejection or a logout is remembered)."""
        assert self.claims is not None
        return max(0.0, self.claims.seconds_left(time.time()))


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class SessionManager:
    """One per app: settings, cookie codec and the validation cache.

    :param settings: validated :class:`~pb_ssr.Settings`.
    :param secret_key: the app's secret key (signs the cookie).
    :param secret_key_fallbacks: older keys still accepted (key rotation).
    :param http_client: an ``httpx.Client`` instead of the shared pool.
    :param async_http_client: an ``httpx.AsyncClient`` instead of the shared pool.
    :param store: where verdicts, logouts and confirmations are kept (default: this
        process's memory, bounded by ``VALIDATE_CACHE_SIZE``).
    :param async_sync_pool: async clients send through the process's sync pool from a
        worker thread (frameworks that run each async view on a fresh event loop).

    Example (what an adapter does)::

        manager = SessionManager(settings, secret_key=SECRET_KEY)
        session = manager.open(request.cookies.get(settings.COOKIE_NAME), client_ip=ip)
        pb = session.client()              # validated, per-request client
        ...
        result = session.finalize()        # which Set-Cookie, Vary and Cache-Control
    """

    #: The cookie codec class (override to change the format).
    codec_class: type[CookieCodec] = CookieCodec

    def __init__(
        self,
        settings: Settings,
        *,
        secret_key: str | bytes | None,
        secret_key_fallbacks: Sequence[str | bytes] = (),
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        store: SessionStore | None = None,
        async_sync_pool: bool = False,
    ) -> None:
        self.settings = settings
        #: Async clients send through the sync pool (see ``AsyncPocketBase(sync_pool=)``).
        self.async_sync_pool = async_sync_pool
        self.codec = self.codec_class(
            settings, secret_key=secret_key, fallbacks=secret_key_fallbacks
        )
        self.validator = Validator(
            ttl=settings.VALIDATE_TTL,
            maxsize=settings.VALIDATE_CACHE_SIZE,
            timer=self.now,
            store=store if store is not None else build_store(settings, timer=self.now),
            namespace=f"pbssr:{settings.STORE_PREFIX}",
        )
        self.http_client = http_client
        self.async_http_client = async_http_client
        self._timeout = settings.http_timeout
        # One breaker per PocketBase per process: every client, this manager's
        # validation and the service client see the same "PocketBase is down".
        breaker_for(settings.URL).configure(
            failure_threshold=settings.BREAKER_FAILURES,
            cooldown=settings.BREAKER_COOLDOWN,
            stall_after=settings.BREAKER_STALL,
        )
        # Cookies that passed the signature and the strict token read, by SHA-256 of
        # the cookie: the same browser sends the same cookie page after page, and
        # checking it again costs more than the rest of the session together.
        self._decoded: LRUCache[bytes, _Decoded] = LRUCache(
            maxsize=min(settings.VALIDATE_CACHE_SIZE, 4096)
        )
        self._decoded_lock = threading.Lock()

    @staticmethod
    def now() -> float:
        """The clock of the session store, in seconds (a seam for tests).

        Wall-clock time: verdicts in a shared store are read by other hosts.
        """
        return time.time()

    def ping_store(self) -> str | None:
        """Check a shared ``STORE``: ``None`` when it answers (or is in-process), else why not."""
        store = self.validator.store
        if not isinstance(store, LayeredStore):
            return None
        try:
            store.ping()
        except Exception as exc:  # any failure is the answer, not an error
            return f"{type(exc).__name__}: {str(exc)[:200]}"
        return None

    @property
    def store_degraded(self) -> bool:
        """True while a shared ``STORE`` is failing and this process uses its own memory."""
        return self.validator.degraded

    def open(
        self,
        cookie_value: str | None,
        *,
        client_ip: str | None = None,
        user_agent: str | None = None,
    ) -> RequestSession:
        """Start the session of one request; no I/O happens until a client is asked for.

        :param cookie_value: the auth cookie as the browser sent it (or ``None``).
        :param client_ip: the end user's address (:func:`~pb_ssr.resolve_client_ip`).
        :param user_agent: the browser's ``User-Agent``, forwarded to PocketBase
            unless ``FORWARD_USER_AGENT`` is off.
        """
        agent = user_agent if self.settings.FORWARD_USER_AGENT else None
        return RequestSession(self, cookie_value, client_ip, agent)

    # -- clients --------------------------------------------------------------------

    def new_client(
        self, store: AuthStore, client_ip: str | None, user_agent: str | None = None
    ) -> PocketBase:
        """A sync client for a request: shared pool, that request's auth, address and agent."""
        return PocketBase(
            self.settings.URL,
            http_client=self.http_client,
            auth_store=store,
            timeout=self._timeout,
            headers=forward_headers(self.settings.CLIENT_IP_HEADER, client_ip, user_agent),
        )

    def new_async_client(
        self, store: AuthStore, client_ip: str | None, user_agent: str | None = None
    ) -> AsyncPocketBase:
        """The async twin of :meth:`new_client`."""
        return AsyncPocketBase(
            self.settings.URL,
            http_client=self.async_http_client,
            auth_store=store,
            timeout=self._timeout,
            headers=forward_headers(self.settings.CLIENT_IP_HEADER, client_ip, user_agent),
            sync_pool=self.async_sync_pool,
        )

    # -- the pure steps -----------------------------------------------------------------

    def _read(self, cookie_value: str | None) -> _Pending:
        pending = _Pending(present=bool(cookie_value))
        if not cookie_value or not isinstance(cookie_value, str):
            return pending
        digest = hashlib.sha256(cookie_value.encode("utf-8", "surrogatepass")).digest()
        with self._decoded_lock:
            hit = self._decoded.get(digest)
        if hit is not None:
            if not hit[2].is_expired(time.time()):
                pending.token, pending.record, pending.claims, pending._key, pending.trimmed = hit
            return pending
        loaded = self.codec.load(cookie_value)
        if loaded is None:
            return pending
        # Strict, before any I/O: only something shaped exactly like a live PocketBase
        # auth token is worth a round trip (and only that can travel in a header).
        claims = read_auth_token(loaded[0])
        if claims is None:
            return pending
        decoded = (loaded[0], loaded[1], claims, token_key(loaded[0]), _trim(loaded[1], self))
        with self._decoded_lock:
            self._decoded[digest] = decoded
        pending.token, pending.record, pending.claims, pending._key, pending.trimmed = decoded
        return pending

    def _settle(
        self, pending: _Pending, outcome: Outcome, mark: Mark | None = None
    ) -> tuple[str, Record | None, bool, bool]:
        """Apply the policy: return (token, record, verified, keep_cookie) for the request.

        :param mark: the token's "confirmed" mark, read only after an outage under "keep".
        """
        claims = pending.claims
        assert claims is not None
        if outcome.status == "valid":
            token = pending.token
            if (
                claims.refreshable
                and outcome.new_token
                and outcome.new_token != token
                and claims.seconds_left(time.time()) < self.settings.REFRESH_WITHIN
            ) and read_auth_token(outcome.new_token) is not None:
                # The renewed token is as good as confirmed: finalize() remembers it
                # (see RequestSession._writes), so the next page needs no round trip.
                token = outcome.new_token
            return token, outcome.record, True, False
        if outcome.status == "rejected":
            return "", None, False, False
        error = outcome.error or ClientResponseError(status=0)
        hashed = pending.key.hex()[:12]
        if outcome.status == "unconfirmed":
            # PocketBase is up but did not say yes (a 429, say): nobody is trusted on
            # an answer like that, and nobody loses the cookie over it either.
            logger.warning(
                "PocketBase did not confirm a session (token_hash=%s, status=%s: %s); "
                "anonymous for now.",
                hashed,
                error.status,
                error.message,
            )
            return "", None, False, True
        policy = self.settings.ON_BACKEND_ERROR
        logger.warning(
            "PocketBase could not confirm a session (token_hash=%s, status=%s: %s); policy %r.",
            hashed,
            error.status,
            error.message,
            policy,
        )
        if policy == "raise":
            raise PocketBaseUnavailable.from_error(error)
        if policy == "anonymous":
            # Anonymous for this request, but the cookie stays: PocketBase only blinked.
            return "", None, False, True
        record = self._kept_record(pending, mark)
        if record is None:
            return "", None, False, True
        return pending.token, record, False, True

    def _kept_record(self, pending: _Pending, mark: Mark | None) -> Record | None:
        """Who "keep" may serve during an outage: only a user PocketBase confirmed.

        The record comes from PocketBase's own confirmation (the "confirmed" mark),
        never from an unsigned cookie. A *signed* cookie counts as pb-ssr's own
        record of a confirmation (pb-ssr signs only what PocketBase returned), which
        keeps users signed in on workers that have not seen them yet.
        """
        claims = pending.claims
        assert claims is not None
        if mark is not None:
            if mark.record is not None:
                return Record(mark.record)
        elif not self.codec.signed:
            return None
        elif pending.record is not None and pending.record.get("id") == claims.record_id:
            return Record(pending.record)
        # A token-only cookie (record trimmed away): the claims still say who it is.
        return Record({"id": claims.record_id, "collectionId": claims.collection_id})

    def _confirm(
        self, pending: _Pending, client_ip: str | None, user_agent: str | None = None
    ) -> Outcome:
        claims = pending.claims
        assert claims is not None
        pb = self.new_client(AuthStore(pending.token), client_ip, user_agent)
        try:
            auth = pb.collection(claims.collection_id).auth_refresh()
        except ClientResponseError as exc:
            return Outcome.from_error(exc)
        return Outcome(status="valid", record=auth.record, new_token=auth.token)

    async def _aconfirm(
        self, pending: _Pending, client_ip: str | None, user_agent: str | None = None
    ) -> Outcome:
        claims = pending.claims
        assert claims is not None
        pb = self.new_async_client(AuthStore(pending.token), client_ip, user_agent)
        try:
            auth = await pb.collection(claims.collection_id).auth_refresh()
        except ClientResponseError as exc:
            return Outcome.from_error(exc)
        return Outcome(status="valid", record=auth.record, new_token=auth.token)

    def _wait_limit(self) -> float:
        # A follower never waits longer than the leader's own call may take.
        return float(self.settings.TIMEOUT) + 5.0

    def __repr__(self) -> str:
        return f"<SessionManager {self.settings.URL!r} cookie={self.settings.COOKIE_NAME!r}>"


class RequestSession:
    """The auth state of one request. Create it with :meth:`SessionManager.open`.

    ``client()`` / ``aclient()`` return clients that share one :class:`AuthStore`,
    so a login or logout made through either shows up in :meth:`finalize`.
    """

    def __init__(
        self,
        manager: SessionManager,
        cookie_value: str | None,
        client_ip: str | None,
        user_agent: str | None = None,
    ) -> None:
        self.manager = manager
        self.client_ip = client_ip
        #: The browser's User-Agent as forwarded to PocketBase (``None``: pb-ssr's own).
        self.user_agent = user_agent
        self._cookie_value = cookie_value
        self._pending: _Pending | None = None
        self._store: AuthStore | None = None
        self._keep_cookie = False
        self._cleared = False
        self._installed: tuple[str, dict[str, Any]] = ("", {})
        #: The verdict this request was served from (``valid`` only).
        self._outcome: Outcome | None = None
        self._used = False
        self._client: PocketBase | None = None
        self._async_client: AsyncPocketBase | None = None
        #: True once PocketBase confirmed the token within ``VALIDATE_TTL``; False
        #: for anonymous requests and for tokens kept while PocketBase was down.
        self.verified = False

    @property
    def loaded(self) -> bool:
        """True once the token has been checked."""
        return self._store is not None

    # -- loading -------------------------------------------------------------------

    def _begin(self) -> _Pending:
        if self._pending is None:
            self._pending = self.manager._read(self._cookie_value)
        return self._pending

    def _install(
        self, token: str, record: Record | None, verified: bool, keep_cookie: bool = False
    ) -> AuthStore:
        self.verified = verified
        # After a backend failure the cookie is never deleted (unless the view logs out).
        self._keep_cookie = keep_cookie
        pending = self._begin()
        store = AuthStore._with_claims(
            token, record, pending.claims if token and token == pending.token else None
        )

        def on_change(new_token: str, _record: Record | None) -> None:
            if not new_token:
                self._cleared = True

        store.on_change(on_change)
        self._store = store
        self._installed = (token, _trim(record, self.manager))
        return store

    def _settled(self, pending: _Pending, outcome: Outcome, mark: Mark | None = None) -> AuthStore:
        if outcome.status == "valid":
            self._outcome = outcome
        return self._install(*self.manager._settle(pending, outcome, mark))

    def load(self) -> AuthStore:
        """Check the cookie's token (sync) and return the request's auth store.

        :raises BlockingCallError: when called on a thread that runs an event loop
            and the answer is not known yet (it would block the loop): use
            :meth:`aload` there.
        """
        if self._store is not None:
            return self._store
        pending = self._begin()
        if pending.claims is None:
            return self._install("", None, False)
        m = self.manager
        key = pending.key
        if _in_event_loop():
            known = m.validator.cached_locally(key)
            if known is None or (
                known.status == "outage" and m.settings.ON_BACKEND_ERROR == "keep"
            ):
                raise BlockingCallError(
                    "The pb-ssr session was read synchronously inside a running event "
                    "loop before it was loaded, which would block every other request on "
                    "that loop. In async code load it first: `await request.apb_user()` "
                    "(Django), `await apb()` (Flask) or `await session.aload()`."
                )
            return self._settled(pending, known)
        outcome = m.validator.run(
            key,
            lambda: m._confirm(pending, self.client_ip, self.user_agent),
            timeout=m._wait_limit(),
            lifetime=pending.lifetime(),
        )
        mark = None
        if outcome.status == "outage" and m.settings.ON_BACKEND_ERROR == "keep":
            mark = m.validator.confirmed(key)
        return self._settled(pending, outcome, mark)

    async def aload(self) -> AuthStore:
        """The async twin of :meth:`load`."""
        if self._store is not None:
            return self._store
        pending = self._begin()
        if pending.claims is None:
            return self._install("", None, False)
        m = self.manager
        key = pending.key
        if type(m.validator.store) is MemoryStore:
            # Everything this process knows is in its memory: a cached verdict needs no
            # await (an outage is never cached, so "keep" is not bypassed).
            known = m.validator.cached_locally(key)
            if known is not None and known.status != "outage":
                return self._settled(pending, known)
        outcome = await m.validator.arun(
            key,
            lambda: m._aconfirm(pending, self.client_ip, self.user_agent),
            timeout=m._wait_limit(),
            lifetime=pending.lifetime(),
        )
        mark = None
        if outcome.status == "outage" and m.settings.ON_BACKEND_ERROR == "keep":
            mark = await m.validator.aconfirmed(key)
        return self._settled(pending, outcome, mark)

    # -- what views use --------------------------------------------------------------

    def client(self) -> PocketBase:
        """Return this request's sync client (validating the cookie on first call)."""
        self._used = True
        if self._client is None:
            self._client = self.manager.new_client(self.load(), self.client_ip, self.user_agent)
        return self._client

    async def aclient(self) -> AsyncPocketBase:
        """Return this request's async client (validating the cookie on first call)."""
        self._used = True
        if self._async_client is None:
            store = await self.aload()
            self._async_client = self.manager.new_async_client(
                store, self.client_ip, self.user_agent
            )
        return self._async_client

    def user(self) -> Record | None:
        """Return the signed-in auth record, or ``None`` (sync)."""
        self._used = True
        store = self.load()
        return store.record if store.token else None

    async def auser(self) -> Record | None:
        """Return the signed-in auth record, or ``None`` (async)."""
        self._used = True
        store = await self.aload()
        return store.record if store.token else None

    def login(self, token: str, record: Mapping[str, Any] | None) -> None:
        """Sign the request in with *token* (e.g. from a login view's auth call)."""
        store = self._store if self._store is not None else self._install("", None, False)
        self._used = True
        store.save(token, record)

    def logout(self) -> None:
        """Sign the request out: the cookie is deleted and the token denied until it expires.

        The token stays valid *at PocketBase* (it has no logout); pb-ssr refuses it
        from now on wherever its store reaches: this process with the default
        in-process store, every worker and host with a shared one. To end the
        user's sessions at PocketBase too, see :meth:`ServiceClient.revoke_sessions`.
        """
        store = self._store if self._store is not None else self._install("", None, False)
        self._used = True
        # finalize() puts the token(s) on the deny list (store.clear() marks it).
        store.clear()

    def logout_everywhere(self, service: ServiceClient) -> bool:
        """Sign the user out here and end every session of theirs at PocketBase.

        The user's ``tokenKey`` is rotated through *service* (see
        :meth:`ServiceClient.revoke_sessions`), so every token of theirs, on every
        device, fails its next validation; this request's cookie is deleted at once.
        Nothing changes when PocketBase cannot be reached: the error propagates and the
        user stays signed in, free to try again.

        :returns: ``False`` when nobody was signed in (nothing to revoke).
        :raises ClientResponseError: when PocketBase refused or could not be reached.
        """
        user = self.user()
        if user is None:
            self.logout()
            return False
        service.revoke_sessions(self._collection_of(user), user.id)
        self.logout()
        return True

    async def alogout_everywhere(self, service: ServiceClient) -> bool:
        """The async twin of :meth:`logout_everywhere`."""
        user = await self.auser()
        if user is None:
            self.logout()
            return False
        await service.arevoke_sessions(self._collection_of(user), user.id)
        self.logout()
        return True

    def _collection_of(self, user: Record) -> str:
        claims = self._store.claims if self._store is not None else None
        return (claims.collection_id if claims is not None else "") or user.collection_id

    # -- the answer ------------------------------------------------------------------------

    def _writes(self) -> list[tuple[bytes, Outcome | None, float | None]]:
        """What this request teaches the store: ``(key, outcome, lifetime)``; no outcome = deny.

        Pure: :meth:`finalize` and :meth:`afinalize` apply it (sync or async I/O).
        """
        ops: list[tuple[bytes, Outcome | None, float | None]] = []
        store = self._store
        pending = self._begin()
        now = time.time()
        if self._cleared:
            # Signed out (session.logout() or pb.auth_store.clear()): every token this
            # request held goes on the deny list until it expires.
            for token in {self._installed[0], pending.token}:
                claims = read_auth_token(token) if token else None
                if claims is not None:
                    ops.append((token_key(token), None, claims.seconds_left(now)))
        if store is None or not store.token:
            return ops
        token = store.token
        fresh = token != pending.token
        changed = (
            not fresh
            and token == self._installed[0]
            and self._outcome is not None
            and _trim(store.record, self.manager) != self._installed[1]
        )
        if not (fresh or changed):
            return ops  # the common page view: nothing new to remember
        claims = read_auth_token(token)
        if claims is None:
            return ops
        validator = self.manager.validator
        if fresh:
            # Issued during this request: a sign-in (PocketBase just said so) or the
            # renewal PocketBase returned. Confirmed: the next page needs no round trip,
            # and "keep" may serve it through an outage.
            issued = Outcome(status="valid", record=store.record, at=validator.now())
            ops.append((token_key(token), issued, claims.seconds_left(now)))
        elif self._outcome is not None:
            # The view changed the confirmed user's record (verified, name...): update
            # the verdict, or the next request would restore the stale copy. Its age
            # is kept, so this never extends how long the token goes unchecked.
            was = self._outcome
            update = Outcome(
                status="valid", record=store.record, new_token=was.new_token, at=was.at
            )
            ops.append((token_key(token), update, claims.seconds_left(now)))
        return ops

    def finalize(self) -> SessionResult:
        """Return the ``Set-Cookie`` to emit (or none) and the caching advice."""
        validator = self.manager.validator
        for key, outcome, lifetime in self._writes():
            if outcome is None:
                validator.deny(key, lifetime or 0.0)
            else:
                validator.store_outcome(key, outcome, lifetime=lifetime)
        return self._result()

    async def afinalize(self) -> SessionResult:
        """The async twin of :meth:`finalize` (a shared store is written without blocking)."""
        validator = self.manager.validator
        for key, outcome, lifetime in self._writes():
            if outcome is None:
                await validator.adeny(key, lifetime or 0.0)
            else:
                await validator.astore_outcome(key, outcome, lifetime=lifetime)
        return self._result()

    def _result(self) -> SessionResult:
        cookie = self._cookie_update()
        return SessionResult(cookie=cookie, user_dependent=self._used or cookie is not None)

    def _cookie_update(self) -> CookieUpdate | None:
        manager = self.manager
        pending = self._begin()
        store = self._store
        if store is None:
            # Never checked: only a cookie that cannot be a session goes away now.
            if pending.present and pending.claims is None:
                return manager.codec.delete()
            return None
        token = store.token
        claims = store.claims
        alive = claims is not None and claims.type == "auth" and not claims.is_expired(time.time())
        if not token or not alive:
            if not pending.present:
                return None
            if self._keep_cookie and not self._cleared:
                return None
            return manager.codec.delete()
        assert claims is not None
        record = store.record
        unchanged = token == pending.token and _trim(record, manager) == pending.trimmed
        if unchanged:
            return None
        left = claims.seconds_left(time.time())
        max_age = (
            int(left) if left != float("inf") else int(manager.settings.REFRESH_WITHIN or 86400)
        )
        return manager.codec.dump(token, record, max_age=max_age)

    def __repr__(self) -> str:
        store = self._store
        state = "unchecked" if store is None else repr(store)
        return f"<RequestSession {state} verified={self.verified}>"


def _trim(record: Mapping[str, Any] | None, manager: SessionManager) -> dict[str, Any]:
    if record is None:
        return {}
    return {k: record[k] for k in manager.settings.RECORD_FIELDS if k in record}


def build_store(settings: Settings, *, timer: Any = time.time) -> SessionStore:
    """Build the session store that ``settings.STORE`` names.

    ``"memory"`` is a :class:`MemoryStore`; a Redis URL is a :class:`RedisStore`
    layered over this process's memory (see :class:`LayeredStore`); an object is
    used as it is. ``"django-cache:<alias>"`` is built by the Django adapter.

    :raises ConfigurationError: for ``django-cache:`` outside Django, or a Redis URL
        without redis-py installed.
    """
    store = settings.STORE
    local = MemoryStore(settings.VALIDATE_CACHE_SIZE, timer=timer)
    if not isinstance(store, str):
        return store  # type: ignore[no-any-return]
    if store == "memory":
        return local
    if store.startswith("django-cache:"):
        from ._errors import ConfigurationError

        raise ConfigurationError(
            "STORE = 'django-cache:...' works only with pb_ssr_django (it reads Django's "
            "CACHES); use a redis:// URL or a SessionStore object elsewhere."
        )
    from ._redis_store import RedisStore

    return LayeredStore(RedisStore(store, timeout=settings.STORE_TIMEOUT), local=local)
