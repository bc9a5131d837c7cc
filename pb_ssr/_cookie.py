"""The auth cookie: what goes in, how it is signed, and how it comes back out.

Reading never raises: whatever a browser sends (tampered, truncated, re-signed,
binary garbage), :meth:`CookieCodec.load` answers ``None`` and the request goes
on as anonymous, like Flask's and Starlette's session cookies.
"""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from itsdangerous import BadData, URLSafeSerializer

from ._config import Settings
from ._errors import ConfigurationError
from ._tokens import decode_claims

__all__ = ["CookieCodec", "CookieUpdate"]

logger = logging.getLogger("pb_ssr.cookie")

#: Browsers drop a Set-Cookie whose name, value and attributes exceed this.
MAX_COOKIE_BYTES = 4096
#: What the JS SDK keeps of the record when its cookie is too big.
_JS_SDK_TRIM = ("id", "email", "collectionId", "collectionName", "verified")


class _CompactJSON:
    """itsdangerous serializer: compact, key-sorted JSON."""

    @staticmethod
    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=True)

    @staticmethod
    def loads(data: str | bytes) -> Any:
        return json.loads(data)


@dataclass(frozen=True, slots=True)
class CookieUpdate:
    """A ``Set-Cookie`` the adapter must emit: a new value, or a deletion.

    Adapters map the fields onto their framework's ``set_cookie``;
    :meth:`header` renders the raw header for everything else.
    """

    name: str
    #: The new value; ``""`` together with ``max_age == 0`` deletes the cookie.
    value: str
    #: Seconds until the browser forgets it (the token's remaining lifetime).
    max_age: int
    path: str
    domain: str | None
    secure: bool
    httponly: bool
    samesite: str
    #: For the JS-SDK format: the token's exp, written as ``Expires`` like the SDK.
    expires: float | None = None

    @property
    def is_delete(self) -> bool:
        """True when this update deletes the cookie."""
        return self.max_age == 0 and self.value == ""

    def set_cookie_kwargs(self) -> dict[str, Any]:
        """Arguments for ``response.set_cookie(**kwargs)`` (Django and werkzeug alike).

        Deletions go through ``set_cookie`` too: ``delete_cookie`` would drop the
        HttpOnly/Secure/SameSite attributes on some frameworks.
        """
        expires = 0.0 if self.is_delete else self.expires
        return {
            "key": self.name,
            "value": self.value,
            "max_age": self.max_age,
            "expires": (
                email.utils.formatdate(expires, usegmt=True) if expires is not None else None
            ),
            "path": self.path,
            "domain": self.domain,
            "secure": self.secure,
            "httponly": self.httponly,
            "samesite": self.samesite,
        }

    def header(self) -> str:
        """Render the ``Set-Cookie`` header value."""
        parts = [f"{self.name}={self.value}", f"Max-Age={self.max_age}"]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        parts.append(f"Path={self.path}")
        expires = 0.0 if self.is_delete else self.expires
        if expires is not None:
            parts.append(f"Expires={email.utils.formatdate(expires, usegmt=True)}")
        if self.httponly:
            parts.append("HttpOnly")
        if self.secure:
            parts.append("Secure")
        parts.append(f"SameSite={self.samesite}")
        return "; ".join(parts)

    def __repr__(self) -> str:
        state = "delete" if self.is_delete else f"set {len(self.value)} chars"
        return f"<CookieUpdate {self.name}: {state}, max_age={self.max_age}>"


