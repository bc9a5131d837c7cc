"""The validation cache: TTLs, single-flight across threads and asyncio, bounds, hashing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from pb_ssr import ClientResponseError, MemoryStore, PocketBaseUnavailable
from pb_ssr._validation import Outcome, Validator, token_key

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InUxIiwidHlwZSI6ImF1dGgifQ.c2VjcmV0LXNpZ25hdHVyZQ"
KEY = token_key(TOKEN)
WAIT = 10.0


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Upstream:
    """A stand-in for ``auth-refresh``: counts calls, optionally slow or failing."""

    def __init__(
        self,
        outcome: Outcome | None = None,
        *,
        delay: float = 0.0,
        error: BaseException | None = None,
    ) -> None:
        self.outcome = outcome or Outcome(status="valid", record=None, new_token="renewed")
        self.delay = delay
        self.error = error
        self.calls = 0
        self._lock = threading.Lock()

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def __call__(self) -> Outcome:
        self._count()
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.outcome

    async def acall(self) -> Outcome:
        self._count()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.outcome


def error_outcome(status: int = 0) -> Outcome:
    """A failed auth-refresh; status 0 is a refused connection (an outage)."""
    original = httpx.ConnectError("refused") if status == 0 else None
    return Outcome.from_error(ClientResponseError(status=status, original_error=original))


def in_threads(n: int, target: Callable[[], object]) -> list[object]:
    """Run *target* in *n* threads released together; return results or exceptions."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads)
    return results


# -- single-flight ------------------------------------------------------------------------


def test_single_flight_threads() -> None:
    v = Validator(ttl=60, maxsize=100)
    upstream = Upstream(delay=0.3)
    results = in_threads(100, lambda: v.run(KEY, upstream, timeout=WAIT))
    assert upstream.calls == 1
    assert v.upstream_calls == 1
    assert all(isinstance(r, Outcome) for r in results)
    # Everybody holds the very same answer.
    assert len({id(r) for r in results}) == 1
    assert results[0].status == "valid"  # type: ignore[attr-defined]


def test_single_flight_asyncio() -> None:
    v = Validator(ttl=60, maxsize=100)
    upstream = Upstream(delay=0.3)

    async def main() -> list[Outcome]:
        return await asyncio.gather(
            *(v.arun(KEY, upstream.acall, timeout=WAIT) for _ in range(100))
        )

    results = asyncio.run(main())
    assert upstream.calls == 1
    assert v.upstream_calls == 1
    assert len({id(r) for r in results}) == 1


@pytest.mark.parametrize("leader", ["thread", "task"])
def test_single_flight_threads_and_tasks(leader: str) -> None:
    v = Validator(ttl=60, maxsize=100)
    upstream = Upstream(delay=0.5)
    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever)
    loop_thread.start()
    try:

        async def tasks(n: int) -> list[Outcome]:
            return await asyncio.gather(
                *(v.arun(KEY, upstream.acall, timeout=WAIT) for _ in range(n))
            )

        if leader == "task":
            first = asyncio.run_coroutine_threadsafe(tasks(1), loop)
            time.sleep(0.1)  # the task is now in flight
            async_results = asyncio.run_coroutine_threadsafe(tasks(50), loop)
            thread_results = in_threads(50, lambda: v.run(KEY, upstream, timeout=WAIT))
        else:
            pool = concurrent.futures.ThreadPoolExecutor(1)
            first = pool.submit(lambda: [v.run(KEY, upstream, timeout=WAIT)])
            time.sleep(0.1)  # the thread is now in flight
            async_results = asyncio.run_coroutine_threadsafe(tasks(50), loop)
            thread_results = in_threads(50, lambda: v.run(KEY, upstream, timeout=WAIT))
            pool.shutdown()
        results = first.result(WAIT) + async_results.result(WAIT) + thread_results
    finally:
        loop.call_soon_threadsafe(loop.stop)
        loop_thread.join(WAIT)
        loop.close()
    assert upstream.calls == 1
    assert v.upstream_calls == 1
    assert len(results) == 101
    assert len({id(r) for r in results}) == 1


def test_single_flight_per_key() -> None:
    v = Validator(ttl=60, maxsize=100)
    upstream = Upstream(delay=0.2)
    keys = [token_key(f"token-{i}") for i in range(5)]
    counter = iter(range(100))
    lock = threading.Lock()

    def target() -> Outcome:
        with lock:
            key = keys[next(counter) % len(keys)]
        return v.run(key, upstream, timeout=WAIT)

    in_threads(50, target)
    assert upstream.calls == 5
    assert v.upstream_calls == 5


# -- the cache ---------------------------------------------------------------------------


