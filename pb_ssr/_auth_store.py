"""Per-client auth state, like the JS SDK's ``authStore``."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ._records import Record, to_record
from ._tokens import TokenClaims, decode_claims

__all__ = ["AuthStore", "OnChange", "auth_record_matches"]

#: ``callback(token, record)`` called after every ``save`` and ``clear``.
OnChange = Callable[[str, Record | None], None]


class AuthStore:
    """The token and auth record of one client (one request, one user).

    Every successful auth call of a client saves into its store; ``clear()``
    logs out. A store belongs to exactly one client: pb-ssr never shares one
    between requests, so one user's token can never serve another user.

    :param token: an initial token.
    :param record: the auth record that goes with it.

    Example::

        pb.auth_store.on_change(lambda token, record: print("user:", record and record.id))
        pb.collection("users").auth_with_password(email, password)
        pb.auth_store.is_valid, pb.auth_store.record["email"]
    """

    __slots__ = ("_callbacks", "_claims", "_decoded", "_record", "_token")

    def __init__(self, token: str = "", record: Mapping[str, Any] | None = None) -> None:
        self._token = ""
        self._record: Record | None = None
        self._claims: TokenClaims | None = None
        self._decoded = False
        self._callbacks: list[OnChange] = []
        if token or record:
            self._set(token, record)

    @classmethod
    def _with_claims(
        cls, token: str, record: Mapping[str, Any] | None, claims: TokenClaims | None
    ) -> AuthStore:
        """A store whose token's claims were already decoded (skips a second decode)."""
        store = cls(token, record)
        if claims is not None:
            store._claims, store._decoded = claims, True
        return store

    def _set(self, token: str, record: Mapping[str, Any] | None) -> None:
        self._token = token or ""
        self._record = to_record(record) if record is not None else None
        # Decoded on first use: a per-request client that never asks costs nothing.
        self._claims = None
        self._decoded = False

    @property
    def token(self) -> str:
        """The raw token (``""`` when signed out). Treat it as a password."""
        return self._token

    @property
    def record(self) -> Record | None:
        """The auth record, or ``None``."""
        return self._record

    @property
    def claims(self) -> TokenClaims | None:
        """The token's unverified claims, or ``None`` when there is no readable token."""
        if not self._decoded:
            self._claims = decode_claims(self._token)
            self._decoded = True
        return self._claims

    @property
    def is_valid(self) -> bool:
        """True when a token is present and not expired.

        A local check like the JS SDK's: the signature is not verified and a
        revoked token still looks valid. Only PocketBase can tell (``auth_refresh``).
        """
        claims = self.claims
        return claims is not None and not claims.is_expired(time.time())

    @property
    def is_superuser(self) -> bool:
        """True when the token is a ``_superusers`` auth token."""
        claims = self.claims
        if claims is None or claims.type != "auth":
            return False
        if self._record is not None and self._record.collection_name == "_superusers":
            return True
        return claims.is_superuser

    def save(self, token: str, record: Mapping[str, Any] | None = None) -> None:
        """Store *token* and *record* and notify the ``on_change`` callbacks."""
        self._set(token, record)
        self._notify()

    def clear(self) -> None:
        """Forget the token and record and notify the ``on_change`` callbacks."""
        self._set("", None)
        self._notify()

    def on_change(
        self, callback: OnChange, *, fire_immediately: bool = False
    ) -> Callable[[], None]:
        """Register *callback* for every change; return a function that removes it.

        :param callback: called as ``callback(token, record)``.
        :param fire_immediately: also call it once now with the current state.
        """
        self._callbacks.append(callback)
        if fire_immediately:
            callback(self._token, self._record)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    def _notify(self) -> None:
        for callback in list(self._callbacks):
            callback(self._token, self._record)

    def __repr__(self) -> str:
        record_id = self._record.id if self._record is not None else None
        return f"<AuthStore record_id={record_id!r} is_valid={self.is_valid}>"


def auth_record_matches(store_record: Record | None, collection: str, record_id: str) -> bool:
    """True when *store_record* is the record *record_id* of *collection* (id or name)."""
    if store_record is None or store_record.id != record_id:
        return False
    return collection in (store_record.collection_id, store_record.collection_name)