class CookieCodec:
    """Encode and decode the auth cookie.

    :param settings: the pb-ssr settings (cookie name, format, record fields...).
    :param secret_key: the app's secret key (Django ``SECRET_KEY``, Flask ``SECRET_KEY``).
    :param fallbacks: older keys still accepted when reading (``SECRET_KEY_FALLBACKS``),
        so rotating the key logs nobody out.
    """

    #: Fixed salt: a value signed for anything else with the same key never validates here.
    salt = "pb_ssr.auth-cookie"

    def __init__(
        self,
        settings: Settings,
        *,
        secret_key: str | bytes | None,
        fallbacks: Sequence[str | bytes] = (),
    ) -> None:
        self.settings = settings
        self._serializer: URLSafeSerializer | None = None
        if settings.COOKIE_FORMAT == "signed":
            if not secret_key:
                raise ConfigurationError(
                    "A secret key is required to sign the pb-ssr auth cookie: set SECRET_KEY."
                )
            # itsdangerous takes keys oldest to newest and signs with the last one.
            keys = [k.encode() if isinstance(k, str) else k for k in (*fallbacks, secret_key)]
            self._serializer = URLSafeSerializer(keys, salt=self.salt, serializer=_CompactJSON)

    @property
    def signed(self) -> bool:
        """True for the signed format: only pb-ssr can have written the cookie."""
        return self._serializer is not None

    # -- reading ------------------------------------------------------------------

    def load(self, value: str | None) -> tuple[str, dict[str, Any] | None] | None:
        """Return ``(token, record)`` from a cookie value, or ``None`` if unusable."""
        if not value or not isinstance(value, str) or len(value) > 8 * MAX_COOKIE_BYTES:
            return None
        try:
            if self._serializer is not None:
                data = self._serializer.loads(value)
            else:
                data = _load_js_sdk(value)
        except (BadData, ValueError, TypeError, UnicodeError, RecursionError):
            return None
        if not isinstance(data, Mapping):
            return None
        token = data.get("token")
        record = data.get("record")
        if record is None:
            record = data.get("model")  # the JS SDK's pre-0.22 key
        if not isinstance(token, str) or not token:
            return None
        return token, dict(record) if isinstance(record, Mapping) else None

    # -- writing ------------------------------------------------------------------

    def dump(self, token: str, record: Mapping[str, Any] | None, *, max_age: int) -> CookieUpdate:
        """Return the update that stores *token* and the trimmed *record*.

        Over 4096 bytes the record is cut down; if even that does not fit, only
        the token is kept and a warning is logged.
        """
        fields = self.settings.RECORD_FIELDS
        candidates: list[dict[str, Any] | None] = []
        if record is not None:
            trimmed = {k: record[k] for k in fields if k in record}
            candidates.append(trimmed)
            if self.settings.COOKIE_FORMAT == "js-sdk":
                candidates.append({k: trimmed[k] for k in _JS_SDK_TRIM if k in trimmed})
            if "id" in trimmed:
                candidates.append({"id": trimmed["id"]})
        candidates.append(None)
        for i, rec in enumerate(candidates):
            update = self._update(self._encode(token, rec), max_age, token)
            if len(update.header().encode()) <= MAX_COOKIE_BYTES:
                if i == len(candidates) - 1 and record:
                    logger.warning(
                        "pb-ssr auth cookie too large: stored the token without the record "
                        "(cookie %r).",
                        self.settings.COOKIE_NAME,
                    )
                return update
        logger.warning(
            "pb-ssr auth cookie %r would exceed %d bytes even without the record; "
            "the user stays signed in for this response only.",
            self.settings.COOKIE_NAME,
            MAX_COOKIE_BYTES,
        )
        return self.delete()

    def delete(self) -> CookieUpdate:
        """Return the update that deletes the cookie."""
        return self._update("", 0, None)

    def _encode(self, token: str, record: Mapping[str, Any] | None) -> str:
        payload = {"token": token, "record": dict(record) if record is not None else None}
        if self._serializer is not None:
            return self._serializer.dumps(payload)
        return quote(
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False), safe="!'()*-._~"
        )

    def _update(self, value: str, max_age: int, token: str | None) -> CookieUpdate:
        s = self.settings
        expires: float | None = None
        if s.COOKIE_FORMAT == "js-sdk" and token:
            claims = decode_claims(token)
            expires = claims.exp if claims is not None else None
        return CookieUpdate(
            name=s.COOKIE_NAME,
            value=value,
            max_age=max(0, int(max_age)),
            path=s.COOKIE_PATH,
            domain=s.COOKIE_DOMAIN,
            secure=s.COOKIE_SECURE,
            httponly=s.COOKIE_HTTPONLY,
            samesite=s.COOKIE_SAMESITE,
            expires=expires,
        )


def _load_js_sdk(value: str) -> Any:
    # loadFromCookie: quotes stripped, URI-decoded when it holds '%', then JSON.
    raw = value.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    if "%" in raw:
        raw = unquote(raw, errors="strict")
    return json.loads(raw)


def parse_cookie_header(header: str | None, name: str) -> str | None:
    """Return the first *name* value of a ``Cookie`` header (the JS SDK's rule)."""
    if not header:
        return None
    for part in header.split(";"):
        key, sep, val = part.strip().partition("=")
        if sep and key.strip() == name:
            return val.strip()
    return None
