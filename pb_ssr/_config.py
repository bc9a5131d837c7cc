"""pb-ssr's one settings object, validated on load.

Django reads it from ``settings.POCKETBASE`` (a dict), Flask from
``app.config["POCKETBASE_<KEY>"]``; both end up in :meth:`Settings.from_mapping`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import httpx

from ._errors import ConfigurationError
from ._urls import check_base_url

__all__ = ["Advice", "ConfigurationError", "Settings", "settings_advice"]

CookieFormat = Literal["signed", "js-sdk"]
BackendErrorPolicy = Literal["keep", "anonymous", "raise"]
SameSite = Literal["Lax", "Strict", "None"]

#: The auth record fields kept in the cookie by default: enough to render a
#: header ("signed in as ...") while PocketBase is unreachable, nothing more.
DEFAULT_RECORD_FIELDS = (
    "id",
    "collectionId",
    "collectionName",
    "email",
    "name",
    "username",
    "verified",
    "avatar",
)

_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STORE_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{0,64}")
#: The ``STORE`` values that name a shared store.
STORE_SCHEMES = ("redis://", "rediss://", "unix://", "django-cache:")
_HEADER_NAME = _COOKIE_NAME


@dataclass(frozen=True, slots=True)
class Advice:
    """A finding of :func:`settings_advice` or :meth:`PocketBaseConfig.report`.

    Reported by Django checks and ``flask pb check``.
    """

    #: Stable code (the adapters map it to their ids, e.g. ``pb_ssr.W004``).
    code: str
    #: What is risky (naming the setting), or what was found.
    message: str
    #: How to fix it (``""`` when nothing is to fix).
    hint: str = ""
    #: ``"warn"`` (risky), ``"fail"`` (nothing works), ``"ok"`` or ``"skip"`` (not checked).
    level: str = "warn"


def settings_advice(settings: Settings, *, source: str = "POCKETBASE") -> list[Advice]:
    """Return what is valid but risky in *settings*, most serious first.

    :param source: how the user spelled the keys (``"POCKETBASE"`` or ``"POCKETBASE_"``).
    """
    out: list[Advice] = []
    everyone = [
        p for p in settings.TRUSTED_PROXIES if ipaddress.ip_network(p, strict=False).prefixlen == 0
    ]
    if everyone:
        out.append(
            Advice(
                "trusted-proxies-everyone",
                f"{_name(source, 'TRUSTED_PROXIES')} trusts {', '.join(everyone)}: any client "
                "can write its own X-Forwarded-For, pick the address PocketBase sees, and so "
                "escape rate limits and address-based rules.",
                "List only your reverse proxies' addresses (e.g. '10.0.0.0/8', '127.0.0.1').",
            )
        )
    if not settings.COOKIE_HTTPONLY:
        out.append(
            Advice(
                "cookie-readable",
                f"{_name(source, 'COOKIE_HTTPONLY')} is False: page scripts can read the "
                "PocketBase token, so one XSS flaw hands every visitor's session to an attacker.",
                "Keep it True unless browser code must share the js-sdk cookie.",
            )
        )
    if settings.COOKIE_FORMAT == "js-sdk" and settings.ON_BACKEND_ERROR == "keep":
        out.append(
            Advice(
                "js-sdk-keep",
                f"{_name(source, 'COOKIE_FORMAT')} is 'js-sdk' (unsigned) with "
                f"{_name(source, 'ON_BACKEND_ERROR')} 'keep': during an outage only tokens this "
                "process (or the shared store) saw confirmed are kept; a worker that never saw a "
                "user signs them out until PocketBase is back.",
                "Use the signed format, a shared STORE, or ON_BACKEND_ERROR = 'anonymous'.",
            )
        )
    if not settings.COOKIE_SECURE:
        out.append(
            Advice(
                "cookie-insecure",
                f"{_name(source, 'COOKIE_SECURE')} is False: browsers send the pb-ssr auth "
                "cookie, and the PocketBase token in it, over plain http.",
                "Serve the site over HTTPS and remove COOKIE_SECURE (it defaults to True).",
            )
        )
    if settings.COOKIE_SAMESITE == "None":
        out.append(
            Advice(
                "cookie-samesite-none",
                f"{_name(source, 'COOKIE_SAMESITE')} is 'None': browsers attach the pb-ssr auth "
                "cookie to requests that other sites start, which opens the door to cross-site "
                "request forgery.",
                "Use 'Lax' (the default; OAuth2 sign-in still works) or 'Strict'.",
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated pb-ssr configuration. Build it with :meth:`from_mapping`.

    Every key, its default and meaning is listed in the README's configuration table.
    """

    #: PocketBase's address as the app server reaches it (``http://127.0.0.1:8090``).
    URL: str
    #: PocketBase's address as browsers reach it (file URLs); ``None`` means ``URL``.
    PUBLIC_URL: str | None = None
    #: Name of the auth cookie.
    COOKIE_NAME: str = "pb_auth"
    #: Send the cookie over HTTPS only. Turn off only for plain-http local development.
    COOKIE_SECURE: bool = True
    #: Hide the cookie from page scripts. ``False`` is allowed only with the ``js-sdk``
    #: format (its one purpose: browser code sharing the session) and costs the main
    #: defence against token theft by XSS.
    COOKIE_HTTPONLY: bool = True
    #: ``Lax`` lets the cookie ride on the OAuth2 redirect back to the site.
    COOKIE_SAMESITE: SameSite = "Lax"
    #: Cookie domain; ``None`` means the exact host that set it.
    COOKIE_DOMAIN: str | None = None
    #: Cookie path.
    COOKIE_PATH: str = "/"
    #: ``"signed"`` (itsdangerous, default) or ``"js-sdk"`` (the JS SDK's unsigned format).
    COOKIE_FORMAT: CookieFormat = "signed"
    #: Auth record fields stored in the cookie next to the token.
    RECORD_FIELDS: tuple[str, ...] = DEFAULT_RECORD_FIELDS
    #: Seconds a token confirmed by PocketBase is trusted without asking again.
    VALIDATE_TTL: float = 60.0
    #: Renew the token (and rewrite the cookie) once it has less than this many seconds left.
    REFRESH_WITHIN: float = 2 * 86400.0
    #: What to do when PocketBase cannot confirm a token: ``keep``, ``anonymous`` or ``raise``.
    ON_BACKEND_ERROR: BackendErrorPolicy = "keep"
    #: Header that carries the end user's address to PocketBase; ``None`` turns it off.
    CLIENT_IP_HEADER: str | None = "X-Forwarded-For"
    #: Proxies (IPs or CIDRs) whose ``X-Forwarded-For`` entries are believed.
    TRUSTED_PROXIES: tuple[str, ...] = ()
    #: Send the browser's User-Agent to PocketBase (its new-device alerts and logs).
    FORWARD_USER_AGENT: bool = True
    #: Per-request timeout to PocketBase, in seconds (reading, writing, waiting for a
    #: pooled connection). Well above PocketBase's normal answers, well below a
    #: proxy's or gunicorn's 30 s; override per call with ``timeout=``.
    TIMEOUT: float = 5.0
    #: Seconds to wait for a new connection to PocketBase (capped at ``TIMEOUT``);
    #: 2 s leaves room for one lost SYN, which Linux resends after 1 s.
    CONNECT_TIMEOUT: float = 2.0
    #: Consecutive failed calls (no answer, or a proxy's 502/503/504) after which the
    #: circuit breaker opens and calls fail fast; ``0`` turns the breaker off.
    BREAKER_FAILURES: int = 5
    #: Seconds an open breaker waits before letting one probe call through.
    BREAKER_COOLDOWN: float = 0.5
    #: Seconds without any answer from PocketBase after which a waiting call counts
    #: as a failure, so a hang opens the breaker (and frees the waiting threads) in
    #: about this time instead of ``TIMEOUT``; ``0`` waits for the timeouts.
    BREAKER_STALL: float = 1.0
    #: Answer a view's unhandled ``PocketBaseUnavailable`` (or a 5xx
    #: ``ClientResponseError``) with a 503 page and ``Retry-After``; turn off to
    #: handle them yourself.
    HANDLE_UNAVAILABLE: bool = True
    #: The auth collection of the sign-in views.
    AUTH_COLLECTION: str = "users"
    #: Most tokens remembered by the validation cache (bounds memory).
    VALIDATE_CACHE_SIZE: int = 10_000
    #: Where verdicts, sign-outs and confirmations live: ``"memory"`` (this process),
    #: ``"redis://..."`` / ``"rediss://..."`` / ``"unix://..."`` (shared by every
    #: worker and host), ``"django-cache:<alias>"`` (Django only), or an object
    #: implementing :class:`~pb_ssr.SessionStore`.
    STORE: Any = field(default="memory", repr=False)
    #: Prefix of the store's keys after ``pbssr:`` (sites sharing one Redis).
    STORE_PREFIX: str = ""
    #: Seconds one call to a shared store may take before this process falls back to
    #: its own memory for a few seconds.
    STORE_TIMEOUT: float = 0.5
    #: Live streams (:mod:`pb_ssr.relay`) open at once in this process; past it the
    #: browser gets 503 with ``Retry-After``. A sync server holds a thread per stream:
    #: give it more threads than this.
    REALTIME_MAX_STREAMS: int = 100
    #: Seconds of silence after which a stream sends a ``: ping`` comment (proxies).
    REALTIME_HEARTBEAT: float = 15.0
    #: The reconnection delay the browser is told (``retry:``), in seconds.
    REALTIME_RETRY: float = 3.0
    #: How often, in seconds, an open stream looks for a sign-out (PocketBase is asked
    #: at most once per ``VALIDATE_TTL``).
    REALTIME_RECHECK: float = 5.0
    #: The ``Retry-After`` seconds of a refused stream (503).
    REALTIME_RETRY_AFTER: int = 5
    #: Events buffered per stream for a slow client before the stream ends.
    REALTIME_QUEUE_SIZE: int = 256
    #: Superuser email for the service client (default: ``$PB_SUPERUSER_EMAIL``).
    SUPERUSER_EMAIL: str | None = None
    #: Superuser password for the service client (default: ``$PB_SUPERUSER_PASSWORD``).
    SUPERUSER_PASSWORD: str | None = field(default=None, repr=False)
    #: A pre-issued (impersonation) token for the service client (default: ``$PB_SERVICE_TOKEN``).
    SERVICE_TOKEN: str | None = field(default=None, repr=False)

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """All setting names."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, source: str = "POCKETBASE") -> Settings:
        """Validate *mapping* (keys as in the README table) and return the settings.

        :param source: how the user wrote the keys, for error messages
            (``"POCKETBASE"`` for Django's dict, ``"POCKETBASE_"`` for Flask).
        :raises ConfigurationError: on a missing ``URL``, an unknown key or a bad value.
        """
        if not isinstance(mapping, Mapping):
            raise ConfigurationError(f"{source} must be a dict of pb-ssr settings.")
        known = set(cls.keys())
        unknown = sorted(str(k) for k in mapping if k not in known)
        if unknown:
            raise ConfigurationError(
                f"Unknown pb-ssr setting(s) {', '.join(_name(source, k) for k in unknown)}. "
                f"Known keys: {', '.join(sorted(known))}."
            )
        values = dict(mapping)
        if not values.get("URL"):
            raise ConfigurationError(
                f"{_name(source, 'URL')} is required: PocketBase's address, "
                "e.g. 'http://127.0.0.1:8090'."
            )
        env = os.environ
        values.setdefault("SUPERUSER_EMAIL", env.get("PB_SUPERUSER_EMAIL") or None)
        values.setdefault("SUPERUSER_PASSWORD", env.get("PB_SUPERUSER_PASSWORD") or None)
        values.setdefault("SERVICE_TOKEN", env.get("PB_SERVICE_TOKEN") or None)
        for key in ("RECORD_FIELDS", "TRUSTED_PROXIES"):
            if key in values:
                values[key] = _str_tuple(source, key, values[key])
        try:
            settings = cls(**values)
        except TypeError as exc:  # pragma: no cover - keys are checked above
            raise ConfigurationError(str(exc)) from None
        settings._validate(source)
        return settings

    def _validate(self, source: str) -> None:
        def fail(key: str, why: str) -> None:
            raise ConfigurationError(f"{_name(source, key)} {why}")

        try:
            check_base_url(self.URL)
        except (ValueError, TypeError):
            fail(
                "URL", f"must be an http(s) URL such as 'http://127.0.0.1:8090', got {self.URL!r}."
            )
        if self.PUBLIC_URL is not None:
            try:
                check_base_url(self.PUBLIC_URL)
            except (ValueError, TypeError):
                fail("PUBLIC_URL", f"must be an http(s) URL or None, got {self.PUBLIC_URL!r}.")
        if not isinstance(self.COOKIE_NAME, str) or not _COOKIE_NAME.match(self.COOKIE_NAME):
            fail("COOKIE_NAME", f"is not a valid cookie name: {self.COOKIE_NAME!r}.")
        for key in ("COOKIE_SECURE", "COOKIE_HTTPONLY", "FORWARD_USER_AGENT", "HANDLE_UNAVAILABLE"):
            if not isinstance(getattr(self, key), bool):
                fail(key, "must be True or False.")
        if self.COOKIE_SAMESITE not in get_args(SameSite):
            fail(
                "COOKIE_SAMESITE",
                f"must be 'Lax', 'Strict' or 'None', got {self.COOKIE_SAMESITE!r}.",
            )
        if self.COOKIE_SAMESITE == "None" and not self.COOKIE_SECURE:
            fail("COOKIE_SAMESITE", "'None' requires COOKIE_SECURE = True (browsers refuse it).")
        if self.COOKIE_DOMAIN is not None and (
            not isinstance(self.COOKIE_DOMAIN, str) or not self.COOKIE_DOMAIN
        ):
            fail("COOKIE_DOMAIN", "must be a domain string or None.")
        if not isinstance(self.COOKIE_PATH, str) or not self.COOKIE_PATH.startswith("/"):
            fail("COOKIE_PATH", "must start with '/'.")
        if self.COOKIE_FORMAT not in get_args(CookieFormat):
            fail("COOKIE_FORMAT", f"must be 'signed' or 'js-sdk', got {self.COOKIE_FORMAT!r}.")
        if not self.COOKIE_HTTPONLY and self.COOKIE_FORMAT != "js-sdk":
            fail(
                "COOKIE_HTTPONLY",
                "can be False only with COOKIE_FORMAT = 'js-sdk' (browser code sharing the "
                "session); the signed cookie is for the server alone.",
            )
        if "id" not in self.RECORD_FIELDS:
            fail("RECORD_FIELDS", "must include 'id'.")
        for key in ("VALIDATE_TTL", "REFRESH_WITHIN"):
            value = getattr(self, key)
            # "not >=" also refuses NaN, which slips through "< 0".
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                fail(key, f"must be a number of seconds >= 0, got {value!r}.")
        for key in ("STORE_TIMEOUT",):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 60:
                fail(key, f"must be a number of seconds > 0 (at most 60), got {value!r}.")
        for key in ("TIMEOUT", "CONNECT_TIMEOUT", "BREAKER_COOLDOWN"):
            value = getattr(self, key)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not value > 0
                or math.isinf(value)
            ):
                fail(key, f"must be a number of seconds > 0, got {value!r}.")
        stall = self.BREAKER_STALL
        if (
            isinstance(stall, bool)
            or not isinstance(stall, int | float)
            or not stall >= 0
            or math.isinf(stall)
        ):
            fail(
                "BREAKER_STALL",
                f"must be a number of seconds >= 0 (0 turns it off), got {stall!r}.",
            )
        failures = self.BREAKER_FAILURES
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
            fail(
                "BREAKER_FAILURES",
                f"must be a whole number of failures >= 0 (0 turns the breaker off), "
                f"got {failures!r}.",
            )
        if self.ON_BACKEND_ERROR not in get_args(BackendErrorPolicy):
            fail(
                "ON_BACKEND_ERROR",
                f"must be 'keep', 'anonymous' or 'raise', got {self.ON_BACKEND_ERROR!r}.",
            )
        if self.CLIENT_IP_HEADER is not None and (
            not isinstance(self.CLIENT_IP_HEADER, str)
            or not _HEADER_NAME.match(self.CLIENT_IP_HEADER)
        ):
            fail("CLIENT_IP_HEADER", "must be a header name such as 'X-Forwarded-For', or None.")
        for proxy in self.TRUSTED_PROXIES:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                fail("TRUSTED_PROXIES", f"has {proxy!r}, which is not an IP address or CIDR.")
        if not isinstance(self.AUTH_COLLECTION, str) or not self.AUTH_COLLECTION:
            fail("AUTH_COLLECTION", "must be the name of an auth collection.")
        store = self.STORE
        if isinstance(store, str):
            if store != "memory" and not store.startswith(STORE_SCHEMES):
                fail(
                    "STORE",
                    f"must be 'memory', a redis://, rediss:// or unix:// URL, "
                    f"'django-cache:<alias>' (Django), or a SessionStore object; got {store!r}.",
                )
        else:
            from ._store import SessionStore

            if not isinstance(store, SessionStore):
                fail(
                    "STORE",
                    f"{type(store).__name__} does not implement pb_ssr.SessionStore "
                    "(get_many, set, add, delete and their async twins).",
                )
        if not isinstance(self.STORE_PREFIX, str) or not _STORE_PREFIX.fullmatch(self.STORE_PREFIX):
            fail("STORE_PREFIX", "must be letters, digits, '_', '-', ':' or '.' (or empty).")
        size = self.VALIDATE_CACHE_SIZE
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            fail("VALIDATE_CACHE_SIZE", f"must be a positive integer, got {size!r}.")
        for key in ("REALTIME_MAX_STREAMS", "REALTIME_RETRY_AFTER", "REALTIME_QUEUE_SIZE"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(key, f"must be a whole number >= 1, got {value!r}.")
        for key in ("REALTIME_HEARTBEAT", "REALTIME_RECHECK", "REALTIME_RETRY"):
            value = getattr(self, key)
            low = 0 if key == "REALTIME_RETRY" else 1e-9
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value < math.inf
            ):
                which = ">= 0" if key == "REALTIME_RETRY" else "> 0"
                fail(key, f"must be a number of seconds {which}, got {value!r}.")
        if bool(self.SUPERUSER_EMAIL) != bool(self.SUPERUSER_PASSWORD):
            fail(
                "SUPERUSER_PASSWORD" if self.SUPERUSER_EMAIL else "SUPERUSER_EMAIL",
                "must be set together with its pair (email and password).",
            )

    @property
    def http_timeout(self) -> httpx.Timeout:
        """``TIMEOUT`` and ``CONNECT_TIMEOUT`` as the ``httpx.Timeout`` of a client."""
        return httpx.Timeout(self.TIMEOUT, connect=min(self.CONNECT_TIMEOUT, self.TIMEOUT))

    @property
    def retry_after(self) -> int:
        """The ``Retry-After`` seconds of the 503 page: the breaker's cool-down, at least 1."""
        return max(1, math.ceil(self.BREAKER_COOLDOWN))

    @property
    def relay_options(self) -> dict[str, Any]:
        """The ``REALTIME_*`` settings as keyword arguments of :class:`pb_ssr.relay.Relay`."""
        return {
            "max_streams": self.REALTIME_MAX_STREAMS,
            "heartbeat": float(self.REALTIME_HEARTBEAT),
            "retry": float(self.REALTIME_RETRY),
            "recheck": float(self.REALTIME_RECHECK),
            "retry_after": self.REALTIME_RETRY_AFTER,
            "queue_size": self.REALTIME_QUEUE_SIZE,
        }

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with *changes*, validated."""
        settings = dataclasses.replace(self, **changes)
        settings._validate("POCKETBASE")
        return settings


def _name(source: str, key: str) -> str:
    return f"{source}{key}" if source.endswith("_") else f"{source}[{key!r}]"


def _str_tuple(source: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
        raise ConfigurationError(f"{_name(source, key)} must be a list of strings.")
    items = tuple(value)
    if not all(isinstance(v, str) and v for v in items):
        raise ConfigurationError(f"{_name(source, key)} must be a list of non-empty strings.")
    return items
