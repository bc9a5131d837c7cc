"""Signed per-session CSRF tokens, for frameworks without their own (Flask).

A session holds a random nonce; a form carries that nonce signed with the app's
secret key (salt ``"pb_ssr.csrf"``, so a value signed for any other purpose never
passes). A request is accepted only when its token is unexpired and signs the
nonce of the session that sends it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from ._errors import ConfigurationError

__all__ = ["CSRFTokens"]


class CSRFTokens:
    """Issue and check CSRF tokens for a session nonce.

    :param secret_key: the app's secret key (signs the tokens).
    :param fallbacks: older keys whose tokens are still accepted (key rotation).
    :param max_age: seconds a token stays valid (8 hours).
    :raises ConfigurationError: without a secret key.
    """

    salt = "pb_ssr.csrf"

    def __init__(
        self,
        secret_key: str | bytes | None,
        fallbacks: Sequence[str | bytes] = (),
        max_age: int = 8 * 3600,
    ) -> None:
        if not secret_key:
            raise ConfigurationError("CSRF tokens are signed with SECRET_KEY: set SECRET_KEY.")
        # itsdangerous takes keys oldest to newest and signs with the last one.
        keys = [k.encode() if isinstance(k, str) else k for k in (*fallbacks, secret_key)]
        self._serializer = URLSafeTimedSerializer(keys, salt=self.salt)
        self.max_age = max_age

    @staticmethod
    def new_nonce() -> str:
        """A fresh random nonce for a session."""
        return secrets.token_urlsafe(32)

    def token(self, nonce: str) -> str:
        """The token forms of the session with *nonce* carry."""
        return str(self._serializer.dumps(nonce))

    def problem(self, token: object, nonce: object) -> str | None:
        """Why *token* is not acceptable for the session's *nonce*, or ``None`` when it is."""
        if not token or not isinstance(token, str):
            return "The CSRF token is missing."
        if not isinstance(nonce, str) or not nonce:
            # No form was rendered in this session (or its cookie was lost).
            return "The CSRF session token is missing."
        try:
            value = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            return "The CSRF token has expired."
        except BadData:
            return "The CSRF token is invalid."
        # Constant time: the comparison must not tell an attacker how much matched.
        if not isinstance(value, str) or not hmac.compare_digest(value, nonce):
            return "The CSRF token does not belong to this session."
        return None
