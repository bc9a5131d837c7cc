"""The Django app config: add ``"pb_ssr_django"`` to ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["PbSsrDjangoConfig"]


class PbSsrDjangoConfig(AppConfig):
    """pb-ssr for Django: system checks, templates and the ``pb_ssr`` template tags."""

    name = "pb_ssr_django"
    verbose_name = "pb-ssr (PocketBase)"

    def ready(self) -> None:
        """Register the system checks (``pb_ssr.E001`` ...)."""
        from .checks import register_checks

        register_checks()
