"""``login_required`` and ``superuser_required`` for sync and ``async def`` views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch

from pb_ssr import AuthStore, guard_view, is_local_path

from .middleware import aget_user, get_session, get_user

__all__ = ["login_required", "superuser_required", "wants_json"]

F = TypeVar("F", bound=Callable[..., Any])

#: The body of the JSON 401 (PocketBase's own error shape).
UNAUTHORIZED_BODY: dict[str, Any] = {"status": 401, "message": "Sign in to continue.", "data": {}}


def wants_json(request: Any) -> bool:
    """True when the client sends JSON or prefers it to HTML (HTML wins ties, ``*/*`` too)."""
    if request.content_type == "application/json":
        return True
    json_type = request.accepted_type("application/json")
    # Only an explicit application/json (or application/*) counts, not */*.
    if json_type is None or json_type.main_type == "*":
        return False
    html_type = request.accepted_type("text/html")
    return html_type is None or bool(json_type.quality > html_type.quality)


def _login_url() -> str | None:
    """``settings.LOGIN_URL`` resolved, or ``None`` when it names no URL of this site."""
    try:
        return str(resolve_url(settings.LOGIN_URL))
    except NoReverseMatch:
        # A URL name (e.g. the default "pb_ssr:login") whose URLs are not included.
        return None


def _deny(request: Any) -> Any:
    login_url = None if wants_json(request) else _login_url()
    if login_url is None:
        # JSON clients, and sites without a login page: a plain 401 (as Flask-Login).
        return JsonResponse(UNAUTHORIZED_BODY, status=401)
    parts = urlsplit(login_url)
    query = QueryDict(parts.query, mutable=True)
    target = request.get_full_path()
    # Only ever a path on this site: a request line such as //evil.test/ is not passed on.
    if is_local_path(target):
        query["next"] = target
    location = parts._replace(query=query.urlencode(safe="/")).geturl()
    return HttpResponseRedirect(location)


def login_required(view: F) -> F:
    """Let only signed-in users through; others go to ``settings.LOGIN_URL``.

    ``next`` carries the requested path (the sign-in views only follow it when it
    stays on this site). A client that sends JSON or prefers it to HTML gets a
    JSON ``401`` instead (``{"status": 401, "message": ..., "data": {}}``), and so
    does everybody when ``LOGIN_URL`` is a URL name that does not resolve here.
    Works on sync and ``async def`` views.
    """
    return _guard(view, superuser=False)


def superuser_required(view: F) -> F:
    """Let only a signed-in PocketBase superuser (``_superusers``) through.

    Anonymous visitors are sent to sign in (as with :func:`login_required`);
    other signed-in users get ``403 Forbidden``.
    """
    return _guard(view, superuser=True)


def _guard(view: F, *, superuser: bool) -> F:
    # Through get_user: the user is kept on the request for request.pb_user and the
    # templates' pb_user (auser() also marks the response user-dependent).
    def check(request: Any, *args: Any, **kwargs: Any) -> Any:
        if not get_user(request).is_authenticated:
            return _deny(request)
        if superuser and not _is_superuser(get_session(request).load()):
            raise PermissionDenied("Only PocketBase superusers may open this page.")
        return None

    async def acheck(request: Any, *args: Any, **kwargs: Any) -> Any:
        if not (await aget_user(request)).is_authenticated:
            return _deny(request)
        if superuser and not _is_superuser(await get_session(request).aload()):
            raise PermissionDenied("Only PocketBase superusers may open this page.")
        return None

    return guard_view(view, check, acheck, is_async=iscoroutinefunction(view))


def _is_superuser(store: AuthStore) -> bool:
    return bool(store.token) and store.is_superuser