def test_cache_hit_within_ttl_and_miss_after() -> None:
    clock = FakeClock()
    v = Validator(ttl=60, maxsize=100, timer=clock)
    upstream = Upstream()
    first = v.run(KEY, upstream, timeout=WAIT)
    assert upstream.calls == 1
    assert first.at == clock.now
    clock.advance(59.9)
    assert v.run(KEY, upstream, timeout=WAIT) is first
    assert v.cached(KEY) is first
    assert upstream.calls == 1
    clock.advance(0.2)
    assert v.cached(KEY) is None
    v.run(KEY, upstream, timeout=WAIT)
    assert upstream.calls == 2
    assert v.upstream_calls == 2


def test_rejected_outcomes_are_kept_for_the_ttl() -> None:
    clock = FakeClock()
    v = Validator(ttl=60, maxsize=100, timer=clock)
    upstream = Upstream(error_outcome(401))
    assert v.run(KEY, upstream, timeout=WAIT).status == "rejected"
    clock.advance(30)
    assert v.run(KEY, upstream, timeout=WAIT).status == "rejected"
    assert upstream.calls == 1


def test_outages_are_not_remembered() -> None:
    # The circuit breaker remembers an outage (one notion of "PocketBase is down"): the
    # validator asks again on the next request, which the open breaker fails at once,
    # and which gets the real answer as soon as PocketBase is back.
    clock = FakeClock()
    v = Validator(ttl=60, maxsize=100, timer=clock)
    upstream = Upstream(error_outcome(0))
    assert v.run(KEY, upstream, timeout=WAIT).status == "outage"
    assert v.cached(KEY) is None
    upstream.outcome = error_outcome(503)
    assert v.run(KEY, upstream, timeout=WAIT).status == "outage"
    upstream.outcome = Outcome(status="valid")
    assert v.run(KEY, upstream, timeout=WAIT).status == "valid"
    assert upstream.calls == 3


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "rejected"),
        (403, "rejected"),
        (404, "rejected"),
        (0, "outage"),
        (500, "outage"),
        (502, "outage"),
        (503, "outage"),
        # PocketBase answered without deciding: not an outage, so "keep" never applies.
        (400, "unconfirmed"),
        (429, "unconfirmed"),
    ],
)
def test_outcome_classification(status: int, expected: str) -> None:
    assert error_outcome(status).status == expected


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (httpx.ConnectError("refused"), "outage"),
        (httpx.ReadTimeout("slow"), "outage"),
        (httpx.ConnectTimeout("slow"), "outage"),
        (httpx.ReadError("reset"), "outage"),
        (httpx.RemoteProtocolError("dropped mid-response"), "outage"),
        # Failures on this side, before anything reached PocketBase: never an outage.
        (httpx.LocalProtocolError("Illegal header value"), "unconfirmed"),
        (httpx.UnsupportedProtocol("no"), "unconfirmed"),
        (ValueError("bad header"), "unconfirmed"),
        (None, "unconfirmed"),
    ],
)
def test_no_answer_is_an_outage_only_when_nothing_came_back(
    original: Exception | None, expected: str
) -> None:
    exc = ClientResponseError(status=0, original_error=original)
    assert Outcome.from_error(exc).status == expected


def test_an_open_breaker_is_an_outage() -> None:
    assert Outcome.from_error(PocketBaseUnavailable(circuit_open=True)).status == "outage"
    # "Unavailable" wrapping a failure that happened here is still not an outage.
    local = PocketBaseUnavailable(original_error=httpx.LocalProtocolError("Illegal header"))
    assert Outcome.from_error(local).status == "unconfirmed"


def test_rejections_last_until_the_token_expires() -> None:
    clock = FakeClock()
    v = Validator(ttl=60, maxsize=100, timer=clock)
    upstream = Upstream(error_outcome(401))
    v.run(KEY, upstream, timeout=WAIT, lifetime=3600)
    clock.advance(3599)
    upstream.outcome = Outcome(status="valid")
    assert v.run(KEY, upstream, timeout=WAIT, lifetime=1).status == "rejected"
    assert upstream.calls == 1
    clock.advance(2)
    assert v.run(KEY, upstream, timeout=WAIT, lifetime=1).status == "valid"


def test_a_denied_token_is_rejected_without_a_call_until_it_expires() -> None:
    clock = FakeClock()
    v = Validator(ttl=60, maxsize=100, timer=clock)
    upstream = Upstream()
    assert v.run(KEY, upstream, timeout=WAIT, lifetime=600).status == "valid"
    assert v.confirmed(KEY) is not None
    v.deny(KEY, 600)
    assert v.confirmed(KEY) is None
    clock.advance(599)
    assert v.run(KEY, upstream, timeout=WAIT, lifetime=1).status == "rejected"
    assert upstream.calls == 1


