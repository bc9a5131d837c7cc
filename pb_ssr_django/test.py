"""Sign a Django test ``Client`` (or a ``RequestFactory`` request) in as a PocketBase user.

Like ``Client.force_login()``: the client gets the signed auth cookie a sign-in
would write (PocketBase still confirms the token)::

    login(client, pb_user_factory(name="Ada"))
    assert b"Ada" in client.get("/profile/").content
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any, Protocol

from pb_ssr import CookieUpdate, HasAuth

from .conf import get_config

__all__ = ["auth_cookie", "login", "logout", "request_with_user"]


class _HasCookies(Protocol):
    """A Django test ``Client`` or ``AsyncClient``."""

    cookies: SimpleCookie


def auth_cookie(
    user: HasAuth | None = None, *, token: str | None = None, record: Any = None
) -> CookieUpdate:
    """The auth cookie that signs *user* (or *token* and *record*) in.

    :raises TypeError: when neither *user* nor *token* is given.
    :raises ValueError: when the cookie would be too large to store.
    """
    return get_config().login_cookie(user, token=token, record=record)


def login(
    client: _HasCookies,
    user: HasAuth | None = None,
    *,
    token: str | None = None,
    record: Any = None,
) -> None:
    """Set the signed auth cookie of *user* on the Django test *client*.

    :param client: a ``django.test.Client`` or ``AsyncClient``.
    :param user: a ``pb_ssr.testing.TestUser`` (from ``pb_user_factory``) or any
        object with ``token`` and ``record``, such as a ``RecordAuthResponse``.
    :param token: instead of *user*: a PocketBase auth token...
    :param record: ...and its auth record (optional; PocketBase's copy wins anyway).
    :raises TypeError: when neither *user* nor *token* is given.
    """
    cookie = auth_cookie(user, token=token, record=record)
    client.cookies[cookie.name] = cookie.value
    morsel = client.cookies[cookie.name]
    morsel["max-age"] = cookie.max_age
    morsel["path"] = cookie.path
    if cookie.domain:
        morsel["domain"] = cookie.domain
    morsel["secure"] = cookie.secure
    morsel["httponly"] = cookie.httponly
    morsel["samesite"] = cookie.samesite


def logout(client: _HasCookies) -> None:
    """Remove the auth cookie from the Django test *client*."""
    name = get_config().settings.COOKIE_NAME
    if name in client.cookies:
        del client.cookies[name]


def request_with_user(
    request: Any,
    user: HasAuth | None = None,
    *,
    token: str | None = None,
    record: Any = None,
) -> Any:
    """Put the auth cookie of *user* on a ``RequestFactory`` *request* and return it.

    Run the view through :class:`~pb_ssr_django.middleware.PocketBaseMiddleware`
    (``PocketBaseMiddleware(view)(request)``) so the request gets ``request.pb``.
    """
    cookie = auth_cookie(user, token=token, record=record)
    request.COOKIES[cookie.name] = cookie.value
    pairs = [f"{k}={v}" for k, v in request.COOKIES.items()]
    request.META["HTTP_COOKIE"] = "; ".join(pairs)
    return request
