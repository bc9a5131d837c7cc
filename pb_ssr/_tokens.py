"""Reading PocketBase JWT claims without verifying them.

A Python process cannot verify a PocketBase token: the signing key mixes the
record's ``tokenKey`` (in PocketBase's database) with the collection secret.
So the claims are read for routing and expiry only; PocketBase decides validity.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from jwt.utils import base64url_decode

__all__ = ["SUPERUSERS_COLLECTION_ID", "TokenClaims", "decode_claims", "read_auth_token"]

#: The fixed id of PocketBase's ``_superusers`` system collection.
SUPERUSERS_COLLECTION_ID = "pbc_3142635823"

#: Three base64url segments (no padding), as every JWT PocketBase issues. Anything
#: else could not even travel in an ``Authorization`` header unchanged.
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
#: An HS256 signature is 32 bytes: 43 base64url characters.
_HS256_SIGNATURE_LENGTH = 43
#: PocketBase auth tokens are ~220 characters; anything this long is not one.
MAX_AUTH_TOKEN_LENGTH = 2048
#: Collection ids (``_pb_users_auth_``, ``pbc_3142635823``) and record ids.
_ID = re.compile(r"[A-Za-z0-9_]{1,100}")
_RECORD_ID = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The claims pb-ssr reads from a PocketBase token."""

    #: ``auth``, ``file``, ``verification``, ``passwordReset``, ``emailChange``.
    type: str
    #: The auth collection id the token belongs to.
    collection_id: str
    #: The auth record id.
    record_id: str
    #: Expiry as a UNIX timestamp, ``None`` when the token has no ``exp``.
    exp: float | None
    #: False for impersonation tokens, which PocketBase never renews.
    refreshable: bool

    def seconds_left(self, now: float | None = None) -> float:
        """Seconds until expiry (``inf`` without ``exp``; negative once expired)."""
        if self.exp is None:
            return float("inf")
        return self.exp - (time.time() if now is None else now)

    def is_expired(self, now: float | None = None, leeway: float = 0.0) -> bool:
        """True when the token expires within *leeway* seconds."""
        return self.seconds_left(now) <= leeway

    @property
    def is_superuser(self) -> bool:
        """True for an auth token of the ``_superusers`` collection."""
        return self.type == "auth" and self.collection_id == SUPERUSERS_COLLECTION_ID


#: The header of every token PocketBase issues: decoded once, not per request.
_POCKETBASE_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
_POCKETBASE_HEADER_JSON: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}


def _segments(token: str | None, limit: int) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """Decode a JWT's header and payload (not the signature); ``None`` if it is not one."""
    if not token or not isinstance(token, str) or len(token) > limit:
        return None
    if not _JWT_SHAPE.fullmatch(token):
        return None
    head, body, signature = token.split(".")
    try:
        # pyjwt's base64url helper on the two segments we read. jwt.decode() with
        # verify_signature=False does the same plus per-character checks that cost
        # ~25 us per page view, for a signature it is told not to verify anyway.
        header: Any = (
            _POCKETBASE_HEADER_JSON
            if head == _POCKETBASE_HEADER
            else json.loads(base64url_decode(head))
        )
        payload: Any = json.loads(base64url_decode(body))
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return None
    if not isinstance(payload, dict):
        return None
    return header, payload, signature


def _claims(payload: dict[str, Any]) -> TokenClaims | None:
    exp = payload.get("exp")
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, int | float)):
        return None

    def text(key: str) -> str:
        value = payload.get(key)
        return value if isinstance(value, str) else ""

    refreshable = payload.get("refreshable", True)
    return TokenClaims(
        type=text("type"),
        collection_id=text("collectionId"),
        record_id=text("id"),
        exp=float(exp) if exp is not None else None,
        refreshable=refreshable is not False,
    )


def decode_claims(token: str | None) -> TokenClaims | None:
    """Return the claims of *token*, or ``None`` if it is not a readable JWT.

    The signature is not checked (see the module docstring).
    """
    parts = _segments(token, 8192)
    return _claims(parts[1]) if parts is not None else None


def read_auth_token(token: str | None, now: float | None = None) -> TokenClaims | None:
    """Return the claims of *token* if it has the exact shape of a live PocketBase auth token.

    The strict check a session runs *before* any I/O: three base64url segments of a
    sane length, an HS256 header, an HS256-sized signature, and the claims PocketBase
    issues with the types it issues (``type == "auth"``, string ``collectionId`` and
    ``id``, a finite numeric ``exp`` in the future, an optional boolean
    ``refreshable``). Anything else is ``None``: rejected locally, never sent.
    The signature itself is still unverified (see the module docstring).
    """
    parts = _segments(token, MAX_AUTH_TOKEN_LENGTH)
    if parts is None:
        return None
    header, payload, signature = parts
    if len(signature) != _HS256_SIGNATURE_LENGTH:
        return None
    if header.get("alg") != "HS256" or header.get("typ", "JWT") != "JWT":
        return None
    exp = payload.get("exp")
    collection_id = payload.get("collectionId")
    record_id = payload.get("id")
    if (
        payload.get("type") != "auth"
        or not isinstance(collection_id, str)
        or not _ID.fullmatch(collection_id)
        or not isinstance(record_id, str)
        or not _RECORD_ID.fullmatch(record_id)
        or isinstance(exp, bool)
        or not isinstance(exp, int | float)
        or not math.isfinite(exp)
        or not isinstance(payload.get("refreshable", True), bool)
    ):
        return None
    claims = _claims(payload)
    if claims is None or claims.is_expired(time.time() if now is None else now):
        return None
    return claims
