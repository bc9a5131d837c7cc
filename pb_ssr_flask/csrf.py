"""Signed per-session CSRF tokens for Flask forms (Flask has none of its own).

Each session gets a random nonce in ``flask.session``; a form carries it signed with
``SECRET_KEY`` (salt ``"pb_ssr.csrf"``, 8 hours, ``SECRET_KEY_FALLBACKS`` accepted).
POST, PUT, PATCH and DELETE must send it back (field ``csrf_token`` or header
``X-CSRFToken``) from the same session, else :class:`CSRFError` (a 400). The auth
blueprint protects its forms and makes ``csrf_token()`` a Jinja global; protect the
app's own views with ``@csrf_protect`` (without the blueprint, call :func:`init_csrf`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request, session
from werkzeug.exceptions import BadRequest

from pb_ssr import CSRFTokens, guard_view

__all__ = [
    "CSRFError",
    "csrf_protect",
    "generate_csrf",
    "init_csrf",
    "rotate_csrf",
    "validate_csrf",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The ``flask.session`` key holding the session's nonce.
SESSION_KEY = "_pb_ssr_csrf"
#: The form field that carries the token.
FIELD_NAME = "csrf_token"
#: The request header that carries the token (for JavaScript).
HEADER_NAME = "X-CSRFToken"
#: The methods that must carry a token.
PROTECTED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_RETRY = " Reload the page and submit the form again."


class CSRFError(BadRequest):
    """A state-changing request came without a valid CSRF token (``400 Bad Request``).

    ``description`` says what was wrong; register ``@app.errorhandler(CSRFError)``
    to render it in the app's own page.
    """

    description = "The CSRF token is missing or invalid." + _RETRY


def _tokens() -> CSRFTokens:
    config = current_app.config
    return CSRFTokens(config.get("SECRET_KEY"), config.get("SECRET_KEY_FALLBACKS") or ())


def generate_csrf() -> str:
    """Return a CSRF token for the current session (also the Jinja ``csrf_token()``).

    The session's nonce is created on first use; every call in one request returns
    the same token (e.g. ``return {"csrf_token": generate_csrf()}`` for JavaScript).
    """
    token: str | None = g.get("_pb_ssr_csrf_token")
    if token is None:
        nonce = session.get(SESSION_KEY)
        if not isinstance(nonce, str) or not nonce:
            nonce = session[SESSION_KEY] = CSRFTokens.new_nonce()
        token = g._pb_ssr_csrf_token = _tokens().token(nonce)
    return token


def _problem(token: object) -> str | None:
    return _tokens().problem(token, session.get(SESSION_KEY))


def validate_csrf(token: str | None) -> bool:
    """Return ``True`` when *token* is a valid, unexpired token of the current session.

    :param token: the token the request sent (form field or header).
    """
    return _problem(token) is None


def rotate_csrf() -> None:
    """Start a new nonce, so tokens issued before are no longer accepted.

    The auth views call it on sign-in and sign-out (as Django does on login), so a
    token planted before the sign-in cannot be used after it.
    """
    session.pop(SESSION_KEY, None)
    g.pop("_pb_ssr_csrf_token", None)


def _check(*args: Any, **kwargs: Any) -> None:
    if request.method not in PROTECTED_METHODS:
        return
    token = request.form.get(FIELD_NAME) or request.headers.get(HEADER_NAME)
    problem = _problem(token)
    if problem is not None:
        raise CSRFError(problem + _RETRY)


async def _acheck(*args: Any, **kwargs: Any) -> None:
    _check()


def csrf_protect(view: F) -> F:
    """Reject POST, PUT, PATCH and DELETE requests that lack a valid CSRF token.

    The token comes from the ``csrf_token`` form field or the ``X-CSRFToken``
    header. Works on sync and ``async def`` views.

    :raises CSRFError: (a 400) when the token is missing, invalid, expired or from
        another session.
    """
    return guard_view(view, _check, _acheck)


def init_csrf(app: Flask) -> None:
    """Make ``csrf_token()`` a Jinja global of *app*.

    Registering the auth blueprint does this; call it yourself only when the app
    protects forms without the blueprint.
    """
    app.add_template_global(generate_csrf, "csrf_token")
