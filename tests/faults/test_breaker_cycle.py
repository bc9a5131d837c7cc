"""The breaker's open -> half-open -> closed cycle against the real PocketBase.

The network between the client and PocketBase becomes a black hole (the fault
proxy answers nothing), then heals; sync and async clients share one breaker,
and the session's own ``auth-refresh`` goes through it too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
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
from pb_ssr.testing import FaultProxy, PocketBaseServer, TestUser

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
    # The manager configures its PocketBase's breaker from the settings: same as the fixture.
    settings = Settings.from_mapping(
        {
            "URL": proxy.url,
            "TIMEOUT": 30,
            "VALIDATE_TTL": 0,
            "BREAKER_FAILURES": 2,
            "BREAKER_COOLDOWN": COOLDOWN,
        }
    )
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


def test_a_hang_frees_waiting_threads_before_their_timeout(
    server: PocketBaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The shared sync pool's read watch: 6 calls wait on a frozen PocketBase with a
    # 10 s timeout; nobody gets an answer for 0.3 s, so each counts as a failure,
    # the breaker opens and every waiting call gives up at its next read slice.
    breaker_for(server.url).configure(failure_threshold=3, cooldown=60, stall_after=0.3)
    pb = PocketBase(server.url, timeout=10)
    assert pb.health.check()["code"] == 200
    errors: list[BaseException] = []

    def call() -> None:
        try:
            pb.collection("users").get_list()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    with caplog.at_level(logging.WARNING, logger="pb_ssr.breaker"), server.paused():
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        took = time.monotonic() - start
    assert len(errors) == 6 and all(isinstance(e, PocketBaseUnavailable) for e in errors)
    assert took < 1.5, took
    assert breaker_for(server.url).state == "open"
    assert any("no answer for 0.3 s" in r.getMessage() for r in caplog.records)


def test_a_lone_slow_answer_is_waited_for(proxy: FaultProxy) -> None:
    # One call slower than the stall limit while nobody else calls: counted once,
    # under the threshold, so it gets its answer.
    breaker = breaker_for(proxy.url)
    breaker.configure(failure_threshold=2, cooldown=60, stall_after=0.2)
    pb = PocketBase(proxy.url, timeout=5)
    proxy.latency = 0.8
    assert pb.health.check()["code"] == 200
    assert breaker.state == "closed" and breaker.failures == 0


def test_a_slow_probe_still_closes_the_breaker(proxy: FaultProxy) -> None:
    # A PocketBase that is up but slower than the stall limit: the half-open
    # probe is not cut short, so the breaker closes.
    breaker = breaker_for(proxy.url)
    breaker.configure(failure_threshold=1, cooldown=0.1, stall_after=0.2)
    breaker.record_failure()
    time.sleep(0.1)
    proxy.latency = 0.6
    assert PocketBase(proxy.url, timeout=5).health.check()["code"] == 200
    assert breaker.state == "closed"


def test_idle_realtime_streams_are_not_a_stall(
    server: PocketBaseServer, users: list[TestUser]
) -> None:
    # Event streams read the shared pool's connections and wait for minutes by
    # design: with three of them idle and nothing else asked, the breaker stays shut.
    breaker = breaker_for(server.url)
    breaker.configure(failure_threshold=2, cooldown=60, stall_after=0.2)
    clients = []
    for user in users[:3]:
        pb = PocketBase(server.url)
        pb.auth_store.save(user.token, user.record)
        pb.realtime.subscribe("private_notes/*", lambda event: None)
        clients.append(pb)
    try:
        time.sleep(1.0)
        assert breaker.state == "closed" and breaker.failures == 0
        assert all(pb.realtime.is_connected for pb in clients)
    finally:
        for pb in clients:
            pb.close()
