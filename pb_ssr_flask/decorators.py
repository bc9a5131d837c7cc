"""``login_required`` and ``superuser_required`` for sync and async Flask views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, jsonify, redirect, request, url_for
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from pb_ssr import guard_view

from .globals import config, get_current_user, get_session

__all__ = ["login_required", "superuser_required"]

F = TypeVar("F", bound=Callable[..., Any])


def _deny() -> Response:
    # HTML first: "*/*" (curl, most clients) gets the redirect; only a client that
    # prefers JSON, or sends JSON, gets the 401 body.
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if not (request.is_json or best == "application/json"):
        target = request.full_path if request.query_string else request.path
        try:
            return redirect(url_for(config().options["LOGIN_VIEW"], next=target))
        except BuildError:
            pass  # no login page on this app (no auth blueprint): a 401, as Flask-Login
    response = jsonify({"status": 401, "message": "Sign in to continue.", "data": {}})
    response.status_code = 401
    return response


def login_required(view: F) -> F:
    """Let only signed-in users through; others go to the login page (or get a JSON 401).

    The login endpoint is ``POCKETBASE_LOGIN_VIEW`` (default ``"pb_auth.login"``);
    ``next`` carries the requested path, which the login view only follows when it
    stays on this site. When that endpoint does not exist (the auth blueprint is not
    registered), the answer is a JSON ``401``.
    """

    def allowed(*args: Any, **kwargs: Any) -> Response | None:
        return None if get_current_user().is_authenticated else _deny()

    async def aallowed(*args: Any, **kwargs: Any) -> Response | None:
        return None if await get_session().auser() is not None else _deny()

    return guard_view(view, allowed, aallowed)


def superuser_required(view: F) -> F:
    """Let only a signed-in PocketBase superuser (``_superusers``) through.

    Anonymous visitors are sent to sign in (as with :func:`login_required`); other
    signed-in users get ``403 Forbidden``.
    """

    def allowed(*args: Any, **kwargs: Any) -> Response | None:
        if not get_current_user().is_authenticated:
            return _deny()
        store = get_session().load()
        if not (store.token and store.is_superuser):
            abort(403, "Only PocketBase superusers may open this page.")
        return None

    async def aallowed(*args: Any, **kwargs: Any) -> Response | None:
        session = get_session()
        if await session.auser() is None:
            return _deny()
        store = await session.aload()
        if not (store.token and store.is_superuser):
            abort(403, "Only PocketBase superusers may open this page.")
        return None

    return guard_view(view, allowed, aallowed)
