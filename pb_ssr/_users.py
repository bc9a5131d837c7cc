"""The request's user, as both adapters hand it to views and templates, and their guard."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ._records import Record

__all__ = ["AnonymousUser", "AuthenticatedUser", "as_user", "guard_view"]


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


F = TypeVar("F", bound=Callable[..., Any])
#: A view's access check: gets the view's arguments, returns the response to answer
#: instead of calling the view, or ``None`` to let the request through.
Check = Callable[..., Any]


def guard_view(view: F, check: Check, acheck: Check, *, is_async: bool | None = None) -> F:
    """Wrap a sync or ``async def`` *view* with an access check (the adapters' decorators).

    :param check: runs before a sync view; :param acheck: is awaited before an async one.
    :param is_async: whether *view* is a coroutine function (``None``: ask ``inspect``).
    """
    if inspect.iscoroutinefunction(view) if is_async is None else is_async:

        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            denied = await acheck(*args, **kwargs)
            return denied if denied is not None else await view(*args, **kwargs)

        return cast("F", async_wrapper)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        denied = check(*args, **kwargs)
        return denied if denied is not None else view(*args, **kwargs)

    return cast("F", wrapper)