def test_a_flood_of_verdicts_never_evicts_a_logout() -> None:
    v = Validator(ttl=60, maxsize=8)
    v.deny(KEY, 3600)
    upstream = Upstream(error_outcome(401))
    for i in range(100):
        v.run(token_key(f"forged-{i}"), upstream, timeout=WAIT, lifetime=3600)
    assert v.cached(KEY) is not None and v.cached(KEY).status == "rejected"  # type: ignore[union-attr]


def test_confirmed_marks_need_a_valid_answer() -> None:
    v = Validator(ttl=60, maxsize=100)
    v.run(KEY, Upstream(error_outcome(0)), timeout=WAIT, lifetime=600)
    assert v.confirmed(KEY) is None
    v.forget(KEY)
    v.run(KEY, Upstream(Outcome(status="valid", record=None)), timeout=WAIT, lifetime=600)
    mark = v.confirmed(KEY)
    assert mark is not None and mark.kind == "confirmed"
    v.forget(KEY)
    v.run(KEY, Upstream(error_outcome(401)), timeout=WAIT, lifetime=600)
    assert v.confirmed(KEY) is None


def test_ttl_zero_caches_nothing() -> None:
    clock = FakeClock()
    v = Validator(ttl=0, maxsize=100, timer=clock)
    upstream = Upstream()
    for _ in range(3):
        v.run(KEY, upstream, timeout=WAIT)
    assert upstream.calls == 3
    assert len(v) == 0
    v.store_outcome(KEY, Outcome(status="valid", at=clock.now))
    assert v.cached(KEY) is None
    # Nor an outage (the circuit breaker keeps that).
    upstream.outcome = error_outcome(0)
    v.run(KEY, upstream, timeout=WAIT)
    v.run(KEY, upstream, timeout=WAIT)
    assert upstream.calls == 5


def test_ttl_zero_still_single_flights() -> None:
    v = Validator(ttl=0, maxsize=100)
    upstream = Upstream(delay=0.3)
    results = in_threads(30, lambda: v.run(KEY, upstream, timeout=WAIT))
    assert upstream.calls == 1
    assert len({id(r) for r in results}) == 1
    v.run(KEY, upstream, timeout=WAIT)
    assert upstream.calls == 2


def test_store_and_forget() -> None:
    clock = FakeClock()
    v = Validator(ttl=60, maxsize=100, timer=clock)
    outcome = Outcome(status="valid", new_token="renewed", at=clock.now)
    v.store_outcome(KEY, outcome)
    assert v.cached(KEY) is outcome
    upstream = Upstream()
    assert v.run(KEY, upstream, timeout=WAIT) is outcome
    assert upstream.calls == 0
    v.forget(KEY)
    assert v.cached(KEY) is None
    v.forget(KEY)  # forgetting twice is fine
    v.run(KEY, upstream, timeout=WAIT)
    assert upstream.calls == 1


def test_store_respects_the_outcome_time() -> None:
    clock = FakeClock()
    v = Validator(ttl=60, maxsize=100, timer=clock)
    v.store_outcome(KEY, Outcome(status="valid", at=clock.now - 59))
    assert v.cached(KEY) is not None
    clock.advance(1)
    assert v.cached(KEY) is None


def test_maxsize_bounds_the_cache() -> None:
    v = Validator(ttl=60, maxsize=16)
    upstream = Upstream()
    for i in range(160):
        v.run(token_key(f"token-{i}"), upstream, timeout=WAIT)
        assert len(v) <= 16
    for i in range(160):
        v.store_outcome(token_key(f"stored-{i}"), Outcome(status="valid", at=time.monotonic()))
        assert len(v) <= 16
    assert len(v) == 16
    assert upstream.calls == 160


# -- failures ------------------------------------------------------------------------------


def test_leader_exception_reaches_followers_and_is_not_cached() -> None:
    v = Validator(ttl=60, maxsize=100)
    boom = RuntimeError("boom")
    upstream = Upstream(delay=0.3, error=boom)
    results = in_threads(20, lambda: v.run(KEY, upstream, timeout=WAIT))
    assert upstream.calls == 1
    assert all(r is boom for r in results)
    assert v.cached(KEY) is None
    assert len(v) == 0
    # Nothing stuck in flight: the next call asks again, and succeeds.
    upstream.error = None
    upstream.delay = 0
    assert v.run(KEY, upstream, timeout=WAIT).status == "valid"
    assert upstream.calls == 2


def test_leader_exception_async() -> None:
    v = Validator(ttl=60, maxsize=100)
    boom = RuntimeError("boom")
    upstream = Upstream(delay=0.2, error=boom)

    async def main() -> list[object]:
        return await asyncio.gather(
            *(v.arun(KEY, upstream.acall, timeout=WAIT) for _ in range(20)),
            return_exceptions=True,
        )

    results = asyncio.run(main())
    assert upstream.calls == 1
    assert all(isinstance(r, RuntimeError) and str(r) == "boom" for r in results)
    assert v.cached(KEY) is None
    upstream.error = None
    assert asyncio.run(v.arun(KEY, upstream.acall, timeout=WAIT)).status == "valid"
    assert upstream.calls == 2


