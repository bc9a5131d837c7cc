"""``STORE = "django-cache:<alias>"``: the session store on any configured Django cache.

Whatever ``CACHES[alias]`` points at (django-redis, Memcached, the database cache)
holds pb-ssr's verdicts, sign-outs, confirmations and leases, on top of this
process's memory (:class:`pb_ssr.LayeredStore`), so a failing cache never fails a
request. Only a cache every worker and host reaches is *shared*: ``locmem`` is per
process, ``FileBasedCache`` per host.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from pb_ssr import CacheStore

__all__ = ["DjangoCacheStore"]

#: ``STORE`` values of this form name a Django cache alias.
PREFIX = "django-cache:"


class DjangoCacheStore(CacheStore):
    """A :class:`~pb_ssr.SessionStore` on ``django.core.cache.caches[alias]``.

    :param alias: the key of ``settings.CACHES``.
    """

    def __init__(self, alias: str) -> None:
        if alias not in getattr(settings, "CACHES", {}):
            raise ImproperlyConfigured(
                f"POCKETBASE['STORE'] names the cache {alias!r}, which is not in "
                f"settings.CACHES (known: {', '.join(sorted(settings.CACHES)) or 'none'})."
            )
        super().__init__(lambda: caches[alias], name=alias)
        self.alias = alias
