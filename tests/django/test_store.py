"""``STORE = "django-cache:<alias>"``: the session store on Django's cache framework,
with locmem and with django-redis on a real Redis; and the W008 deploy check."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client

from pb_ssr import LayeredStore
from pb_ssr.testing import TestUser
from pb_ssr_django import checks
from pb_ssr_django.conf import get_config, reset
from pb_ssr_django.store import DjangoCacheStore
from pb_ssr_django.test import login

from .conftest import Configure, auth_cookie, text
from .test_checks import pb_ids

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pb-ssr"}


def live(check_id: str) -> list[Any]:
    """The live (deploy) checks' findings with *check_id*."""
    return [m for m in checks.check_deploy() if m.id == check_id]


def redis_cache(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 0.5},
    }


def whoami(client: Client) -> str:
    return text(client.get("/whoami/"))


@pytest.fixture(params=["locmem", "django-redis"])
def cache_store(request: pytest.FixtureRequest, settings: Any, configure: Configure) -> str:
    """Point POCKETBASE["STORE"] at a configured cache of each kind."""
    if request.param == "locmem":
        settings.CACHES = {"default": LOCMEM, "sessions": LOCMEM}
    else:
        url = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": LOCMEM, "sessions": redis_cache(url)}
    configure(STORE="django-cache:sessions")
    return str(request.param)


def test_the_cache_store_is_layered_over_memory(cache_store: str) -> None:
    store = get_config().manager.validator.store
    assert isinstance(store, LayeredStore)
    assert isinstance(store.shared, DjangoCacheStore) and store.shared.alias == "sessions"
    assert get_config().manager.ping_store() is None
    assert live("pb_ssr.W008") == []


def test_a_logout_holds_for_a_replay_on_another_instance(
    cache_store: str, client: Client, user: TestUser
) -> None:
    login(client, user)
    copied = client.cookies["pb_auth"].value
    assert whoami(client) == f"user:{user.email}"
    response = client.post("/api/logout/")
    assert auth_cookie(response).value == ""  # type: ignore[union-attr]

    # Another instance: a fresh configuration (its own process memory), the same cache.
    reset()
    fresh = Client()
    fresh.cookies["pb_auth"] = copied
    assert whoami(fresh).startswith("anonymous")
    assert get_config().manager.validator.upstream_calls == 0


@pytest.mark.anyio
async def test_async_views_use_the_cache_store(cache_store: str, user: TestUser) -> None:
    client = AsyncClient()
    login(client, user)
    response = await client.get("/async/whoami/")
    assert text(response) == f"user:{user.email}"
    store = get_config().manager.validator.store
    assert isinstance(store, LayeredStore) and not store.degraded
    assert store.failures == 0
    await asyncio.sleep(0)


def test_an_unknown_alias_is_a_configuration_error(settings: Any, configure: Configure) -> None:
    settings.CACHES = {"default": LOCMEM}
    configure(STORE="django-cache:nope")
    with pytest.raises(ImproperlyConfigured, match="'nope'"):
        get_config()
    assert "pb_ssr.E001" in pb_ids(checks.check_settings())


def test_w008_a_cache_that_does_not_answer(
    settings: Any, configure: Configure, client: Client, user: TestUser
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    settings.CACHES = {"default": LOCMEM, "sessions": redis_cache(nowhere)}
    configure(STORE="django-cache:sessions")
    assert pb_ids(live("pb_ssr.W008")) == ["pb_ssr.W008"]
    assert "pb_ssr.W008" in pb_ids(run_checks(include_deployment_checks=True))
    # Requests go on, on this process's memory.
    login(client, user)
    assert whoami(client) == f"user:{user.email}"
    assert get_config().manager.store_degraded


def test_w008_a_redis_store_that_does_not_answer(configure: Configure) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    configure(STORE=nowhere)
    assert pb_ids(live("pb_ssr.W008")) == ["pb_ssr.W008"]
    configure()
    assert live("pb_ssr.W008") == []
