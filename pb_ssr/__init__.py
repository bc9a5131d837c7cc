"""pb-ssr: server-side PocketBase for Django and Flask, done right.

The core is framework-agnostic. Create a client per request (cheap: it borrows
one shared connection pool); its auth state is its own::

    from pb_ssr import PocketBase

    pb = PocketBase("http://127.0.0.1:8090")
    pb.collection("users").auth_with_password("ada@example.com", "secret")
    page = pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
"""

from __future__ import annotations

from ._async._services import AsyncBatch as AsyncBatch
from ._async._services import AsyncFileService as AsyncFileService
from ._async._services import AsyncHealthService as AsyncHealthService
from ._async._services import AsyncRecordService as AsyncRecordService
from ._auth_store import AuthStore as AuthStore
from ._base import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._breaker import CircuitBreaker as CircuitBreaker
from ._breaker import breaker_for as breaker_for
from ._breaker import reset_breakers as reset_breakers
from ._cache_store import CacheStore as CacheStore
from ._client import AsyncPocketBase as AsyncPocketBase
from ._client import PocketBase as PocketBase
from ._compat import OLDEST_POCKETBASE as OLDEST_POCKETBASE
from ._compat import server_version_problem as server_version_problem
from ._config import Advice as Advice
from ._config import Settings as Settings
from ._config import settings_advice as settings_advice
from ._cookie import CookieCodec as CookieCodec
from ._cookie import CookieUpdate as CookieUpdate
from ._csrf import CSRFTokens as CSRFTokens
from ._errors import BlockingCallError as BlockingCallError
from ._errors import ClientResponseError as ClientResponseError
from ._errors import ConfigurationError as ConfigurationError
from ._errors import PocketBaseSSRError as PocketBaseSSRError
from ._errors import PocketBaseUnavailable as PocketBaseUnavailable
from ._filter import build_filter as build_filter
from ._forwarding import forward_headers as forward_headers
from ._forwarding import is_local_path as is_local_path
from ._forwarding import resolve_client_ip as resolve_client_ip
from ._forwarding import safe_next as safe_next
from ._hints import insecure_cookie_hint as insecure_cookie_hint
from ._hints import warn_insecure_cookie as warn_insecure_cookie
from ._outage import UNAVAILABLE_JSON as UNAVAILABLE_JSON
from ._outage import OutageLog as OutageLog
from ._outage import is_outage as is_outage
from ._pool import aclose_default_pool as aclose_default_pool
from ._pool import close_default_pool as close_default_pool
from ._records import ListResult as ListResult
from ._records import Record as Record
from ._records import RecordAuthResponse as RecordAuthResponse
from ._records import RecordSubscription as RecordSubscription
from ._redis_store import RedisStore as RedisStore
from ._service import ServiceClient as ServiceClient
from ._session import RequestSession as RequestSession
from ._session import SessionManager as SessionManager
from ._session import SessionResult as SessionResult
from ._session import build_store as build_store
from ._setup import OAUTH2_COOKIE_NAME as OAUTH2_COOKIE_NAME
from ._setup import HasAuth as HasAuth
from ._setup import PocketBaseConfig as PocketBaseConfig
from ._store import LayeredStore as LayeredStore
from ._store import Mark as Mark
from ._store import MemoryStore as MemoryStore
from ._store import Outcome as Outcome
from ._store import SessionStore as SessionStore
from ._store import StoreValue as StoreValue
from ._sync._services import Batch as Batch
from ._sync._services import FileService as FileService
from ._sync._services import HealthService as HealthService
from ._sync._services import RecordService as RecordService
from ._tokens import TokenClaims as TokenClaims
from ._tokens import decode_claims as decode_claims
from ._users import AnonymousUser as AnonymousUser
from ._users import AuthenticatedUser as AuthenticatedUser
from ._users import as_user as as_user
from ._users import guard_view as guard_view
from ._version import __version__ as __version__
from .relay import Feed as Feed
from .relay import Refusal as Refusal
from .relay import Relay as Relay

__all__ = [
    "DEFAULT_TIMEOUT",
    "OAUTH2_COOKIE_NAME",
    "OLDEST_POCKETBASE",
    "UNAVAILABLE_JSON",
    "Advice",
    "AnonymousUser",
    "AsyncBatch",
    "AsyncFileService",
    "AsyncHealthService",
    "AsyncPocketBase",
    "AsyncRecordService",
    "AuthStore",
    "AuthenticatedUser",
    "Batch",
    "BlockingCallError",
    "CSRFTokens",
    "CacheStore",
    "CircuitBreaker",
    "ClientResponseError",
    "ConfigurationError",
    "CookieCodec",
    "CookieUpdate",
    "Feed",
    "FileService",
    "HasAuth",
    "HealthService",
    "LayeredStore",
    "ListResult",
    "Mark",
    "MemoryStore",
    "OutageLog",
    "Outcome",
    "PocketBase",
    "PocketBaseConfig",
    "PocketBaseSSRError",
    "PocketBaseUnavailable",
    "Record",
    "RecordAuthResponse",
    "RecordService",
    "RecordSubscription",
    "RedisStore",
    "Refusal",
    "Relay",
    "RequestSession",
    "ServiceClient",
    "SessionManager",
    "SessionResult",
    "SessionStore",
    "Settings",
    "StoreValue",
    "TokenClaims",
    "aclose_default_pool",
    "as_user",
    "breaker_for",
    "build_filter",
    "build_store",
    "close_default_pool",
    "decode_claims",
    "forward_headers",
    "guard_view",
    "insecure_cookie_hint",
    "is_local_path",
    "is_outage",
    "reset_breakers",
    "resolve_client_ip",
    "safe_next",
    "server_version_problem",
    "settings_advice",
    "warn_insecure_cookie",
]
