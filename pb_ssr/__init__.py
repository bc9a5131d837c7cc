"""pb-ssr: server-side PocketBase for Django and Flask, done right.

The core is framework-agnostic. Create a client per request (cheap: it borrows
one shared connection pool); its auth state is its own::

    from pb_ssr import PocketBase

    pb = PocketBase("http://127.0.0.1:8090")
    pb.collection("users").auth_with_password("ada@example.com", "secret")
    page = pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
"""

from __future__ import annotations

from ._auth_store import AuthStore as AuthStore
from ._base import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._client import AsyncPocketBase as AsyncPocketBase
from ._client import PocketBase as PocketBase
from ._errors import ClientResponseError as ClientResponseError
from ._filter import build_filter as build_filter
from ._pool import aclose_default_pool as aclose_default_pool
from ._pool import close_default_pool as close_default_pool
from ._records import ListResult as ListResult
from ._records import Record as Record
from ._records import RecordAuthResponse as RecordAuthResponse
from ._shared import RecordSubscription as RecordSubscription
from ._tokens import TokenClaims as TokenClaims
from ._tokens import decode_claims as decode_claims

__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncPocketBase",
    "AuthStore",
    "ClientResponseError",
    "ListResult",
    "PocketBase",
    "Record",
    "RecordAuthResponse",
    "RecordSubscription",
    "TokenClaims",
    "aclose_default_pool",
    "build_filter",
    "close_default_pool",
    "decode_claims",
]
