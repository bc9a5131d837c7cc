"""The breaker's open -> half-open -> closed cycle against the real PocketBase.

The network between the client and PocketBase becomes a black hole (the fault
proxy answers nothing), then heals; sync and async clients share one breaker,
and the session's own ``auth-refresh`` goes through it too.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from pb_ssr import (
    AsyncPocketBase,
    CircuitBreaker,
    PocketBase,
    PocketBaseUnavailable,
    SessionManager,
    Settings,
    breaker_for,
)
from pb_ssr.testing import FaultProxy, TestUser

TIMEOUT = 0.3
COOLDOWN = 0.3


@pytest.fixture
def breaker(proxy: FaultProxy) -> CircuitBreaker:
    b = breaker_for(proxy.url)
    b.configure(failure_threshold=2, cooldown=COOLDOWN)
    return b


def test_cycle_sync(
    proxy: FaultProxy, breaker: CircuitBreaker, caplog: pytest.LogCaptureFixture
) -> None:
    pb = PocketBase(proxy.url, timeout=TIMEOUT)
    assert pb.health.check()["code"] == 200
    proxy.blackhole = True
    with caplog.at_level(logging.INFO, logger="pb_ssr.breaker"):
        for _ in range(2):
            with pytest.raises(PocketBaseUnavailable) as info:
                pb.health.check()
            assert info.value.is_abort and not info.value.circuit_open  # timed out
        assert breaker.state == "open"
        start = time.perf_counter()
        with pytest.raises(PocketBaseUnavailable) as info:
            pb.collection("users").get_list()
        assert info.value.circuit_open and time.perf_counter() - start < 0.05
        time.sleep(COOLDOWN)
        assert breaker.state == "half_open"
        with pytest.raises(PocketBaseUnavailable):
            pb.health.check()  # the probe times out: open again
        assert breaker.state == "open"
        proxy.clear()
        time.sleep(COOLDOWN)
        assert pb.health.check()["code"] == 200  # the probe gets through
        assert breaker.state == "closed" and breaker.failures == 0
    messages = [r.getMessage() for r in caplog.records if r.name == "pb_ssr.breaker"]
    assert [m.split(": circuit ")[1].split(" ")[0].rstrip(",") for m in messages] == [
        "open",
        "half-open",
        "open",
        "half-open",
        "closed",
    ], messages


@pytest.mark.anyio
async def test_cycle_async_shares_the_breaker(proxy: FaultProxy, breaker: CircuitBreaker) -> None:
    apb = AsyncPocketBase(proxy.url, timeout=TIMEOUT)
    proxy.blackhole = True
    for _ in range(2):
        with pytest.raises(PocketBaseUnavailable):
            await apb.health.check()
    # A sync client (a worker thread next to the event loop) sees the same state.
    with pytest.raises(PocketBaseUnavailable) as info:
        PocketBase(proxy.url).health.check()
    assert info.value.circuit_open
    proxy.clear()
    await asyncio.sleep(COOLDOWN)
    assert (await apb.health.check())["code"] == 200
    assert breaker.state == "closed"


def test_the_session_validation_uses_the_breaker(
    proxy: FaultProxy, breaker: CircuitBreaker, users: list[TestUser]
) -> None:
    settings = Settings.from_mapping({"URL": proxy.url, "TIMEOUT": 30, "VALIDATE_TTL": 0})
    manager = SessionManager(settings, secret_key="s")
    user = users[1]
    cookie = manager.codec.dump(user.token, user.record, max_age=3600).value
    proxy.refuse = True
    for _ in range(2):
        with pytest.raises(PocketBaseUnavailable):
            PocketBase(proxy.url).health.check()
    assert breaker.state == "open"
    connections = proxy.connections
    start = time.perf_counter()
    session = manager.open(cookie)
    record = session.user()
    # Kept signed in (ON_BACKEND_ERROR "keep"), answered at once, and PocketBase was
    # not even asked: the auth-refresh failed fast on the open breaker.
    assert record is not None and record.id == user.id
    assert time.perf_counter() - start < 0.1
    assert proxy.connections == connections
    result = session.finalize()
    assert result.cookie is None  # the cookie stays as it is
