"""The superuser service client: aggregation and privileged work on the server.

One per process. It signs in as a superuser (or uses a pre-issued token),
caches the token, renews it before it expires, and hands out cheap per-call
clients on the shared pool. It never forwards end-user addresses: PocketBase's
``superuserIPs`` allow-list checks the forwarded address, and a superuser call
is the app's own, not the visitor's.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import Any

import httpx
from cachetools import TTLCache

from ._auth_store import AuthStore
from ._client import AsyncPocketBase, PocketBase
from ._config import Settings
from ._errors import ClientResponseError
from ._records import Record
from ._sync._services import RecordService
from ._tokens import decode_claims

__all__ = ["ServiceClient"]

_SUPERUSERS = "_superusers"


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
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not token and not (email and password):
            raise ValueError(
                "The service client needs a superuser: set PB_SUPERUSER_EMAIL and "
                "PB_SUPERUSER_PASSWORD (or SUPERUSER_EMAIL/SUPERUSER_PASSWORD in the "
                "pb-ssr settings), or give a pre-issued SERVICE_TOKEN."
            )
        if token and decode_claims(token) is None:
            raise ValueError(
                "The pre-issued service token (SERVICE_TOKEN / PB_SERVICE_TOKEN) is not a "
                "PocketBase token: copy the whole token, or use superuser credentials."
            )
        self.url = url
        self._email = email
        self._password = password
        self._static_token = token or ""
        self.renew_within = renew_within
        self.timeout = timeout
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
            self._impersonated.clear()
        return self._token

    def token(self) -> str:
        """Return a valid superuser token, signing in or renewing when due (thread-safe)."""
        current = self._current()
        if current:
            return current
        with self._lock:
            current = self._current()
            if current:
                return current
            pb = PocketBase(self.url, http_client=self.http_client, timeout=self.timeout)
            pb.collection(_SUPERUSERS).auth_with_password(*self._credentials())
            return self._store_login(pb)

    async def atoken(self) -> str:
        """The async twin of :meth:`token`: one sign-in per loop however many tasks ask."""
        current = self._current()
        if current:
            return current
        loop = asyncio.get_running_loop()
        lock = self._async_locks.get(loop)
        if lock is None:
            lock = self._async_locks.setdefault(loop, asyncio.Lock())
        async with lock:
            current = self._current()
            if current:
                return current
            pb = AsyncPocketBase(self.url, http_client=self.async_http_client, timeout=self.timeout)
            await pb.collection(_SUPERUSERS).auth_with_password(*self._credentials())
            return self._store_login(pb)

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
        return PocketBase(
            self.url,
            http_client=self.http_client,
            auth_store=AuthStore(self.token(), self._record),
            timeout=self.timeout,
        )

    async def aclient(self) -> AsyncPocketBase:
        """Return an async superuser client for one unit of work."""
        token = await self.atoken()
        return AsyncPocketBase(
            self.url,
            http_client=self.async_http_client,
            auth_store=AuthStore(token, self._record),
            timeout=self.timeout,
        )

    def collection(self, name: str) -> RecordService:
        """Shortcut for ``service.client().collection(name)``."""
        return self.client().collection(name)

    def as_user(
        self, user_id: str, *, duration: int = 300, collection: str = "users"
    ) -> PocketBase:
        """Return a client impersonating *user_id*: it sees exactly what that user sees.

        The impersonation token is cached and reused for most of its *duration*.
        """
        key = (collection, user_id, int(duration))
        cached = self._cached_impersonation(key)
        if cached is None:
            other = self.client().collection(collection).impersonate(user_id, int(duration))
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
        key = (collection, user_id, int(duration))
        cached = self._cached_impersonation(key)
        if cached is None:
            su = await self.aclient()
            other = await su.collection(collection).impersonate(user_id, int(duration))
            cached = (other.auth_store.token, other.auth_store.record or Record())
            self._remember_impersonation(key, cached)
        return AsyncPocketBase(
            self.url,
            http_client=self.async_http_client,
            auth_store=AuthStore(*cached),
            timeout=self.timeout,
        )

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
