"""The request-bound objects: ``pb``, ``current_user`` and their helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flask import current_app, g, request
from werkzeug.local import LocalProxy

from pb_ssr import AsyncPocketBase, PocketBase, Record, RequestSession, resolve_client_ip

if TYPE_CHECKING:
    from .extension import PocketBaseState

__all__ = [
    "AnonymousUser",
    "AuthenticatedUser",
    "apb",
    "current_user",
    "get_current_user",
    "get_pb",
    "get_session",
    "pb",
]


class AuthenticatedUser(Record):
    """The signed-in auth record, with Flask-Login style flags."""

    __slots__ = ()
    is_authenticated = True
    is_anonymous = False


class AnonymousUser:
    """Nobody is signed in: falsy, ``is_authenticated`` is ``False`` (like Flask-Login)."""

    is_authenticated = False
    is_anonymous = True
    id = ""

    def get(self, key: str, default: Any = None) -> Any:
        """Anonymous users have no fields."""
        return default

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<AnonymousUser>"


def _state() -> PocketBaseState:
    try:
        return cast("PocketBaseState", current_app.extensions["pocketbase"])
    except KeyError:
        raise RuntimeError(
            "pb-ssr is not set up on this app: call PocketBaseSSR(app) or ext.init_app(app)."
        ) from None


def get_session() -> RequestSession:
    """Return this request's :class:`~pb_ssr.RequestSession`, opening it on first use."""
    session: RequestSession | None = g.get("_pb_ssr")
    if session is None:
        state = _state()
        settings = state.settings
        client_ip = resolve_client_ip(
            request.remote_addr,
            request.headers.get("X-Forwarded-For"),
            settings.TRUSTED_PROXIES,
        )
        session = state.manager.open(
            request.cookies.get(settings.COOKIE_NAME),
            client_ip=client_ip,
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
    """Return the signed-in user, or an :class:`AnonymousUser`."""
    user: AuthenticatedUser | AnonymousUser | None = g.get("_pb_ssr_user")
    if user is None:
        record = get_session().user()
        user = AuthenticatedUser(record) if record is not None else AnonymousUser()
        g._pb_ssr_user = user
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
