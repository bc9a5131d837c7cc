"""Reading PocketBase JWT claims without verifying them.

A Python process cannot verify a PocketBase token: the signing key mixes the
record's ``tokenKey`` (in PocketBase's database) with the collection secret.
So the claims are read for routing and expiry only; PocketBase decides validity.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from jwt.utils import base64url_decode

__all__ = ["SUPERUSERS_COLLECTION_ID", "TokenClaims", "decode_claims"]

#: The fixed id of PocketBase's ``_superusers`` system collection.
SUPERUSERS_COLLECTION_ID = "pbc_3142635823"


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


def decode_claims(token: str | None) -> TokenClaims | None:
    """Return the claims of *token*, or ``None`` if it is not a readable JWT.

    The signature is not checked (see the module docstring).
    """
    if not token or not isinstance(token, str) or len(token) > 8192:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[1]:
        return None
    try:
        # pyjwt's base64url helper on the two segments we read. jwt.decode() with
        # verify_signature=False does the same plus per-character checks that cost
        # ~25 us per page view, for a signature it is told not to verify anyway.
        header: Any = json.loads(base64url_decode(parts[0]))
        payload: Any = json.loads(base64url_decode(parts[1]))
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return None
    if not isinstance(payload, dict):
        return None
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
