"""pb_ssr_django: the Django adapter of pb-ssr.

::

    # settings.py
    INSTALLED_APPS = [..., "pb_ssr_django"]
    MIDDLEWARE = [
        ...,
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "pb_ssr_django.middleware.PocketBaseMiddleware",
        ...,
    ]
    POCKETBASE = {"URL": "http://127.0.0.1:8090"}
    LOGIN_URL = "pb_ssr:login"

    # urls.py (optional sign-in pages)
    path("auth/", include("pb_ssr_django.urls")),

    # views.py
    from pb_ssr_django import login_required

    @login_required
    def messages(request):
        page = request.pb.collection("messages").get_list(1, 50, sort="-created")
        return render(request, "messages.html", {"page": page, "user": request.pb_user})

    # the superuser service client (credentials from POCKETBASE), e.g. for aggregation
    from pb_ssr_django import service
    totals = service().collection("messages").get_full_list(fields="user")

The names below are imported lazily, so ``import pb_ssr_django`` works before
Django's settings are configured (``INSTALLED_APPS`` loading, tooling).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pb_ssr import AnonymousUser as AnonymousUser
    from pb_ssr import AuthenticatedUser as AuthenticatedUser

    from .conf import service as service
    from .decorators import login_required as login_required
    from .decorators import superuser_required as superuser_required
    from .middleware import PocketBaseMiddleware as PocketBaseMiddleware
    from .middleware import get_session as get_session

__all__ = [
    "AnonymousUser",
    "AuthenticatedUser",
    "PocketBaseMiddleware",
    "get_session",
    "login_required",
    "service",
    "superuser_required",
]

_LAZY = {
    "AnonymousUser": "pb_ssr",
    "AuthenticatedUser": "pb_ssr",
    "PocketBaseMiddleware": ".middleware",
    "get_session": ".middleware",
    "login_required": ".decorators",
    "service": ".conf",
    "superuser_required": ".decorators",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__ if module[0] == "." else None), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
