"""System checks (``manage.py check``), registered by the app config's ``ready()``.

The ids, and when each fires, are in the docs' Checks page. The settings advice
(W001, W002, W004-W006) and the live findings (W003, E003, W008, W009) come from
the core (:func:`pb_ssr.settings_advice`, :meth:`pb_ssr.PocketBaseConfig.report`);
the live ones make network calls, so they are deployment checks only. Every check
carries the ``pb_ssr`` tag; W009 reports the breaker of the process running them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from pb_ssr import Advice, Settings, settings_advice

from .conf import get_config

__all__ = [
    "TAG",
    "check_advice",
    "check_csrf_for_auth_urls",
    "check_deploy",
    "check_middleware",
    "check_settings",
]

#: The tag of every pb-ssr check.
TAG = "pb_ssr"

_MIDDLEWARE = "pb_ssr_django.middleware.PocketBaseMiddleware"
_SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
_CSRF = "django.middleware.csrf.CsrfViewMiddleware"


def _settings_or_none() -> Settings | None:
    with contextlib.suppress(ImproperlyConfigured):  # pb_ssr.E001 reports it
        return get_config().settings
    return None


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``pb_ssr.E001``: ``settings.POCKETBASE`` (and ``SECRET_KEY``) must be valid."""
    try:
        get_config()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="See the configuration table of the pb-ssr README for every key.",
                id="pb_ssr.E001",
            )
        ]
    return []


def _matches(path: str, canonical: str) -> bool:
    if path == canonical:
        return True
    try:
        found = import_string(path)
        wanted = import_string(canonical)
    except ImportError:
        return False
    return isinstance(found, type) and issubclass(found, wanted)


def _index(middleware: list[str], canonical: str) -> int | None:
    for i, path in enumerate(middleware):
        if isinstance(path, str) and _matches(path, canonical):
            return i
    return None


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``pb_ssr.E002``: ``PocketBaseMiddleware`` is installed, after sessions and CSRF."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    ours = _index(middleware, _MIDDLEWARE)
    if ours is None:
        return [
            Error(
                f"'{_MIDDLEWARE}' is not in MIDDLEWARE, but pb_ssr_django is installed: "
                "no request has request.pb, and the auth cookie is never written.",
                hint=f"Add '{_MIDDLEWARE}' to MIDDLEWARE, after SessionMiddleware and "
                "CsrfViewMiddleware.",
                id="pb_ssr.E002",
            )
        ]
    errors = []
    for name, canonical in (("SessionMiddleware", _SESSION), ("CsrfViewMiddleware", _CSRF)):
        other = _index(middleware, canonical)
        if other is not None and other > ours:
            errors.append(
                Error(
                    f"'{_MIDDLEWARE}' comes before '{canonical}' in MIDDLEWARE.",
                    hint=f"Move it after {name}, where Django's AuthenticationMiddleware "
                    "goes: it is the auth layer, and its sign-in views rely on "
                    "request.session and on Django's CSRF token.",
                    id="pb_ssr.E002",
                )
            )
    return errors


#: The core's finding codes (:func:`pb_ssr.settings_advice`,
#: :meth:`pb_ssr.PocketBaseConfig.report`), their ids here, and whether ``--deploy`` only.
IDS: dict[str, tuple[str, bool]] = {
    "cookie-insecure": ("pb_ssr.W001", True),
    "cookie-samesite-none": ("pb_ssr.W002", True),
    "unreachable": ("pb_ssr.W003", True),
    "too-old": ("pb_ssr.E003", True),
    "trusted-proxies-everyone": ("pb_ssr.W004", False),
    "cookie-readable": ("pb_ssr.W005", True),
    "js-sdk-keep": ("pb_ssr.W006", True),
    "store-down": ("pb_ssr.W008", True),
    "breaker-open": ("pb_ssr.W009", True),
}


def _checks(findings: list[Advice], *, deploy: bool) -> list[Any]:
    out = []
    for found in findings:
        check_id, deploy_only = IDS.get(found.code, ("", not deploy))
        if check_id and deploy_only == deploy:
            kind = Error if check_id.startswith("pb_ssr.E") else Warning
            out.append(kind(found.message, hint=found.hint, id=check_id))
    return out


def check_advice(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``pb_ssr.W004``: settings that are valid but unsafe in any environment."""
    pb_settings = _settings_or_none()
    return [] if pb_settings is None else _checks(settings_advice(pb_settings), deploy=False)


def check_deploy(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``--deploy``: cookie trade-offs (W001, W002, W005, W006) and, with network calls,
    PocketBase (W003, E003), the shared store (W008) and the breaker (W009).

    W003 is a warning: PocketBase may simply start after the app.
    """
    try:
        config = get_config()
    except ImproperlyConfigured:
        return []  # pb_ssr.E001 reports it
    return _checks(config.report(remote=False), deploy=True)


def check_csrf_for_auth_urls(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``pb_ssr.W007``: the sign-in URLs are mounted but Django's CSRF middleware is not."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if _index(middleware, _CSRF) is not None:
        return []
    try:
        reverse("pb_ssr:login")
    except (NoReverseMatch, ImproperlyConfigured, ImportError):
        return []
    return [
        Warning(
            f"The pb-ssr sign-in URLs are mounted but '{_CSRF}' is not in MIDDLEWARE.",
            hint="Add it before PocketBaseMiddleware. The pb-ssr views check CSRF tokens "
            "themselves, but your own forms (and {% csrf_token %}) rely on the middleware.",
            id="pb_ssr.W007",
        )
    ]


def register_checks() -> None:
    """Register the checks with Django (the app config's ``ready()`` calls this)."""
    register(check_settings, TAG)
    register(check_middleware, TAG)
    register(check_advice, TAG, Tags.security)
    register(check_csrf_for_auth_urls, TAG, Tags.security)
    register(check_deploy, TAG, Tags.security, deploy=True)
