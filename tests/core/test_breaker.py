"""The circuit breaker: its state machine (fake clock) and the clients going through it."""

from __future__ import annotations

import logging
import pickle
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from pb_ssr import (
    AsyncPocketBase,
    CircuitBreaker,
    ClientResponseError,
    PocketBase,
    PocketBaseUnavailable,
    breaker_for,
    reset_breakers,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(threshold: int = 3, cooldown: float = 1.0) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker(
        "http://pb.test", failure_threshold=threshold, cooldown=cooldown, clock=clock
    ), clock


def closed_port() -> str:
    # Bind and release: nothing listens there, so connecting is refused at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- the state machine ------------------------------------------------------------------


def test_opens_after_the_threshold_of_consecutive_failures() -> None:
    breaker, _ = make(threshold=3)
    for _ in range(2):
        breaker.record_failure()
        assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.failures == 3


def test_an_answer_resets_the_count() -> None:
    breaker, _ = make(threshold=3)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_status(404)  # PocketBase answered: it is there
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_count_as_failures(status: int) -> None:
    breaker, _ = make(threshold=2)
    breaker.record_status(status)
    breaker.record_status(status)
    assert breaker.state == "open"


def test_a_500_is_an_answer() -> None:
    breaker, _ = make(threshold=1)
    breaker.record_status(500)
    assert breaker.state == "closed"


def test_cycle_open_half_open_closed() -> None:
    breaker, clock = make(threshold=1, cooldown=1.0)
    breaker.record_failure()
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(1.0)
    clock.now += 0.99
    assert not breaker.allow()
    clock.now += 0.01
    assert breaker.state == "half_open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one probe at a time
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow() and breaker.failures == 0


def test_a_failed_probe_opens_again_for_a_full_cooldown() -> None:
    breaker, clock = make(threshold=5, cooldown=1.0)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 1.0
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough in half-open
    assert breaker.state == "open"
    clock.now += 0.5
    assert not breaker.allow()
    clock.now += 0.5
    assert breaker.allow()


def test_late_failures_do_not_extend_the_cooldown() -> None:
    breaker, clock = make(threshold=1, cooldown=1.0)
    breaker.record_failure()
    clock.now += 0.9
    breaker.record_failure()  # a call sent before it opened times out now
    clock.now += 0.1
    assert breaker.allow()


def test_a_cancelled_probe_lets_the_next_call_probe() -> None:
    breaker, clock = make(threshold=1, cooldown=1.0)
    breaker.record_failure()
    clock.now += 1.0
    assert breaker.allow()
    breaker.release()
    assert breaker.state == "half_open"
    assert breaker.allow()


def test_an_unreported_probe_expires() -> None:
    breaker, clock = make(threshold=1, cooldown=1.0)
    breaker.record_failure()
    clock.now += 1.0
    assert breaker.allow()
    clock.now += 30
    assert not breaker.allow()
    clock.now += 31
    assert breaker.allow()


def test_threshold_zero_turns_it_off() -> None:
    breaker, _ = make(threshold=0)
    for _ in range(100):
        breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()


def test_transitions_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    breaker, clock = make(threshold=2, cooldown=1.0)
    with caplog.at_level(logging.INFO, logger="pb_ssr.breaker"):
        for _ in range(6):
            breaker.record_failure("ReadTimeout")
        clock.now += 1
        breaker.allow()
        breaker.record_success()
        breaker.record_success()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert "circuit open" in messages[0] and "ReadTimeout" in messages[0]
    assert "half-open" in messages[1]
    assert "circuit closed" in messages[2]


def test_breaker_for_is_shared_per_url_and_reset_closes_it() -> None:
    url = closed_port()
    assert breaker_for(url) is breaker_for(url + "/")
    assert PocketBase(url).breaker is breaker_for(url) is AsyncPocketBase(url).breaker
    breaker_for(url).configure(failure_threshold=1, cooldown=60)
    breaker_for(url).record_failure()
    assert breaker_for(url).state == "open"
    reset_breakers()
    assert breaker_for(url).state == "closed"


def test_fast_fail_error_is_a_status_0_client_error() -> None:
    breaker, _ = make()
    exc = breaker.error("http://pb.test/api/x?token=secret")
    assert isinstance(exc, ClientResponseError)
    assert exc.status == 0 and exc.is_abort and exc.circuit_open
    assert exc.is_server_error
    assert "circuit open" in exc.message
    assert "secret" not in repr(exc)
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is PocketBaseUnavailable


# -- the clients go through it (a real refused connection) ---------------------------------


def test_sync_client_fails_fast_once_open() -> None:
    url = closed_port()
    breaker_for(url).configure(failure_threshold=3, cooldown=60)
    pb = PocketBase(url)
    for _ in range(3):
        with pytest.raises(PocketBaseUnavailable) as info:
            pb.health.check()
        assert not info.value.circuit_open
        assert isinstance(info.value.original_error, httpx.ConnectError)
    assert breaker_for(url).state == "open"
    # Another client of the same URL (a session's, the service client's) fails fast too.
    other = PocketBase(url, timeout=30)
    start = time.perf_counter()
    with pytest.raises(PocketBaseUnavailable) as info:
        other.collection("users").get_list()
    assert info.value.circuit_open
    assert time.perf_counter() - start < 0.05


@pytest.mark.anyio
async def test_async_client_shares_the_sync_breaker() -> None:
    url = closed_port()
    breaker_for(url).configure(failure_threshold=2, cooldown=60)
    pb = AsyncPocketBase(url)
    for _ in range(2):
        with pytest.raises(PocketBaseUnavailable):
            await pb.health.check()
    with pytest.raises(PocketBaseUnavailable) as info:
        PocketBase(url).health.check()
    assert info.value.circuit_open


def test_probe_success_closes_it(pocketbase_url: str) -> None:
    breaker = breaker_for(pocketbase_url)
    breaker.configure(failure_threshold=1, cooldown=0.2)
    breaker.record_failure()
    pb = PocketBase(pocketbase_url)
    with pytest.raises(PocketBaseUnavailable):
        pb.health.check()
    time.sleep(0.2)
    assert pb.health.check()["code"] == 200
    assert breaker.state == "closed"


def test_gateway_502_from_a_proxy_opens_it() -> None:
    # A reverse proxy in front of a dead PocketBase answers 502: the real server
    # cannot produce that, so a MockTransport stands in for the proxy.
    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad Gateway")

    url = "http://proxied-pocketbase.test"
    breaker_for(url).configure(failure_threshold=2, cooldown=60)
    with httpx.Client(transport=httpx.MockTransport(proxy)) as http:
        pb = PocketBase(url, http_client=http)
        for _ in range(2):
            with pytest.raises(ClientResponseError) as info:
                pb.health.check()
            assert info.value.status == 502
        with pytest.raises(PocketBaseUnavailable) as fast:
            pb.health.check()
    assert fast.value.circuit_open


@pytest.fixture(autouse=True)
def _default_thresholds() -> Iterator[None]:
    # configure() changes process-wide breakers: put the defaults back for other tests.
    yield
    reset_breakers()
    for url in list(_urls()):
        breaker_for(url).configure(failure_threshold=5, cooldown=0.5)


def _urls() -> list[str]:
    from pb_ssr._breaker import _breakers

    return list(_breakers)


def test_the_sessions_wrapper_keeps_circuit_open() -> None:
    breaker, _ = make()
    wrapped = PocketBaseUnavailable.from_error(breaker.error("http://pb.test/api/x"))
    assert wrapped.circuit_open and wrapped.status == 0


def test_a_session_manager_applies_its_breaker_settings() -> None:
    from pb_ssr import SessionManager, Settings

    url = "http://127.0.0.1:9"
    settings = Settings.from_mapping(
        {"URL": url, "BREAKER_FAILURES": 7, "BREAKER_COOLDOWN": 2.5, "BREAKER_STALL": 0.7}
    )
    SessionManager(settings, secret_key="k")
    breaker = breaker_for(url)
    assert (breaker.failure_threshold, breaker.cooldown, breaker.stall_after) == (7, 2.5, 0.7)
