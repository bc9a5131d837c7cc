"""The request's user, as both adapters hand it to views and templates."""

from __future__ import annotations

from typing import Any

from ._records import Record

__all__ = ["AnonymousUser", "AuthenticatedUser", "as_user"]


class AuthenticatedUser(Record):
    """The signed-in auth record (a ``dict`` of its JSON) with Django/Flask-Login flags.

    Equal to another record with the same JSON, like any ``dict``.
    """

    __slots__ = ()
    is_authenticated = True
    is_anonymous = False

    @property
    def is_superuser(self) -> bool:
        """True for a record of PocketBase's ``_superusers`` collection."""
        return self.collection_name == "_superusers"


class AnonymousUser:
    """Nobody is signed in: falsy, ``is_authenticated`` is ``False``; all are equal."""

    __slots__ = ()
    is_authenticated = False
    is_anonymous = True
    is_superuser = False
    id = ""

    def get(self, key: str, default: Any = None) -> Any:
        """Anonymous users have no fields."""
        return default

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnonymousUser)

    def __hash__(self) -> int:
        return hash(AnonymousUser)

    def __repr__(self) -> str:
        return "<AnonymousUser>"


def as_user(record: Record | None) -> AuthenticatedUser | AnonymousUser:
    """The user of a session's record (``RequestSession.user()``); ``None`` is anonymous."""
    return AuthenticatedUser(record) if record is not None else AnonymousUser()
