"""``PocketBaseMiddleware``: the per-request PocketBase session of a Django project.

Add it after ``SessionMiddleware`` and ``CsrfViewMiddleware`` (check ``pb_ssr.E002``).
Each request then has, all lazy: ``request.pb`` (the request's client),
``request.pb_user`` (an :class:`~pb_ssr.AuthenticatedUser` or a falsy
:class:`~pb_ssr.AnonymousUser`), ``await request.apb()`` / ``await request.apb_user()``
for async views, and ``request.pb_session`` (the :class:`~pb_ssr.RequestSession`).
After the view it writes the auth cookie back with ``Vary: Cookie`` and
``Cache-Control: private``, and turns an unhandled PocketBase outage into the 503
page ``pb_ssr/unavailable.html`` (JSON for clients that prefer it), unless
``HANDLE_UNAVAILABLE`` is off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.functional import SimpleLazyObject

from pb_ssr import (
    UNAVAILABLE_JSON,
    AnonymousUser,
    AuthenticatedUser,
    OutageLog,
    RequestSession,
    SessionResult,
    as_user,
    warn_insecure_cookie,
)

from .conf import get_config

__all__ = ["AnonymousUser", "AuthenticatedUser", "PocketBaseMiddleware", "get_session"]

logger = logging.getLogger("pb_ssr.django")
#: One log line per minute about 503s, not one per request.
outages = OutageLog(logger)


class _LazyUser(SimpleLazyObject):
    """``request.pb_user``: the middleware's lazy user (the context processor knows it)."""


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
        user = request._cached_pb_user = as_user(get_session(request).user())
    return user


async def aget_user(request: Any) -> AuthenticatedUser | AnonymousUser:
    """The async twin of :func:`get_user`."""
    user: AuthenticatedUser | AnonymousUser | None = getattr(request, "_cached_pb_user", None)
    if user is None:
        user = request._cached_pb_user = as_user(await get_session(request).auser())
    return user


class PocketBaseMiddleware:
    """Open a PocketBase session per request and write the auth cookie back.

    Works under WSGI and ASGI: like Django's ``MiddlewareMixin`` it checks once
    whether the next handler is async and switches in ``__call__``. Settings are
    read per request, so ``override_settings`` works.
    """

    sync_capable = True
    async_capable = True

    #: Template of the 503 page rendered when a view meets a PocketBase outage.
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
        meta = request.META
        session = config.open(
            request.COOKIES.get(config.settings.COOKIE_NAME),
            remote_addr=meta.get("REMOTE_ADDR"),
            forwarded_for=meta.get("HTTP_X_FORWARDED_FOR"),
            user_agent=meta.get("HTTP_USER_AGENT"),
        )
        request.pb_session = session
        request.pb = SimpleLazyObject(session.client)
        request.pb_user = _LazyUser(partial(get_user, request))
        request.apb = session.aclient
        request.apb_user = partial(aget_user, request)

    def process_response(self, request: Any, response: Any) -> Any:
        """Apply the session's result: ``Set-Cookie``, ``Vary`` and ``Cache-Control``."""
        session = getattr(request, "pb_session", None)
        if not isinstance(session, RequestSession):
            return response
        result = session.finalize()
        apply_result(response, result)
        if result.cookie is not None and not result.cookie.is_delete:
            warn_insecure_cookie(
                secure=result.cookie.secure,
                is_https=request.is_secure(),
                host=browser_host(request),
            )
        return response

    def process_exception(self, request: Any, exception: Exception) -> Any:
        """Answer a PocketBase outage with the 503 page; leave every other error alone.

        An outage is :class:`~pb_ssr.PocketBaseUnavailable` or a 5xx
        :class:`~pb_ssr.ClientResponseError`; a 404 or 403 stays the view's to handle.
        """
        headers = get_config().unavailable(exception, request.path, outages)
        return None if headers is None else self.unavailable_response(request, headers)

    def unavailable_response(self, request: Any, headers: dict[str, str]) -> Any:
        """Build the 503: JSON for clients that prefer it, else :attr:`unavailable_template`."""
        if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
            return JsonResponse(UNAVAILABLE_JSON, status=503, headers=headers)
        # No request context: a context processor asking for the user would raise again.
        page = loader.render_to_string(self.unavailable_template)
        return HttpResponse(page, status=503, headers=headers)


def browser_host(request: Any) -> str:
    """The host the browser asked for, unvalidated (for hints only, never for URLs)."""
    meta = request.META
    return str(meta.get("HTTP_HOST") or meta.get("SERVER_NAME", ""))


def apply_result(response: Any, result: SessionResult) -> None:
    """Write a :class:`~pb_ssr.SessionResult` onto a Django *response*."""
    if result.cookie is not None:
        response.set_cookie(**result.cookie.set_cookie_kwargs())
    headers = response.headers
    for name, value in result.headers(headers.get("Vary"), headers.get("Cache-Control")).items():
        headers[name] = value
