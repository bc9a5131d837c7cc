"""``login_required`` for sync and async Flask views."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, jsonify, redirect, request, url_for
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from pb_ssr import is_local_path

from .globals import get_current_user, get_session

__all__ = ["is_safe_next", "login_required"]

F = TypeVar("F", bound=Callable[..., Any])


def is_safe_next(target: str | None) -> bool:
    """True when *target* is a path on this site (see :func:`pb_ssr.is_local_path`)."""
    return is_local_path(target)


def _wants_json() -> bool:
    # HTML first: "*/*" (curl, most clients) gets the redirect; only a client that
    # prefers JSON, or sends JSON, gets the 401 body.
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return bool(request.is_json or best == "application/json")


def _unauthorized() -> Response:
    response = jsonify({"status": 401, "message": "Sign in to continue.", "data": {}})
    response.status_code = 401
    return response


def _deny() -> Response:
    if _wants_json():
        return _unauthorized()
    state = current_app.extensions["pocketbase"]
    target = request.full_path if request.query_string else request.path
    try:
        location = url_for(state.login_view, next=target)
    except BuildError:
        # No login page on this app (auth_blueprint not registered): a plain 401,
        # as Flask-Login answers, instead of a 500.
        return _unauthorized()
    return redirect(location)


def login_required(view: F) -> F:
    """Let only signed-in users through; others go to the login page (or get a JSON 401).

    The login endpoint is ``POCKETBASE_LOGIN_VIEW`` (default ``"pb_auth.login"``);
    ``next`` carries the requested path, which the login view only follows when it
    stays on this site. When that endpoint does not exist (the auth blueprint is not
    registered), the answer is a JSON ``401``.
    """
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if await get_session().auser() is None:
                return _deny()
            return await view(*args, **kwargs)

        return cast("F", async_wrapper)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not get_current_user().is_authenticated:
            return _deny()
        return view(*args, **kwargs)

    return cast("F", wrapper)
