"""``settings.POCKETBASE`` -> the core's ``Settings`` and ``SessionManager``.

Read at call time and cached; the cache is dropped on Django's ``setting_changed``
signal, so ``override_settings(POCKETBASE=...)`` and pytest-django's ``settings``
fixture take effect on the next request (like DRF's ``api_settings``)::

    # settings.py
    POCKETBASE = {
        "URL": "http://127.0.0.1:8090",
        # every key of the README's configuration table, plus REDIRECT_URL (below)
    }

The cookie is signed with ``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` are accepted when
reading it. The sign-in redirect of ``login_required`` is Django's own ``LOGIN_URL``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.core.signals import setting_changed  # type: ignore[import-untyped]

from pb_ssr import ConfigurationError, ServiceClient, SessionManager, Settings, breaker_for

__all__ = ["ADAPTER_DEFAULTS", "PocketBaseConfig", "get_config", "reset"]

#: Keys of ``settings.POCKETBASE`` that only the Django adapter reads; they are
#: taken out before the rest goes to :meth:`pb_ssr.Settings.from_mapping`.
ADAPTER_DEFAULTS: dict[str, Any] = {
    #: Where the sign-in and sign-out views send the browser when ``next`` is missing
    #: or points off-site: a path or a URL name (``resolve_url`` rules).
    "REDIRECT_URL": "/",
}

#: The Django settings whose change invalidates the cached configuration.
WATCHED_SETTINGS = frozenset({"POCKETBASE", "SECRET_KEY", "SECRET_KEY_FALLBACKS"})

_EXAMPLE = "POCKETBASE = {'URL': 'http://127.0.0.1:8090'}"


@dataclass
class PocketBaseConfig:
    """The validated configuration of the project (one per settings state)."""

    #: The core settings (``settings.POCKETBASE`` without the adapter's own keys).
    settings: Settings
    #: The session manager: cookie codec and validation cache.
    manager: SessionManager
    #: ``POCKETBASE["REDIRECT_URL"]``.
    redirect_url: str
    _service: ServiceClient | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def service(self) -> ServiceClient:
        """The project's superuser :class:`~pb_ssr.ServiceClient` (created on first use).

        :raises ValueError: when no superuser credentials or service token are configured.
        """
        with self._lock:
            if self._service is None:
                self._service = ServiceClient.from_settings(self.settings)
            return self._service


_lock = threading.Lock()
_cached: PocketBaseConfig | None = None


def load_settings() -> tuple[Settings, dict[str, Any]]:
    """Validate ``settings.POCKETBASE``; return the core settings and the adapter's keys.

    :raises ImproperlyConfigured: when ``POCKETBASE`` is missing or invalid (the
        message is the core's, naming the key).
    """
    raw = getattr(django_settings, "POCKETBASE", None)
    if raw is None:
        raise ImproperlyConfigured(
            f"settings.POCKETBASE is missing: pb-ssr needs at least {_EXAMPLE}."
        )
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(
            f"settings.POCKETBASE must be a dict of pb-ssr settings, such as {_EXAMPLE}."
        )
    core = dict(raw)
    adapter = {key: core.pop(key, default) for key, default in ADAPTER_DEFAULTS.items()}
    if not isinstance(adapter["REDIRECT_URL"], str) or not adapter["REDIRECT_URL"]:
        raise ImproperlyConfigured(
            "POCKETBASE['REDIRECT_URL'] must be a path or a URL name, such as '/'."
        )
    try:
        return Settings.from_mapping(core, source="POCKETBASE"), adapter
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def _build() -> PocketBaseConfig:
    core, adapter = load_settings()
    secret = getattr(django_settings, "SECRET_KEY", None)
    try:
        manager = SessionManager(
            core,
            secret_key=secret,
            secret_key_fallbacks=list(getattr(django_settings, "SECRET_KEY_FALLBACKS", ()) or ()),
        )
    except ValueError as exc:  # no SECRET_KEY to sign the cookie with
        raise ImproperlyConfigured(str(exc)) from None
    breaker_for(core.URL).configure(
        failure_threshold=core.BREAKER_FAILURES,
        cooldown=core.BREAKER_COOLDOWN,
        stall_after=core.BREAKER_STALL,
    )
    return PocketBaseConfig(core, manager, str(adapter["REDIRECT_URL"]))


def get_config() -> PocketBaseConfig:
    """Return the project's :class:`PocketBaseConfig`, building it on first use.

    :raises ImproperlyConfigured: when ``POCKETBASE`` or ``SECRET_KEY`` is missing or invalid.
    """
    global _cached
    config = _cached
    if config is not None:
        return config
    with _lock:
        if _cached is None:
            _cached = _build()
        return _cached


def reset() -> None:
    """Forget the cached configuration (the next request reads the settings again)."""
    global _cached
    with _lock:
        _cached = None


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in WATCHED_SETTINGS:
        reset()


setting_changed.connect(_on_setting_changed, dispatch_uid="pb_ssr_django.conf.reset")
