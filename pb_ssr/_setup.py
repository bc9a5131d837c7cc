"""One setup path for every adapter: settings, session manager and service client.

An adapter reads its framework's configuration into a plain mapping and calls
:meth:`PocketBaseConfig.from_mapping`; per request it calls :meth:`~PocketBaseConfig.open`
with what the request says (cookie, addresses, User-Agent). Everything else --
validation, the cookie's secret keys, the lazily built service client, the OAuth2
state cookie, file URLs, health checks -- lives here, once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from itsdangerous import BadData, URLSafeTimedSerializer

from ._client import PocketBase
from ._compat import OLDEST_POCKETBASE, server_version_problem
from ._config import Advice, Settings, settings_advice
from ._cookie import CookieUpdate
from ._errors import ClientResponseError, ConfigurationError
from ._forwarding import resolve_client_ip
from ._outage import OutageLog, is_outage
from ._service import ServiceClient
from ._session import RequestSession, SessionManager
from ._store import SessionStore
from ._tokens import decode_claims
from .relay import Feed, Relay

__all__ = ["OAUTH2_COOKIE_NAME", "OAUTH2_MAX_AGE", "HasAuth", "PocketBaseConfig"]

#: The cookie that carries the OAuth2 state and PKCE verifier to the callback.
OAUTH2_COOKIE_NAME = "pb_oauth2_state"
#: Seconds the OAuth2 state cookie lives (the time to sign in at the provider).
OAUTH2_MAX_AGE = 600
#: Seconds the health checks wait for PocketBase.
HEALTH_TIMEOUT = 3.0
_OAUTH2_SALT = "pb_ssr.oauth2-state"


class HasAuth(Protocol):
    """A user to sign a test client in as: ``pb_ssr.testing.TestUser``, an auth response."""

    @property
    def token(self) -> str: ...

    @property
    def record(self) -> Mapping[str, Any] | None: ...


class PocketBaseConfig:
    """The validated pb-ssr setup of one app: what both adapters keep per app.

    :param settings: the core settings.
    :param manager: the session manager (cookie codec, validation, store).
    :param options: the adapter's own keys, taken out of the mapping (defaults applied).
    :param secret_keys: the app's secret keys, oldest first (sign the OAuth2 state).
    """

    def __init__(
        self,
        settings: Settings,
        manager: SessionManager,
        options: Mapping[str, Any] | None = None,
        *,
        secret_keys: Sequence[str | bytes] = (),
    ) -> None:
        self.settings = settings
        self.manager = manager
        self.options: dict[str, Any] = dict(options or {})
        # Oldest first, like itsdangerous wants them: it signs with the last one.
        self._keys = [k.encode() if isinstance(k, str) else k for k in secret_keys if k]
        self._service: ServiceClient | None = None
        self._relays: dict[tuple[tuple[str, str, int], ...], Relay] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_mapping(
        cls,
        raw: Mapping[str, Any],
        *,
        secret_key: str | bytes | None,
        secret_key_fallbacks: Sequence[str | bytes] = (),
        source: str = "POCKETBASE",
        options: Mapping[str, Any] | None = None,
        store: Callable[[Settings], SessionStore | None] | None = None,
        async_sync_pool: bool = False,
    ) -> PocketBaseConfig:
        """Validate *raw* and build the session manager.

        :param options: adapter-only keys and their defaults; they are taken out of
            *raw* before the rest goes to :meth:`Settings.from_mapping`.
        :param store: builds a store the core cannot (Django's cache), or ``None``.
        :param async_sync_pool: async clients send through the process's sync pool.
        :raises ConfigurationError: a missing ``URL``, an unknown key, a bad value, no
            secret key for the signed cookie.
        """
        core = dict(raw)
        chosen = {key: core.pop(key, default) for key, default in (options or {}).items()}
        settings = Settings.from_mapping(core, source=source)
        manager = SessionManager(
            settings,
            secret_key=secret_key,
            secret_key_fallbacks=secret_key_fallbacks,
            store=store(settings) if store is not None else None,
            async_sync_pool=async_sync_pool,
        )
        return cls(settings, manager, chosen, secret_keys=[*secret_key_fallbacks, secret_key or ""])

    def __repr__(self) -> str:
        return f"<PocketBaseConfig {self.settings.URL!r}>"

    # -- per request -------------------------------------------------------------------

    def open(
        self,
        cookie: str | None,
        *,
        remote_addr: str | None,
        forwarded_for: str | None = None,
        user_agent: str | None = None,
    ) -> RequestSession:
        """The session of one request (no I/O until a client is asked for).

        :param cookie: the auth cookie as the browser sent it.
        :param remote_addr: the peer address of the connection.
        :param forwarded_for: the ``X-Forwarded-For`` header, trusted only from
            ``TRUSTED_PROXIES``.
        """
        settings = self.settings
        client_ip = resolve_client_ip(remote_addr, forwarded_for, settings.TRUSTED_PROXIES)
        return self.manager.open(cookie, client_ip=client_ip, user_agent=user_agent)

    @property
    def service(self) -> ServiceClient:
        """The app's superuser :class:`~pb_ssr.ServiceClient`, built once on first use.

        :raises ConfigurationError: no superuser credentials or service token are set.
        """
        with self._lock:
            if self._service is None:
                self._service = ServiceClient.from_settings(self.settings)
            return self._service

    def relay(self, feeds: Iterable[Feed]) -> Relay:
        """The :class:`~pb_ssr.relay.Relay` of *feeds*, with the ``REALTIME_*`` settings.

        Built on first use and kept: each feed list declared by the app gets one relay
        (and one ``REALTIME_MAX_STREAMS`` cap) per process, however many requests ask.

        :raises ValueError: two feeds share a name.
        """
        feeds = tuple(feeds)
        key = tuple((f.name, f.subscription, id(f.render)) for f in feeds)
        with self._lock:
            relay = self._relays.get(key)
            if relay is None:
                relay = self._relays[key] = Relay(feeds, **self.settings.relay_options)
            return relay

    def file_url(
        self,
        record: Mapping[str, Any] | None,
        filename: object,
        thumb: str | None = None,
        download: bool = False,
        token: str | None = None,
    ) -> str:
        """The browser's URL of *record*'s file (``""`` when either is missing).

        Points at ``PUBLIC_URL`` (or ``URL``). *token* is a file token
        (``pb.files.get_token()``) for protected files.
        """
        if not filename or not isinstance(record, Mapping):
            return ""
        files = PocketBase(self.settings.PUBLIC_URL or self.settings.URL).files
        return files.get_url(
            record, str(filename), thumb=thumb or None, download=download, token=token
        )

    def unavailable(
        self, error: BaseException, path: str, outages: OutageLog
    ) -> dict[str, str] | None:
        """The headers of the 503 that answers *error*, when it is an outage pb-ssr handles.

        ``None`` for anything else: not a :func:`~pb_ssr.is_outage` error (a 404 stays
        the view's), or ``HANDLE_UNAVAILABLE`` is off. The outage is logged through
        *outages* (one line a minute).
        """
        if not isinstance(error, ClientResponseError) or not is_outage(error):
            return None
        if not self.settings.HANDLE_UNAVAILABLE:
            return None
        outages.record(error, path)
        return {"Retry-After": str(self.settings.retry_after), "Cache-Control": "no-store"}

    # -- the OAuth2 state cookie -------------------------------------------------------

    def oauth2_cookie(self, kept: Mapping[str, str] | None, *, path: str) -> CookieUpdate:
        """The signed cookie that carries :func:`pb_ssr.flows.oauth2_start`'s state.

        HttpOnly, ``SameSite=Lax`` (it must ride on the provider's redirect back),
        scoped to the callback's *path*, 10 minutes. ``None`` deletes it.
        """
        value = "" if kept is None else self._oauth2_serializer().dumps(dict(kept))
        return CookieUpdate(
            name=OAUTH2_COOKIE_NAME,
            value=value,
            max_age=0 if kept is None else OAUTH2_MAX_AGE,
            path=path,
            domain=None,
            secure=self.settings.COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )

    def read_oauth2_cookie(self, value: str | None) -> dict[str, Any] | None:
        """The state kept by :meth:`oauth2_cookie`; ``None`` if missing, old or forged."""
        if not value:
            return None
        try:
            data = self._oauth2_serializer().loads(value, max_age=OAUTH2_MAX_AGE)
        except BadData:  # also SignatureExpired
            return None
        return data if isinstance(data, dict) else None

    def _oauth2_serializer(self) -> URLSafeTimedSerializer:
        if not self._keys:
            raise ConfigurationError("OAuth2 sign-in needs a secret key: set SECRET_KEY.")
        return URLSafeTimedSerializer(self._keys, salt=_OAUTH2_SALT)

    # -- tests and checks --------------------------------------------------------------

    def login_cookie(
        self,
        user: HasAuth | None = None,
        *,
        token: str | None = None,
        record: Mapping[str, Any] | None = None,
    ) -> CookieUpdate:
        """The auth cookie that signs *user* (or *token* and *record*) in: for test clients.

        :raises TypeError: when neither *user* nor *token* is given.
        :raises ValueError: when the cookie would be too large to store.
        """
        if user is not None:
            token, record = user.token, user.record
        if not token:
            raise TypeError("login() needs a user (with .token and .record) or token=.")
        claims = decode_claims(token)
        left = claims.seconds_left(time.time()) if claims is not None else 3600.0
        max_age = int(left) if left != float("inf") else 3600
        cookie = self.manager.codec.dump(token, record, max_age=max_age)
        if cookie.is_delete:
            raise ValueError("The auth cookie would be too large to store; trim RECORD_FIELDS.")
        return cookie

    def report(self, *, remote: bool = True, source: str = "POCKETBASE") -> list[Advice]:
        """Check the settings, then ask PocketBase, the store and the breaker (network calls).

        In order: :func:`~pb_ssr.settings_advice`; ``breaker`` (``breaker-open``, a
        ``fail``, when it is not closed); ``store`` (``store-down``); ``unreachable`` or ``too-old``
        (``fail``, and the report stops there); ``reachable``; ``version``;
        ``auth-collection`` (``auth-collection-missing``); and
        with *remote* (needs the service client) PocketBase's own settings:
        ``ip-header`` (``ip-header-untrusted``, ``ip-header-off``), ``leftmost-ip``,
        ``rate-limits`` and ``batch``.
        """
        settings = self.settings
        out = settings_advice(settings, source=source)
        pb = PocketBase(settings.URL, timeout=min(HEALTH_TIMEOUT, settings.TIMEOUT))
        breaker = pb.breaker  # read before the health call, whose answer may close it
        state, failures = breaker.state, breaker.failures
        breaker_text = (
            f"circuit breaker {state} ({failures} failure(s) in a row; opens after "
            f"{breaker.failure_threshold}, probes after {breaker.cooldown:g} s) for "
            f"PocketBase at {settings.URL}"
        )
        if state == "closed":
            out.append(Advice("breaker", breaker_text, level="ok"))
        else:
            hint = "Check that PocketBase runs and answers quickly; the breaker closes by itself."
            out.append(Advice("breaker-open", breaker_text, hint, level="fail"))
        store_problem = self.manager.ping_store()
        if store_problem is not None:
            message = (
                f"session store does not answer ({store_problem}): each process falls back to "
                "its own memory, so a sign-out seen by one worker is unknown to the others"
            )
            out.append(Advice("store-down", message, "Start the store, or fix STORE."))
        elif settings.STORE != "memory":
            out.append(Advice("store", "session store answers", level="ok"))
        try:
            pb.health.check()
        except ClientResponseError as exc:
            message = f"not reachable: PocketBase at {settings.URL} did not answer: {exc.message}"
            hint = "Start PocketBase, or fix URL (the address the app server reaches it at)."
            return [*out, Advice("unreachable", message, hint, level="fail")]
        problem = server_version_problem(pb)
        if problem is not None:
            hint = f"Run PocketBase {OLDEST_POCKETBASE} or newer."
            return [*out, Advice("too-old", problem, hint, level="fail")]
        out.append(Advice("reachable", "reachable (/api/health)", level="ok"))
        out.append(
            Advice(
                "version",
                f"PocketBase {OLDEST_POCKETBASE} or newer (the _superusers collection exists)",
                level="ok",
            )
        )
        name = settings.AUTH_COLLECTION
        try:
            pb.collection(name).list_auth_methods()
            out.append(Advice("auth-collection", f"auth collection {name!r} exists", level="ok"))
        except ClientResponseError as exc:
            out.append(
                Advice("auth-collection-missing", f"auth collection {name!r}: {exc.message}")
            )
        return [*out, *self._remote_report()] if remote else out

    def _remote_report(self) -> list[Advice]:
        try:
            remote: dict[str, Any] = self.service.client().send("/api/settings")
        except (ClientResponseError, ConfigurationError) as exc:
            message = f"PocketBase settings (needs superuser credentials): {exc}"
            return [Advice("remote-settings", message, level="skip")]
        out: list[Advice] = []
        proxy = remote.get("trustedProxy") or {}
        trusted = [h.lower() for h in proxy.get("headers") or []]
        header = self.settings.CLIENT_IP_HEADER
        if header is None:
            message = "CLIENT_IP_HEADER is off: PocketBase sees every user at the app server's IP"
            out.append(Advice("ip-header-off", message))
        elif header.lower() in trusted:
            message = (
                f"PocketBase trusts {header} (trustedProxy.headers) for the end user's address"
            )
            out.append(Advice("ip-header", message, level="ok"))
        else:
            message = (
                f"PocketBase does not trust {header}: set Settings > Application > User IP "
                f"proxy headers to [{header!r}], or every user shares one rate-limit bucket"
            )
            out.append(Advice("ip-header-untrusted", message))
        if proxy.get("useLeftmostIP"):
            message = "trustedProxy.useLeftmostIP is on; pb-ssr sets one address, leave it off"
            out.append(Advice("leftmost-ip", message))
        limits = "enabled" if (remote.get("rateLimits") or {}).get("enabled") else "disabled"
        out.append(Advice("rate-limits", f"rate limits {limits}", level="ok"))
        batch = (remote.get("batch") or {}).get("enabled")
        text = "enabled" if batch else "disabled (pb.create_batch() gets 403)"
        out.append(Advice("batch", f"batch API {text}", level="ok"))
        return out
