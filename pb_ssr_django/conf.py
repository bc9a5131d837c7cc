"""``settings.POCKETBASE`` -> the core's :class:`~pb_ssr.PocketBaseConfig`.

Read at call time, cached, and dropped on ``setting_changed`` (so
``override_settings`` works). The cookie is signed with ``SECRET_KEY`` (and
``SECRET_KEY_FALLBACKS``); the extra key ``REDIRECT_URL`` (``"/"``) is where sign-in
sends users without a usable ``next``.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from pb_ssr import (
    ConfigurationError,
    LayeredStore,
    MemoryStore,
    PocketBaseConfig,
    ServiceClient,
    Settings,
)

__all__ = ["get_config", "reset", "service"]

#: The Django settings whose change invalidates the cached configuration.
WATCHED_SETTINGS = frozenset({"POCKETBASE", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "CACHES"})

_lock = threading.Lock()
_cached: PocketBaseConfig | None = None


def _store(core: Settings) -> LayeredStore | None:
    """``STORE = "django-cache:<alias>"`` is built here; the core builds the others."""
    from .store import PREFIX, DjangoCacheStore

    store = core.STORE
    if not isinstance(store, str) or not store.startswith(PREFIX):
        return None
    shared = DjangoCacheStore(store.removeprefix(PREFIX))
    return LayeredStore(shared, local=MemoryStore(core.VALIDATE_CACHE_SIZE))


def _build() -> PocketBaseConfig:
    raw = getattr(django_settings, "POCKETBASE", None)
    if not isinstance(raw, dict):
        what = "is missing" if raw is None else "must be a dict of pb-ssr settings"
        raise ImproperlyConfigured(
            f"settings.POCKETBASE {what}: pb-ssr needs at least "
            "POCKETBASE = {'URL': 'http://127.0.0.1:8090'}."
        )
    try:
        config = PocketBaseConfig.from_mapping(
            raw,
            secret_key=getattr(django_settings, "SECRET_KEY", None),
            secret_key_fallbacks=list(getattr(django_settings, "SECRET_KEY_FALLBACKS", ()) or ()),
            options={"REDIRECT_URL": "/"},
            store=_store,
        )
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    redirect = config.options["REDIRECT_URL"]
    if not isinstance(redirect, str) or not redirect:
        raise ImproperlyConfigured(
            "POCKETBASE['REDIRECT_URL'] must be a path or a URL name, such as '/'."
        )
    return config


def get_config() -> PocketBaseConfig:
    """The project's :class:`~pb_ssr.PocketBaseConfig`, built on first use.

    :raises ImproperlyConfigured: when ``POCKETBASE`` or ``SECRET_KEY`` is missing or invalid.
    """
    config = _cached
    if config is not None:
        return config
    return _load()


def _load() -> PocketBaseConfig:
    global _cached
    with _lock:
        if _cached is None:
            _cached = _build()
        return _cached


def service() -> ServiceClient:
    """The project's superuser :class:`~pb_ssr.ServiceClient` (built on first use).

    :raises ImproperlyConfigured: when no superuser credentials or service token are set.
    """
    try:
        return get_config().service
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def reset() -> None:
    """Forget the cached configuration (the next request reads the settings again)."""
    global _cached
    with _lock:
        _cached = None


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in WATCHED_SETTINGS:
        reset()


setting_changed.connect(_on_setting_changed, dispatch_uid="pb_ssr_django.conf.reset")
