"""Sign a Flask test client in as a real PocketBase user, without the login form.

Like flask-login's ``FlaskLoginClient``: ``login(client, pb_user_factory())``, or
``app.test_client_class = PocketBaseTestClient`` and ``app.test_client(user=user)``.
PocketBase still confirms the token, as for any browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from pb_ssr import HasAuth, PocketBaseConfig

__all__ = ["PocketBaseTestClient", "login", "logout"]


def _state(client: FlaskClient) -> PocketBaseConfig:
    try:
        state: PocketBaseConfig = client.application.extensions["pocketbase"]
    except KeyError:
        raise RuntimeError(
            "The app of this test client has no pb-ssr: call PocketBaseSSR(app) first."
        ) from None
    return state


def _cookie_domain(client: FlaskClient, domain: str | None) -> str:
    # The werkzeug test client matches cookies on the request host: localhost,
    # or SERVER_NAME when the app sets one.
    if domain:
        return domain.lstrip(".")
    server_name = client.application.config.get("SERVER_NAME")
    if not server_name:
        return "localhost"
    return urlsplit(f"//{server_name}").hostname or "localhost"


def login(
    client: FlaskClient,
    user: HasAuth | None = None,
    *,
    token: str | None = None,
    record: Mapping[str, Any] | None = None,
) -> None:
    """Set the signed auth cookie of *user* on the Flask test *client*.

    :param client: a test client of an app with :class:`~pb_ssr_flask.PocketBaseSSR`.
    :param user: a ``pb_ssr.testing.TestUser`` (from ``pb_user_factory``) or any
        object with ``token`` and ``record``, such as a ``RecordAuthResponse``.
    :param token: instead of *user*: a PocketBase auth token...
    :param record: ...and its auth record (optional; PocketBase's copy wins anyway).
    :raises TypeError: when neither *user* nor *token* is given.
    """
    cookie = _state(client).login_cookie(user, token=token, record=record)
    client.set_cookie(
        cookie.name,
        cookie.value,
        domain=_cookie_domain(client, cookie.domain),
        # A Domain attribute makes the browser send it to subdomains as well.
        origin_only=cookie.domain is None,
        path=cookie.path,
        max_age=cookie.max_age,
        secure=cookie.secure,
        httponly=cookie.httponly,
        samesite=cookie.samesite,
    )


def logout(client: FlaskClient) -> None:
    """Remove the auth cookie from the test *client*."""
    settings = _state(client).settings
    client.delete_cookie(
        settings.COOKIE_NAME,
        domain=_cookie_domain(client, settings.COOKIE_DOMAIN),
        path=settings.COOKIE_PATH,
    )


class PocketBaseTestClient(FlaskClient):
    """A test client that can start signed in: ``app.test_client(user=user)``.

    Set ``app.test_client_class = PocketBaseTestClient`` first.

    :param user: a ``pb_ssr.testing.TestUser`` or anything with ``token`` and
        ``record``; ``None`` for an anonymous client.
    """

    def __init__(self, *args: Any, user: HasAuth | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user is not None:
            login(self, user)
