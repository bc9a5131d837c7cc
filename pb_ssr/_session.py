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

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ._auth_store import AuthStore
from ._client import AsyncPocketBase, PocketBase
from ._config import Settings
from ._cookie import CookieCodec, CookieUpdate
from ._errors import ClientResponseError, PocketBaseUnavailable
from ._forwarding import forward_headers
from ._records import Record
from ._tokens import TokenClaims, decode_claims
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


@dataclass(slots=True)
class _Pending:
    """The cookie as read, before PocketBase was asked."""

    present: bool
    token: str = ""
    record: dict[str, Any] | None = None
    claims: TokenClaims | None = None


class SessionManager:
    """One per app: settings, cookie codec and the validation cache.

    :param settings: validated :class:`~pb_ssr.Settings`.
    :param secret_key: the app's secret key (signs the cookie).
    :param secret_key_fallbacks: older keys still accepted (key rotation).
    :param http_client: an ``httpx.Client`` instead of the shared pool.
    :param async_http_client: an ``httpx.AsyncClient`` instead of the shared pool.

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
    ) -> None:
        self.settings = settings
        self.codec = self.codec_class(
            settings, secret_key=secret_key, fallbacks=secret_key_fallbacks
        )
        self.validator = Validator(
            ttl=settings.VALIDATE_TTL, maxsize=settings.VALIDATE_CACHE_SIZE, timer=self.now
        )
        self.http_client = http_client
        self.async_http_client = async_http_client
        self._timeout = httpx.Timeout(settings.TIMEOUT, connect=min(3.0, settings.TIMEOUT))

    @staticmethod
    def now() -> float:
        """The monotonic clock of the validation cache (a seam for tests)."""
        return time.monotonic()

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
        )

    # -- the pure steps -----------------------------------------------------------------

    def _read(self, cookie_value: str | None) -> _Pending:
        pending = _Pending(present=bool(cookie_value))
        loaded = self.codec.load(cookie_value)
        if loaded is None:
            return pending
        token, record = loaded
        claims = decode_claims(token)
        # Only live auth tokens are worth a round trip; anything else is dropped now.
        if (
            claims is None
            or claims.type != "auth"
            or not claims.collection_id
            or claims.is_expired(time.time())
        ):
            return pending
        pending.token, pending.record, pending.claims = token, record, claims
        return pending

    def _settle(self, pending: _Pending, outcome: Outcome) -> tuple[str, Record | None, bool, bool]:
        """Apply the policy: return (token, record, verified, keep_cookie) for the request."""
        claims = pending.claims
        assert claims is not None
        if outcome.status == "valid":
            token = pending.token
            if (
                claims.refreshable
                and outcome.new_token
                and outcome.new_token != token
                and claims.seconds_left(time.time()) < self.settings.REFRESH_WITHIN
            ):
                token = outcome.new_token
                # The renewed token is as good as confirmed: next page, no round trip.
                self.validator.store(
                    token_key(token),
                    Outcome(status="valid", record=outcome.record, new_token=token, at=outcome.at),
                )
            return token, outcome.record, True, False
        if outcome.status == "rejected":
            return "", None, False, False
        error = outcome.error or ClientResponseError(status=0)
        policy = self.settings.ON_BACKEND_ERROR
        logger.warning(
            "PocketBase could not confirm a session (token_hash=%s, status=%s: %s); policy %r.",
            token_key(pending.token).hex()[:12],
            error.status,
            error.message,
            policy,
        )
        if policy == "raise":
            raise PocketBaseUnavailable.from_error(error)
        if policy == "anonymous":
            # Anonymous for this request, but the cookie stays: PocketBase only blinked.
            return "", None, False, True
        if pending.record is not None:
            record = Record(pending.record)
        else:
            # A token-only cookie (record trimmed away): the claims still say who it is.
            record = Record({"id": claims.record_id, "collectionId": claims.collection_id})
        return pending.token, record, False, True

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

    def load(self) -> AuthStore:
        """Check the cookie's token (sync) and return the request's auth store."""
        if self._store is not None:
            return self._store
        pending = self._begin()
        if pending.claims is None:
            return self._install("", None, False)
        m = self.manager
        outcome = m.validator.run(
            token_key(pending.token),
            lambda: m._confirm(pending, self.client_ip, self.user_agent),
            timeout=m._wait_limit(),
        )
        return self._install(*m._settle(pending, outcome))

    async def aload(self) -> AuthStore:
        """The async twin of :meth:`load`."""
        if self._store is not None:
            return self._store
        pending = self._begin()
        if pending.claims is None:
            return self._install("", None, False)
        m = self.manager
        outcome = await m.validator.arun(
            token_key(pending.token),
            lambda: m._aconfirm(pending, self.client_ip, self.user_agent),
            timeout=m._wait_limit(),
        )
        return self._install(*m._settle(pending, outcome))

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
        return self.load().record if self.load().token else None

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
        """Sign the request out: the cookie is deleted and the cache entry dropped."""
        store = self._store if self._store is not None else self._install("", None, False)
        self._used = True
        for token in {store.token, self._begin().token}:
            if token:
                self.manager.validator.forget(token_key(token))
        store.clear()

    # -- the answer ------------------------------------------------------------------------

    def finalize(self) -> SessionResult:
        """Return the ``Set-Cookie`` to emit (or none) and the caching advice."""
        self._remember_record_change()
        cookie = self._cookie_update()
        return SessionResult(cookie=cookie, user_dependent=self._used or cookie is not None)

    def _remember_record_change(self) -> None:
        # The view changed the confirmed user's record (verified, name...): update the
        # cached answer, or the next request would restore the stale copy.
        store = self._store
        if store is None or not self.verified or not store.token:
            return
        token, trimmed = self._installed
        if store.token != token or _trim(store.record, self.manager) == trimmed:
            return
        key = token_key(token)
        cached = self.manager.validator.cached(key)
        if cached is not None and cached.status == "valid":
            self.manager.validator.store(
                key,
                Outcome(
                    status="valid",
                    record=store.record,
                    new_token=cached.new_token,
                    at=cached.at,
                ),
            )

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
        unchanged = token == pending.token and _trim(record, manager) == _trim(
            pending.record, manager
        )
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
