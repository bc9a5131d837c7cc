"""The superuser service client: aggregation and privileged work on the server.

One per process. It signs in as a superuser (or uses a pre-issued token),
caches the token, renews it before it expires, and hands out cheap per-call
clients on the shared pool. It never forwards end-user addresses: PocketBase's
``superuserIPs`` allow-list checks the forwarded address, and a superuser call
is the app's own, not the visitor's.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import threading
import time
import weakref
from typing import Any

import httpx
from cachetools import TTLCache

from ._auth_store import AuthStore
from ._base import RequestSpec
from ._client import AsyncPocketBase, PocketBase
from ._config import Settings
from ._errors import ClientResponseError, ConfigurationError
from ._records import Record
from ._store import classify_error
from ._sync._services import RecordService
from ._tokens import decode_claims

__all__ = ["ServiceClient"]

logger = logging.getLogger("pb_ssr.service")

_SUPERUSERS = "_superusers"
#: How a pre-issued token is confirmed: a superuser-only read that answers a revoked
#: token with 401. Not auth-refresh: before PocketBase 0.29 that refuses every
#: non-refreshable (impersonation) token, the usual kind of pre-issued token.
_SUPERUSER_PROBE = "/api/collections"
_PROBE_QUERY = {"perPage": 1, "skipTotal": 1, "fields": "id"}
#: PocketBase's ``tokenKey`` fields take 30 to 60 characters (50 by default).
_TOKEN_KEY_ALPHABET = string.ascii_letters + string.digits


class _ServicePocketBase(PocketBase):
    """A superuser client that signs in again once when its token is refused (401)."""

    _service: ServiceClient | None = None

    def _send(self, spec: RequestSpec) -> Any:
        used = self.auth_store.token
        try:
            return super()._send(spec)
        except ClientResponseError as exc:
            service = self._service
            if exc.status != 401 or service is None or not used:
                raise
            token = service._renew_after_refusal(used)
            self.auth_store.save(token, service._record)
            return super()._send(spec)


class _AsyncServicePocketBase(AsyncPocketBase):
    """The async twin of :class:`_ServicePocketBase`."""

    _service: ServiceClient | None = None

    async def _send(self, spec: RequestSpec) -> Any:
        used = self.auth_store.token
        try:
            return await super()._send(spec)
        except ClientResponseError as exc:
            service = self._service
            if exc.status != 401 or service is None or not used:
                raise
            token = await service._arenew_after_refusal(used)
            self.auth_store.save(token, service._record)
            return await super()._send(spec)


class ServiceClient:
    """A thread- and async-safe superuser client with a cached, self-renewing token.

    :param url: PocketBase's address.
    :param email: superuser email (default: ``$PB_SUPERUSER_EMAIL``).
    :param password: superuser password (default: ``$PB_SUPERUSER_PASSWORD``).
    :param token: a pre-issued token (e.g. a superuser impersonation token used as
        an API key) instead of email and password; it is never renewed.
    :param renew_within: renew the superuser token when it has less than this many
        seconds left (superuser tokens last a day by default).
    :param timeout: per-request timeout in seconds.
    :param confirm_every: confirm the superuser token with PocketBase (``auth-refresh``)
        at most this often, in seconds (``VALIDATE_TTL`` from the settings). PocketBase
        answers a *revoked* superuser token on list calls as a guest, without an
        error; confirming is how the service client notices and signs in again.

    A call refused with 401 signs in again and is retried once. When that is not
    possible (no credentials, or they no longer work) the call raises a
    :class:`ClientResponseError` whose message names the service client: it never
    goes on with a guest's view of the data.

    Example::

        service = ServiceClient.from_settings(settings)
        counts = service.collection("messages").get_full_list(fields="user")
        alice = service.as_user(alice_id)           # sees exactly what Alice sees
        alice.collection("messages").get_list()
    """

    def __init__(
        self,
        url: str,
        *,
        email: str | None = None,
        password: str | None = None,
        token: str | None = None,
        renew_within: float = 3600.0,
        timeout: float = 30.0,
        confirm_every: float = 60.0,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not token and not (email and password):
            raise ConfigurationError(
                "The service client needs a superuser: set PB_SUPERUSER_EMAIL and "
                "PB_SUPERUSER_PASSWORD (or SUPERUSER_EMAIL/SUPERUSER_PASSWORD in the "
                "pb-ssr settings), or give a pre-issued SERVICE_TOKEN."
            )
        if token and decode_claims(token) is None:
            raise ConfigurationError(
                "The pre-issued service token (SERVICE_TOKEN / PB_SERVICE_TOKEN) is not a "
                "PocketBase token: copy the whole token, or use superuser credentials."
            )
        self.url = url
        self._email = email
        self._password = password
        self._static_token = token or ""
        self.renew_within = renew_within
        self.timeout = timeout
        self.confirm_every = confirm_every
        #: When PocketBase last confirmed the current token (``time.monotonic``).
        self._confirmed_at = float("-inf")
        self.http_client = http_client
        self.async_http_client = async_http_client
        self._token = ""
        self._record: Record | None = None
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._impersonated: TTLCache[tuple[str, str, int], tuple[str, Record]] = TTLCache(
            maxsize=1024, ttl=86400
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ServiceClient:
        """Build the service client from pb-ssr settings (credentials or ``SERVICE_TOKEN``)."""
        kwargs.setdefault("confirm_every", settings.VALIDATE_TTL)
        kwargs.setdefault("timeout", settings.TIMEOUT)
        return cls(
            settings.URL,
            email=settings.SUPERUSER_EMAIL,
            password=settings.SUPERUSER_PASSWORD,
            token=settings.SERVICE_TOKEN,
            **kwargs,
        )

    # -- the token ----------------------------------------------------------------------

    def _current(self) -> str | None:
        """The cached token if it is still good for a while, else ``None``."""
        token = self._static_token or self._token
        claims = decode_claims(token)
        if not token or claims is None:
            return None
        if self._static_token:
            if claims.is_expired(time.time()):
                raise ClientResponseError(
                    url=self.url,
                    status=401,
                    response={
                        "message": "The pre-issued service token has expired; issue a new one."
                    },
                )
            return token
        if claims.seconds_left(time.time()) <= self.renew_within:
            return None
        return token

    def _store_login(self, pb: PocketBase | AsyncPocketBase) -> str:
        with self._state_lock:
            self._token = pb.auth_store.token
            self._record = pb.auth_store.record
            self._confirmed_at = time.monotonic()
            self._impersonated.clear()
        return self._token

    def _due(self) -> bool:
        return time.monotonic() - self._confirmed_at >= self.confirm_every

    def token(self) -> str:
        """Return a valid superuser token, signing in or renewing when due (thread-safe).

        The token is confirmed with PocketBase at most once per ``confirm_every``.
        """
        current = self._current()
        if current and not self._due():
            return current
        with self._lock:
            current = self._current()
            if current and self._due():
                current = self._confirm(current)
            if current:
                return current
            return self._sign_in()

    async def atoken(self) -> str:
        """The async twin of :meth:`token`: one sign-in per loop however many tasks ask."""
        current = self._current()
        if current and not self._due():
            return current
        loop = asyncio.get_running_loop()
        lock = self._async_locks.get(loop)
        if lock is None:
            lock = self._async_locks.setdefault(loop, asyncio.Lock())
        async with lock:
            current = self._current()
            if current and self._due():
                current = await self._aconfirm(current)
            if current:
                return current
            return await self._asign_in()

    def _sign_in(self) -> str:
        pb = PocketBase(self.url, http_client=self.http_client, timeout=self.timeout)
        try:
            pb.collection(_SUPERUSERS).auth_with_password(*self._credentials())
        except ClientResponseError as exc:
            raise self._sign_in_error(exc) from exc
        return self._store_login(pb)

    async def _asign_in(self) -> str:
        pb = AsyncPocketBase(self.url, http_client=self.async_http_client, timeout=self.timeout)
        try:
            await pb.collection(_SUPERUSERS).auth_with_password(*self._credentials())
        except ClientResponseError as exc:
            raise self._sign_in_error(exc) from exc
        return self._store_login(pb)

    def _confirm(self, token: str) -> str:
        """Ask PocketBase about *token*: the token to use, or ``""`` to sign in again."""
        pb = PocketBase(
            self.url,
            http_client=self.http_client,
            auth_store=AuthStore(token),
            timeout=self.timeout,
        )
        try:
            if token == self._static_token:
                pb.send(_SUPERUSER_PROBE, query=_PROBE_QUERY)
            else:
                pb.collection(_SUPERUSERS).auth_refresh()
        except ClientResponseError as exc:
            return self._after_confirm_error(token, exc)
        return self._after_confirm(pb)

    async def _aconfirm(self, token: str) -> str:
        pb = AsyncPocketBase(
            self.url,
            http_client=self.async_http_client,
            auth_store=AuthStore(token),
            timeout=self.timeout,
        )
        try:
            if token == self._static_token:
                await pb.send(_SUPERUSER_PROBE, query=_PROBE_QUERY)
            else:
                await pb.collection(_SUPERUSERS).auth_refresh()
        except ClientResponseError as exc:
            return self._after_confirm_error(token, exc)
        return self._after_confirm(pb)

    def _after_confirm(self, pb: PocketBase | AsyncPocketBase) -> str:
        if self._static_token:
            with self._state_lock:
                self._confirmed_at = time.monotonic()
            return self._static_token
        return self._store_login(pb)  # auth-refresh renewed it, too

    def _after_confirm_error(self, token: str, exc: ClientResponseError) -> str:
        if classify_error(exc) != "rejected":
            # PocketBase is down or busy: go on with the token; the call itself will
            # tell, and the next call asks again.
            return token
        self._drop(token, exc)
        return ""

    def _drop(self, token: str, exc: ClientResponseError) -> None:
        """Forget *token* after PocketBase refused it (revoked, rotated, expired)."""
        with self._state_lock:
            if token == self._static_token:
                if not (self._email and self._password):
                    raise ClientResponseError(
                        url=exc.url,
                        status=exc.status,
                        response={
                            "message": "pb-ssr's service client: PocketBase refused the "
                            "pre-issued SERVICE_TOKEN (revoked or expired). Issue a new one, "
                            "or configure superuser credentials.",
                        },
                    ) from exc
                logger.warning(
                    "pb-ssr's service client: PocketBase refused the pre-issued "
                    "SERVICE_TOKEN; signing in with the superuser credentials instead."
                )
                self._static_token = ""
            elif token == self._token:
                logger.warning(
                    "pb-ssr's service client: PocketBase refused the superuser token "
                    "(revoked: password or tokenKey changed); signing in again."
                )
                self._token = ""
            self._confirmed_at = float("-inf")
            self._impersonated.clear()

    def _renew_after_refusal(self, used: str) -> str:
        """A call with *used* got a 401: drop it and return a fresh token (sync)."""
        self._drop(used, ClientResponseError(url=self.url, status=401))
        return self.token()

    async def _arenew_after_refusal(self, used: str) -> str:
        """The async twin of :meth:`_renew_after_refusal`."""
        self._drop(used, ClientResponseError(url=self.url, status=401))
        return await self.atoken()

    def _sign_in_error(self, exc: ClientResponseError) -> ClientResponseError:
        if exc.status == 0 or exc.status >= 500:
            return exc
        return ClientResponseError(
            url=exc.url,
            status=exc.status,
            response={
                **exc.response,
                "message": "pb-ssr's service client could not sign in as superuser "
                f"{self._email!r}: {exc.message} Check SUPERUSER_EMAIL and "
                "SUPERUSER_PASSWORD (or $PB_SUPERUSER_EMAIL / $PB_SUPERUSER_PASSWORD).",
            },
            original_error=exc,
        )

    def _credentials(self) -> tuple[str, str]:
        if not self._email or not self._password:
            raise ClientResponseError(
                url=self.url,
                status=401,
                response={
                    "message": "The service token is unusable and no superuser "
                    "credentials are configured."
                },
            )
        return self._email, self._password

    def invalidate(self) -> None:
        """Forget the cached token (e.g. after a 401); the next call signs in again."""
        with self._state_lock:
            self._token = ""
            self._impersonated.clear()

    # -- clients -----------------------------------------------------------------------

    def client(self) -> PocketBase:
        """Return a superuser client for one unit of work (cheap: shared pool)."""
        pb = _ServicePocketBase(
            self.url,
            http_client=self.http_client,
            auth_store=AuthStore(self.token(), self._record),
            timeout=self.timeout,
        )
        pb._service = self
        return pb

    async def aclient(self) -> AsyncPocketBase:
        """Return an async superuser client for one unit of work."""
        token = await self.atoken()
        pb = _AsyncServicePocketBase(
            self.url,
            http_client=self.async_http_client,
            auth_store=AuthStore(token, self._record),
            timeout=self.timeout,
        )
        pb._service = self
        return pb

    def collection(self, name: str) -> RecordService:
        """Shortcut for ``service.client().collection(name)``."""
        return self.client().collection(name)

    def as_user(
        self, user_id: str, *, duration: int = 300, collection: str = "users"
    ) -> PocketBase:
        """Return a client impersonating *user_id*: it sees exactly what that user sees.

        The impersonation token is cached and reused for most of its *duration*.

        :param duration: the impersonation token's lifetime in seconds (> 0).
        """
        key = (collection, user_id, _duration(duration))
        cached = self._cached_impersonation(key)
        if cached is None:
            other = self._impersonate(user_id, key[2], collection)
            cached = (other.auth_store.token, other.auth_store.record or Record())
            self._remember_impersonation(key, cached)
        return PocketBase(
            self.url,
            http_client=self.http_client,
            auth_store=AuthStore(*cached),
            timeout=self.timeout,
        )

    async def aas_user(
        self, user_id: str, *, duration: int = 300, collection: str = "users"
    ) -> AsyncPocketBase:
        """The async twin of :meth:`as_user`."""
        key = (collection, user_id, _duration(duration))
        cached = self._cached_impersonation(key)
        if cached is None:
            other = await self._aimpersonate(user_id, key[2], collection)
            cached = (other.auth_store.token, other.auth_store.record or Record())
            self._remember_impersonation(key, cached)
        return AsyncPocketBase(
            self.url,
            http_client=self.async_http_client,
            auth_store=AuthStore(*cached),
            timeout=self.timeout,
        )

    def _impersonate(self, user_id: str, duration: int, collection: str) -> PocketBase:
        su = self.client()
        try:
            return su.collection(collection).impersonate(user_id, duration)
        except ClientResponseError as exc:
            if exc.status != 401:
                raise
            # The superuser token was refused: sign in again, once.
            token = self._renew_after_refusal(su.auth_store.token)
            su.auth_store.save(token, self._record)
            return su.collection(collection).impersonate(user_id, duration)

    async def _aimpersonate(self, user_id: str, duration: int, collection: str) -> AsyncPocketBase:
        su = await self.aclient()
        try:
            return await su.collection(collection).impersonate(user_id, duration)
        except ClientResponseError as exc:
            if exc.status != 401:
                raise
            token = await self._arenew_after_refusal(su.auth_store.token)
            su.auth_store.save(token, self._record)
            return await su.collection(collection).impersonate(user_id, duration)

    # -- sign out everywhere ----------------------------------------------------------

    def revoke_sessions(self, collection: str, record_id: str) -> None:
        """Sign a user out of every device: every token of the record stops working.

        PocketBase signs its tokens with the record's ``tokenKey``; a new random
        ``tokenKey`` makes every token issued so far fail ``auth-refresh`` (401). pb-ssr
        sessions holding one are refused at their next validation (within
        ``VALIDATE_TTL``). The user signs in again with the same password.

        :param collection: the auth collection (name or id), e.g. ``"users"``.
        :param record_id: the auth record whose sessions end.
        """
        self.collection(collection).update(record_id, {"tokenKey": _new_token_key()})

    async def arevoke_sessions(self, collection: str, record_id: str) -> None:
        """The async twin of :meth:`revoke_sessions`."""
        su = await self.aclient()
        await su.collection(collection).update(record_id, {"tokenKey": _new_token_key()})

    def _cached_impersonation(self, key: tuple[str, str, int]) -> tuple[str, Record] | None:
        with self._state_lock:
            cached = self._impersonated.get(key)
        if cached is None:
            return None
        claims = decode_claims(cached[0])
        # Reuse while at least a fifth of the lifetime (and 5 s) is left.
        if claims is None or claims.seconds_left(time.time()) < max(5.0, key[2] / 5):
            return None
        return cached

    def _remember_impersonation(self, key: tuple[str, str, int], value: tuple[str, Record]) -> None:
        with self._state_lock:
            self._impersonated[key] = value

    def __repr__(self) -> str:
        who = "token" if self._static_token else (self._email or "?")
        return f"<ServiceClient {self.url!r} as {who!r}>"


def _duration(duration: int) -> int:
    if isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0:
        raise ValueError(
            f"duration must be a positive number of seconds, got {duration!r} "
            "(PocketBase reads 0 as the collection's default, days long)."
        )
    return duration


def _new_token_key() -> str:
    return "".join(secrets.choice(_TOKEN_KEY_ALPHABET) for _ in range(50))
