"""The request-bound objects: ``pb``, ``current_user`` and their helpers."""

from __future__ import annotations

from typing import cast

from flask import current_app, g, request
from werkzeug.local import LocalProxy

from pb_ssr import (
    AnonymousUser,
    AsyncPocketBase,
    AuthenticatedUser,
    PocketBase,
    PocketBaseConfig,
    RequestSession,
    ServiceClient,
    as_user,
)

__all__ = [
    "apb",
    "config",
    "current_user",
    "get_current_user",
    "get_pb",
    "get_session",
    "pb",
    "service",
]


def config() -> PocketBaseConfig:
    """The current app's :class:`~pb_ssr.PocketBaseConfig` (``app.extensions["pocketbase"]``).

    :raises RuntimeError: when the extension is not set up on the app.
    """
    try:
        return cast("PocketBaseConfig", current_app.extensions["pocketbase"])
    except KeyError:
        raise RuntimeError(
            "pb-ssr is not set up on this app: call PocketBaseSSR(app) or ext.init_app(app)."
        ) from None


def service() -> ServiceClient:
    """The app's superuser :class:`~pb_ssr.ServiceClient` (built on first use).

    :raises pb_ssr.ConfigurationError: when no superuser credentials or service token
        are set (``POCKETBASE_SUPERUSER_EMAIL``/``_PASSWORD`` or ``POCKETBASE_SERVICE_TOKEN``).
    """
    return config().service


def get_session() -> RequestSession:
    """Return this request's :class:`~pb_ssr.RequestSession`, opening it on first use."""
    session: RequestSession | None = g.get("_pb_ssr")
    if session is None:
        state = config()
        session = state.open(
            request.cookies.get(state.settings.COOKIE_NAME),
            remote_addr=request.remote_addr,
            forwarded_for=request.headers.get("X-Forwarded-For"),
            user_agent=request.headers.get("User-Agent"),
        )
        g._pb_ssr = session
    return session


def get_pb() -> PocketBase:
    """Return this request's PocketBase client (the cookie is checked on first use)."""
    return get_session().client()


async def apb() -> AsyncPocketBase:
    """Return this request's async client, for ``async def`` views::

    client = await apb()
    """
    return await get_session().aclient()


def get_current_user() -> AuthenticatedUser | AnonymousUser:
    """Return the signed-in user, or an :class:`~pb_ssr.AnonymousUser`."""
    user: AuthenticatedUser | AnonymousUser | None = g.get("_pb_ssr_user")
    if user is None:
        user = g._pb_ssr_user = as_user(get_session().user())
    return user


#: This request's :class:`~pb_ssr.PocketBase` client.
pb: PocketBase = cast(
    "PocketBase",
    LocalProxy(get_pb, unbound_message="pb_ssr_flask.pb is only available during a request."),
)
#: The signed-in user (a record) or an anonymous user (falsy).
current_user: AuthenticatedUser | AnonymousUser = cast(
    "AuthenticatedUser | AnonymousUser",
    LocalProxy(
        get_current_user,
        unbound_message="pb_ssr_flask.current_user is only available during a request.",
    ),
)
