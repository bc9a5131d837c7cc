"""pb_ssr_django: the Django adapter of pb-ssr.

Add ``"pb_ssr_django"`` to ``INSTALLED_APPS``, ``PocketBaseMiddleware`` after the
session and CSRF middleware, ``POCKETBASE = {"URL": ...}``, and optionally the
sign-in pages (``path("auth/", include("pb_ssr_django.urls"))``, ``LOGIN_URL =
"pb_ssr:login"``) and live updates (``live_view(feeds)``, ``live_script``). Views
use ``request.pb`` and ``request.pb_user``; ``service()`` is the superuser client.
The names below are imported lazily, so ``import pb_ssr_django`` works before
Django's settings are configured.
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
    from .live import live_script as live_script
    from .live import live_view as live_view
    from .middleware import PocketBaseMiddleware as PocketBaseMiddleware
    from .middleware import get_session as get_session

__all__ = [
    "AnonymousUser",
    "AuthenticatedUser",
    "PocketBaseMiddleware",
    "get_session",
    "live_script",
    "live_view",
    "login_required",
    "service",
    "superuser_required",
]

_LAZY = {
    "AnonymousUser": "pb_ssr",
    "AuthenticatedUser": "pb_ssr",
    "PocketBaseMiddleware": ".middleware",
    "get_session": ".middleware",
    "live_script": ".live",
    "live_view": ".live",
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
