"""The I/O-free half of the clients: configuration, request building, response decoding.

``PocketBase`` and ``AsyncPocketBase`` differ only in how they send; everything
that decides *what* is sent and *how an answer is read* lives here, once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Generic, TypeVar
from urllib.parse import urlencode

import httpx

from ._auth_store import AuthStore
from ._breaker import breaker_for
from ._errors import ClientResponseError, PocketBaseUnavailable
from ._filter import build_filter
from ._types import AfterSend, BeforeSend, FilesArg, HeadersArg, QueryArg, TimeoutArg
from ._urls import check_base_url, query_value

__all__ = ["DEFAULT_TIMEOUT", "BaseClient", "RequestSpec"]

#: Default per-request timeout: a page should fail fast rather than hang on a stuck
#: backend. 5 s is far above PocketBase's normal answers (milliseconds) and a few
#: sequential calls still end before a proxy's or gunicorn's 30 s; 2 s to connect
#: leaves room for one lost SYN (resent after 1 s). See docs/how-to/outages.md.
DEFAULT_TIMEOUT: Final = httpx.Timeout(5.0, connect=2.0)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

#: The headers every request through the shared pool carries (a user's own
#: ``http_client`` adds its own defaults instead). The User-Agent has no version
#: on purpose: PocketBase tells devices apart by address and User-Agent for its
#: "new sign-in" alert mails, and a version in it would mail every user after
#: each upgrade.
POOL_HEADERS: Final = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
    "User-Agent": "pb-ssr",
}


@dataclass(slots=True)
class RequestSpec:
    """Everything needed to send one PocketBase request, before a transport is chosen."""

    method: str
    path: str
    query: QueryArg | None = None
    headers: HeadersArg | None = None
    body: Mapping[str, Any] | None = None
    files: FilesArg | None = None
    timeout: TimeoutArg | _Unset = UNSET
    extensions: dict[str, Any] = field(default_factory=dict)


RecordT = TypeVar("RecordT")
FilesT = TypeVar("FilesT")
HealthT = TypeVar("HealthT")
BatchT = TypeVar("BatchT")
RealtimeT = TypeVar("RealtimeT")


class BaseClient(Generic[RecordT, FilesT, HealthT, BatchT, RealtimeT]):
    """What both clients share: configuration, request building, the services (no I/O).

    Each client names its flavour of the services (sync or async) in the class
    attributes below; the accessors are written once here.

    :param base_url: PocketBase's address, e.g. ``"http://127.0.0.1:8090"``.
    :param auth_store: the auth state; a new empty :class:`AuthStore` by default.
        Never pass one store to two clients serving different users.
    :param lang: the ``Accept-Language`` header (PocketBase localises messages).
    :param timeout: per-request timeout in seconds or an ``httpx.Timeout``.
    :param headers: headers sent with every request of this client (pb-ssr's
        session uses it for the end user's forwarded address).
    :param before_send: hook called with each ``httpx.Request`` before it is sent.
    :param after_send: hook called as ``after_send(response, data)``; its return
        value is what the caller gets.
    :param http_client: an httpx client of :attr:`http_client_type` to send through
        instead of the shared pool.
    """

    #: The httpx client class this client sends through (set by each client).
    http_client_type: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]
    # The service classes of this flavour (set by each client).
    _record_service: Callable[[Any, str], RecordT]
    _file_service: Callable[[Any], FilesT]
    _health_service: Callable[[Any], HealthT]
    _batch: Callable[[Any], BatchT]
    _realtime_service: Callable[[Any], RealtimeT]

    def __init__(
        self,
        base_url: str,
        *,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        auth_store: AuthStore | None = None,
        lang: str = "en-US",
        timeout: TimeoutArg = DEFAULT_TIMEOUT,
        headers: HeadersArg | None = None,
        before_send: BeforeSend | None = None,
        after_send: AfterSend | None = None,
    ) -> None:
        wanted = self.http_client_type
        if http_client is not None and not isinstance(http_client, wanted):
            other = "AsyncPocketBase" if wanted is httpx.Client else "PocketBase"
            raise TypeError(f"http_client must be an httpx.{wanted.__name__} (use {other}).")
        self._http = http_client
        self.base_url = check_base_url(base_url)
        self.auth_store = auth_store if auth_store is not None else AuthStore()
        self.lang = lang
        self.timeout = timeout if timeout is DEFAULT_TIMEOUT else _check_timeout(timeout)
        self.headers: dict[str, str] = dict(headers or {})
        self.before_send = before_send
        self.after_send = after_send
        #: The circuit breaker of this PocketBase URL, shared process-wide.
        self.breaker = breaker_for(self.base_url)
        self._realtime: RealtimeT | None = None

    def collection(self, name: str) -> RecordT:
        """Return the record service of collection *name* (or id)."""
        return self._record_service(self, name)

    @property
    def files(self) -> FilesT:
        """File URLs and file tokens."""
        return self._file_service(self)

    @property
    def health(self) -> HealthT:
        """The health check."""
        return self._health_service(self)

    @property
    def realtime(self) -> RealtimeT:
        """The realtime (SSE) connection of this client, started on first subscribe."""
        if self._realtime is None:
            self._realtime = self._realtime_service(self)
        return self._realtime

    def create_batch(self) -> BatchT:
        """Start a transactional batch of record writes."""
        return self._batch(self)

    def build_url(self, path: str, query: QueryArg | None = None) -> str:
        """Return the absolute URL of an API *path*, with an optional query."""
        url = self.base_url + "/" + path.lstrip("/")
        if query:
            pairs = [(k, query_value(v)) for k, v in query.items() if v is not None]
            if pairs:
                url += ("&" if "?" in url else "?") + urlencode(pairs)
        return url

    def filter(self, expr: str, /, **params: Any) -> str:
        """Bind *params* into the ``{:name}`` placeholders of a filter expression.

        The only safe way to put user input into a filter: each value is quoted
        and escaped (strings, numbers, bools, ``None``, dates and datetimes)::

            pb.collection("messages").get_list(
                filter=pb.filter("user = {:uid} && text ~ {:q}", uid=uid, q=search)
            )
        """
        return build_filter(expr, params)

    # -- request building -------------------------------------------------------

    @staticmethod
    def _spec(
        path: str,
        method: str,
        query: QueryArg | None,
        headers: HeadersArg | None,
        body: Any,
        files: FilesArg | None,
        timeout: TimeoutArg | None,
    ) -> RequestSpec:
        """The request of :meth:`send` (any API path)."""
        spec = RequestSpec(
            method.upper(), path, query=query, headers=headers, body=body, files=files
        )
        if timeout is not None:
            spec.timeout = timeout
        return spec

    def _request_headers(self, extra: HeadersArg | None) -> dict[str, str]:
        headers = dict(self.headers)
        if extra:
            # Header names are case-insensitive: a per-call header replaces the
            # client's (never a second X-Forwarded-For next to the resolved one).
            override = {k.lower() for k in extra}
            headers = {k: v for k, v in headers.items() if k.lower() not in override}
            headers.update(extra)
        lowered = {k.lower() for k in headers}
        if "accept-language" not in lowered and self.lang:
            headers["Accept-Language"] = self.lang
        if "authorization" not in lowered and self.auth_store.token:
            # PocketBase takes the raw token (the JS SDK sends it the same way).
            headers["Authorization"] = self.auth_store.token
        return headers

    def _build_request(
        self, http: httpx.Client | httpx.AsyncClient | None, spec: RequestSpec
    ) -> httpx.Request:
        """Build the request; through *http*'s defaults, or for the shared pool when ``None``."""
        url = self.build_url(spec.path)
        params = {k: query_value(v) for k, v in (spec.query or {}).items() if v is not None}
        timeout = self.timeout if isinstance(spec.timeout, _Unset) else _check_timeout(spec.timeout)
        headers = self._request_headers(spec.headers)
        content: dict[str, Any]
        if spec.files:
            content = {
                "data": {"@jsonPayload": json.dumps(dict(spec.body or {}), default=str)},
                "files": _flatten_files(spec.files),
            }
        else:
            content = {"json": dict(spec.body) if spec.body is not None else None}
        if http is not None:
            return http.build_request(
                spec.method,
                url,
                params=params,
                headers=headers,
                timeout=timeout,
                extensions=spec.extensions,
                **content,
            )
        # The shared pool's requests go straight to its transport (see
        # _pool.sync_transport): give them what the client layer would have.
        merged = httpx.Headers(POOL_HEADERS)
        merged.update(headers)
        return httpx.Request(
            spec.method,
            _pool_url(url, tuple(params.items())),
            headers=merged,
            extensions={"timeout": timeout.as_dict(), **spec.extensions},
            **content,
        )

    # -- response decoding ------------------------------------------------------

    @staticmethod
    def _read_json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    @staticmethod
    def _raise_for_status(request: httpx.Request, response: httpx.Response, data: Any) -> Any:
        if response.status_code >= 400:
            raise ClientResponseError(
                url=str(request.url),
                status=response.status_code,
                response=data if isinstance(data, dict) else {},
            )
        return data

    def _allow(self, request: httpx.Request) -> None:
        """Refuse at once, without sending, while the circuit breaker is open."""
        breaker = self.breaker
        if not breaker.allow():
            raise breaker.error(str(request.url))

    def _transport_error(
        self, request: httpx.Request, exc: Exception
    ) -> PocketBaseUnavailable | ClientResponseError:
        """The error for a send that got no answer; the breaker counts real failures."""
        if is_local_error(exc):
            # Nothing reached PocketBase: a bug or bad input on this side, not an outage.
            self.breaker.release()
            return ClientResponseError(url=str(request.url), status=0, original_error=exc)
        self.breaker.record_failure(type(exc).__name__)
        return PocketBaseUnavailable(
            url=str(request.url),
            status=0,
            is_abort=isinstance(exc, httpx.TimeoutException),
            original_error=exc,
        )

    def _derived_kwargs(self) -> dict[str, Any]:
        """The settings a derived client (``impersonate``) inherits."""
        return {
            "http_client": self._http,
            "lang": self.lang,
            "timeout": self.timeout,
            "headers": self.headers,
            "before_send": self.before_send,
            "after_send": self.after_send,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url!r} auth={self.auth_store!r}>"


@functools.lru_cache(maxsize=512)
def _pool_url(url: str, params: tuple[tuple[str, str], ...]) -> httpx.URL:
    """``httpx.URL(url, params=params)``, parsed once per URL and query.

    httpx parses and re-encodes the URL on every request (25 of the 37 µs it takes
    to build one); pages ask for the same few URLs again and again. The cache holds
    URLs and query values (filters a user typed, never a token: auth travels in a
    header), 512 at most.
    """
    return httpx.URL(url, params=params)


#: Failures on this side, before anything reached PocketBase (a header that cannot be
#: encoded, a URL that is not http): never an outage, never a breaker failure.
LOCAL_ERRORS: Final = (httpx.LocalProtocolError, httpx.UnsupportedProtocol)


def is_local_error(exc: BaseException) -> bool:
    """True for a transport error raised before anything was sent (see :data:`LOCAL_ERRORS`)."""
    return isinstance(exc, LOCAL_ERRORS)


def _check_timeout(timeout: TimeoutArg) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    return httpx.Timeout(float(timeout))


def _flatten_files(files: FilesArg) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, value in files.items():
        if isinstance(value, list):
            out.extend((name, item) for item in value)
        else:
            out.append((name, value))
    return out
