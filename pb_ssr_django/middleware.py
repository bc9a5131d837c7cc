"""``PocketBaseMiddleware``: the per-request PocketBase session of a Django project.

Add it after ``SessionMiddleware`` and ``CsrfViewMiddleware`` (system check
``pb_ssr.E002`` says so otherwise)::

    MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "pb_ssr_django.middleware.PocketBaseMiddleware",
        ...
    ]

Each request then has, all lazy (no cookie is read and PocketBase is not asked
until a view touches one of them):

- ``request.pb``: the request's :class:`~pb_ssr.PocketBase` client, signed in as
  the cookie's user once PocketBase has confirmed the token;
- ``request.pb_user``: that user's record (an :class:`AuthenticatedUser`) or an
  :class:`AnonymousUser`, which is falsy, like Django's ``request.user``;
- ``await request.apb()`` and ``await request.apb_user()``: the same for ``async def``
  views (Django's ``request.auser()`` pattern);
- ``request.pb_session``: the :class:`~pb_ssr.RequestSession` (``login()``,
  ``logout()``, ``verified``).

After the view the middleware writes the auth cookie back (a renewed token, a
sign-in, a sign-out, or a bad cookie deleted) and marks responses that depended
on the user ``Vary: Cookie`` and ``Cache-Control: private``. With
``ON_BACKEND_ERROR = "raise"``, a PocketBase outage while confirming the cookie
becomes the ``pb_ssr/unavailable.html`` page with status 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpResponse  # type: ignore[import-untyped]
from django.template import loader  # type: ignore[import-untyped]
from django.utils.cache import patch_cache_control, patch_vary_headers  # type: ignore[import-untyped]
from django.utils.functional import SimpleLazyObject  # type: ignore[import-untyped]

from pb_ssr import (
    AsyncPocketBase,
    PocketBaseUnavailable,
    Record,
    RequestSession,
    SessionResult,
    resolve_client_ip,
)

from .conf import get_config

__all__ = ["AnonymousUser", "AuthenticatedUser", "PocketBaseMiddleware", "get_session"]

logger = logging.getLogger("pb_ssr.django")


class AuthenticatedUser(Record):
    """The signed-in auth record (a ``dict`` of its JSON) with Django-style flags."""

    __slots__ = ()
    is_authenticated = True
    is_anonymous = False

    @property
    def is_superuser(self) -> bool:
        """True for a record of PocketBase's ``_superusers`` collection."""
        return self.collection_name == "_superusers"


class AnonymousUser:
    """Nobody is signed in: falsy, ``is_authenticated`` is ``False`` (like Django's)."""

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


class _LazyUser(SimpleLazyObject):  # type: ignore[misc]
    """``request.pb_user``: the middleware's lazy user (the context processor knows it)."""


def _as_user(record: Record | None) -> AuthenticatedUser | AnonymousUser:
    return AuthenticatedUser(record) if record is not None else AnonymousUser()


def get_session(request: Any) -> RequestSession:
    """Return the :class:`~pb_ssr.RequestSession` of *request*.

    :raises RuntimeError: when ``PocketBaseMiddleware`` did not see the request.
    """
    session = getattr(request, "pb_session", None)
    if not isinstance(session, RequestSession):
        raise RuntimeError(
            "This request has no PocketBase session: add "
            "'pb_ssr_django.middleware.PocketBaseMiddleware' to MIDDLEWARE."
        )
    return session


def get_user(request: Any) -> AuthenticatedUser | AnonymousUser:
    """Return the signed-in user of *request* (sync; the cookie is checked on first use)."""
    user: AuthenticatedUser | AnonymousUser | None = getattr(request, "_cached_pb_user", None)
    if user is None:
        user = _as_user(get_session(request).user())
        request._cached_pb_user = user
    return user


async def aget_user(request: Any) -> AuthenticatedUser | AnonymousUser:
    """The async twin of :func:`get_user`."""
    user: AuthenticatedUser | AnonymousUser | None = getattr(request, "_cached_pb_user", None)
    if user is None:
        user = _as_user(await get_session(request).auser())
        request._cached_pb_user = user
    return user


async def aget_pb(request: Any) -> AsyncPocketBase:
    """Return the async client of *request* (``await request.apb()``)."""
    return await get_session(request).aclient()


class PocketBaseMiddleware:
    """Open a PocketBase session per request and write the auth cookie back.

    Works under WSGI and ASGI: like Django's ``MiddlewareMixin`` it checks once
    whether the next handler is async and switches in ``__call__``. Settings are
    read per request, so ``override_settings`` works.
    """

    sync_capable = True
    async_capable = True

    #: Template of the 503 page rendered when PocketBase is down and
    #: ``ON_BACKEND_ERROR = "raise"``.
    unavailable_template = "pb_ssr/unavailable.html"

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            # Mark the instance so Django's handler awaits it.
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        self.process_request(request)
        response = self.get_response(request)
        return self.process_response(request, response)

    async def __acall__(self, request: Any) -> Any:
        self.process_request(request)
        response = await self.get_response(request)
        session = getattr(request, "pb_session", None)
        if isinstance(session, RequestSession):
            # afinalize(): a shared session store is written without blocking the loop.
            apply_result(response, await session.afinalize())
        return response

    def process_request(self, request: Any) -> None:
        """Open the session (no I/O) and attach the lazy attributes to *request*."""
        config = get_config()
        settings = config.settings
        meta = request.META
        client_ip = resolve_client_ip(
            meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"), settings.TRUSTED_PROXIES
        )
        session = config.manager.open(
            request.COOKIES.get(settings.COOKIE_NAME),
            client_ip=client_ip,
            user_agent=meta.get("HTTP_USER_AGENT"),
        )
        request.pb_session = session
        request.pb = SimpleLazyObject(session.client)
        request.pb_user = _LazyUser(partial(get_user, request))
        request.apb = partial(aget_pb, request)
        request.apb_user = partial(aget_user, request)

    def process_response(self, request: Any, response: Any) -> Any:
        """Apply the session's result: ``Set-Cookie``, ``Vary`` and ``Cache-Control``."""
        session = getattr(request, "pb_session", None)
        if not isinstance(session, RequestSession):
            return response
        apply_result(response, session.finalize())
        return response

    def process_exception(self, request: Any, exception: Exception) -> Any:
        """Answer :class:`~pb_ssr.PocketBaseUnavailable` with the 503 page."""
        if not isinstance(exception, PocketBaseUnavailable):
            return None
        logger.warning("PocketBase is unavailable; answering 503 for %s.", request.path)
        # No request context: a context processor asking for the user would raise again.
        return HttpResponse(loader.render_to_string(self.unavailable_template), status=503)


def apply_result(response: Any, result: SessionResult) -> None:
    """Write a :class:`~pb_ssr.SessionResult` onto a Django *response*."""
    if result.cookie is not None:
        response.set_cookie(**result.cookie.set_cookie_kwargs())
    if result.user_dependent:
        patch_vary_headers(response, ["Cookie"])
        patch_cache_control(response, private=True)
    if result.no_store:
        patch_cache_control(response, no_store=True)