def test_follower_timeout() -> None:
    v = Validator(ttl=60, maxsize=100)
    upstream = Upstream(delay=0.5)
    pool = concurrent.futures.ThreadPoolExecutor(1)
    leader = pool.submit(v.run, KEY, upstream, timeout=WAIT)
    time.sleep(0.1)
    with pytest.raises(TimeoutError):
        v.run(KEY, upstream, timeout=0.05)
    assert leader.result(WAIT).status == "valid"
    pool.shutdown()
    assert upstream.calls == 1


@pytest.mark.parametrize("how", ["timeout", "cancel"])
def test_an_async_follower_giving_up_does_not_break_the_others(how: str) -> None:
    # One request waiting on the shared call times out (or its client disconnects and
    # the task is cancelled). The leader and the other followers must still get the
    # answer: giving up must not cancel the shared future under everybody else.
    v = Validator(ttl=60, maxsize=100)
    upstream = Upstream(delay=0.5)
    pool = concurrent.futures.ThreadPoolExecutor(2)
    leader = pool.submit(v.run, KEY, upstream, timeout=WAIT)
    time.sleep(0.1)
    follower = pool.submit(v.run, KEY, upstream, timeout=WAIT)

    async def give_up() -> None:
        if how == "timeout":
            with pytest.raises(TimeoutError):
                await v.arun(KEY, upstream.acall, timeout=0.05)
        else:
            task = asyncio.ensure_future(v.arun(KEY, upstream.acall, timeout=WAIT))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(give_up())
    try:
        assert leader.result(WAIT).status == "valid"
        assert follower.result(WAIT).status == "valid"
    finally:
        pool.shutdown()
    assert upstream.calls == 1


def test_a_cancelled_async_leader_does_not_cancel_the_followers() -> None:
    # The leader's request is cancelled mid-call (its client went away). That says
    # nothing about the token: the other requests waiting on it must not be cancelled
    # too; one of them asks again (or the call finishes for them).
    v = Validator(ttl=60, maxsize=100)
    upstream = Upstream(delay=0.3)
    pool = concurrent.futures.ThreadPoolExecutor(1)

    async def main() -> tuple[object, object]:
        leader = asyncio.ensure_future(v.arun(KEY, upstream.acall, timeout=WAIT))
        await asyncio.sleep(0.05)
        in_thread = pool.submit(v.run, KEY, upstream, timeout=WAIT)
        in_task = asyncio.ensure_future(v.arun(KEY, upstream.acall, timeout=WAIT))
        await asyncio.sleep(0.05)
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        task_result = (await asyncio.gather(in_task, return_exceptions=True))[0]
        try:
            thread_result: object = in_thread.result(WAIT)
        except BaseException as exc:
            thread_result = exc
        return task_result, thread_result

    try:
        task_result, thread_result = asyncio.run(main())
    finally:
        pool.shutdown()
    assert isinstance(task_result, Outcome), repr(task_result)
    assert isinstance(thread_result, Outcome), repr(thread_result)
    assert upstream.calls <= 2


# -- keys -------------------------------------------------------------------------------------


def test_keys_are_sha256_digests() -> None:
    assert token_key(TOKEN) == hashlib.sha256(TOKEN.encode()).digest()
    assert len(token_key(TOKEN)) == 32
    assert token_key("a") != token_key("b")
    # Odd input (lone surrogates from a hostile cookie) still hashes.
    assert len(token_key("\udcff")) == 32


def test_the_raw_token_is_nowhere_in_the_cache() -> None:
    v = Validator(ttl=60, maxsize=100)
    renewed = TOKEN + "-renewed"
    error = ClientResponseError(url="http://pb.test/api/x", status=401)
    v.run(KEY, lambda: Outcome(status="valid", new_token=renewed), timeout=WAIT)
    v.run(token_key("other"), lambda: Outcome.from_error(error), timeout=WAIT)
    v.store_outcome(
        token_key(renewed), Outcome(status="valid", new_token=renewed, at=time.monotonic())
    )
    v.deny(token_key("logged-out"), 60)
    store = v.store
    assert isinstance(store, MemoryStore)
    entries = [*store._volatile.items(), *store._durable.items()]
    dump = repr(entries) + repr(v) + repr(store)
    for secret in (TOKEN, renewed, TOKEN[-20:], TOKEN.encode().hex()):
        assert secret not in dump
    assert all(k.startswith("pbssr:") and len(k.rsplit(":", 1)[1]) == 64 for k, _ in entries)
    # The renewed token is available to the code that needs it, just not printed.
    assert v.cached(KEY).new_token == renewed  # type: ignore[union-attr]
    assert "renewed" not in repr(v.cached(KEY))
