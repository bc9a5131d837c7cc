"""One session store for many workers and hosts, against a real Redis and PocketBase.

Each ``SessionManager`` below stands for one app instance (a worker process, or a
host): they share nothing but the Redis they point at.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pb_ssr import (
    ConfigurationError,
    LayeredStore,
    Mark,
    MemoryStore,
    Outcome,
    RedisStore,
    SessionManager,
    SessionStore,
    Settings,
    build_store,
)
from pb_ssr._store import dumps, loads
from pb_ssr._validation import token_key
from pb_ssr.testing import PocketBaseServer, TestUser

from ..redis_peer import RedisServer
from .test_session import SECRET, cookie_for, forge_token, logged_refreshes


@pytest.fixture
def user(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Ada")


def instance(url: str, redis_url: str, **keys: Any) -> SessionManager:
    """One app instance with its own process memory, sharing *redis_url*."""
    return SessionManager(
        Settings.from_mapping({"URL": url, "STORE": redis_url, **keys}), secret_key=SECRET
    )


# -- the store itself --------------------------------------------------------------------


def test_memory_store_ttls_and_add() -> None:
    now = [100.0]
    store = MemoryStore(10, timer=lambda: now[0])
    store.set("a", Mark(kind="denied"), 5)
    assert store.add("a", Mark(kind="lease"), 5) is False
    assert store.add("b", Mark(kind="lease"), 1) is True
    now[0] += 1
    assert store.get_many(["a", "b", "c"]) == [Mark(kind="denied"), None, None]
    assert store.add("b", Mark(kind="lease"), 1) is True
    now[0] += 5
    assert store.get_many(["a"]) == [None]
    store.set("x", Outcome(status="valid"), 0)
    assert store.get_many(["x"]) == [None]


def test_values_that_leave_the_process_never_hold_a_token() -> None:
    token = forge_token(exp=time.time() + 60)
    record = {"id": "u1", "email": "a@b.test"}
    from pb_ssr import ClientResponseError, Record

    out = Outcome(status="valid", record=Record(record), new_token=token, error=None, at=123.0)
    raw = dumps(out)
    assert token.encode() not in raw and token.split(".")[2].encode() not in raw
    back = loads(raw)
    assert back == Outcome(status="valid", record=Record(record), at=123.0)
    rejected = loads(dumps(Outcome(status="rejected", error=ClientResponseError(status=401))))
    assert isinstance(rejected, Outcome) and rejected.error is not None
    assert rejected.error.status == 401
    assert loads(dumps(Mark(kind="confirmed", record=Record(record), at=1.0))) == Mark(
        kind="confirmed", record=Record(record), at=1.0
    )
    for garbage in (b"", b"[]", b"{", b'{"o":"admin"}', b'{"m":"root"}', None, b"\xff"):
        assert loads(garbage) is None


def test_redis_store_round_trip_and_ttls(redis_url: str) -> None:
    store = RedisStore(redis_url)
    assert isinstance(store, SessionStore)
    store.set("pbssr:t:a", Mark(kind="denied", at=1.0), 30)
    assert store.add("pbssr:t:a", Mark(kind="lease"), 30) is False
    assert store.add("pbssr:t:b", Mark(kind="lease"), 0.2) is True
    assert store.get_many(["pbssr:t:a", "pbssr:t:b", "pbssr:t:c"]) == [
        Mark(kind="denied", at=1.0),
        Mark(kind="lease"),
        None,
    ]
    ttl = store._client().pttl("pbssr:t:a")
    assert 29_000 < ttl <= 30_000
    time.sleep(0.3)
    assert store.get_many(["pbssr:t:b"]) == [None]
    store.delete(["pbssr:t:a"])
    assert store.get_many(["pbssr:t:a"]) == [None]
    store.close()


def test_redis_store_async_closes_its_connections_with_the_loop(redis_url: str) -> None:
    store = RedisStore(redis_url)

    async def work() -> list[Any]:
        await store.aset("pbssr:t:x", Mark(kind="confirmed", at=2.0), 10)
        assert await store.aadd("pbssr:t:x", Mark(kind="lease"), 10) is False
        values = await store.aget_many(["pbssr:t:x", "pbssr:t:y"])
        await store.adelete(["pbssr:t:x"])
        return values

    # Two loops in a row (Flask runs each async view on a fresh one): no leaked
    # connection warnings (filterwarnings = error), each loop its own client.
    assert asyncio.run(work()) == [Mark(kind="confirmed", at=2.0), None]
    assert asyncio.run(work()) == [Mark(kind="confirmed", at=2.0), None]


def test_every_key_has_a_ttl_and_a_namespace(
    pocketbase_url: str, redis_url: str, user: TestUser
) -> None:
    manager = instance(pocketbase_url, redis_url, STORE_PREFIX="site1:")
    cookie = cookie_for(manager, user.token, user.record)
    assert manager.open(cookie).user() is not None
    session = manager.open(cookie)
    session.logout()
    session.finalize()
    client = RedisStore(redis_url)._client()
    keys = sorted(k.decode() for k in client.keys("*"))
    assert keys and all(k.startswith("pbssr:site1:") for k in keys)
    assert all(client.pttl(k) > 0 for k in keys)
    for k in keys:
        value = client.get(k)
        assert value is not None and user.token.encode() not in value


def test_store_settings() -> None:
    base = {"URL": "http://127.0.0.1:8090"}
    assert isinstance(build_store(Settings.from_mapping(base)), MemoryStore)
    shared = build_store(Settings.from_mapping({**base, "STORE": "redis://127.0.0.1:1/0"}))
    assert isinstance(shared, LayeredStore) and isinstance(shared.shared, RedisStore)
    own = MemoryStore()
    assert build_store(Settings.from_mapping({**base, "STORE": own})) is own
    for bad in ("memcached://x", "redis", "", 7, object()):
        with pytest.raises(ConfigurationError, match="STORE"):
            Settings.from_mapping({**base, "STORE": bad})
    with pytest.raises(ConfigurationError, match="STORE_PREFIX"):
        Settings.from_mapping({**base, "STORE_PREFIX": "a b"})
    with pytest.raises(ConfigurationError, match="pb_ssr_django"):
        build_store(Settings.from_mapping({**base, "STORE": "django-cache:default"}))
    secret = Settings.from_mapping({**base, "STORE": "redis://:hunter2@127.0.0.1:1/0"})
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in repr(build_store(secret))


# -- what holds across instances ------------------------------------------------------------


def test_a_logout_in_one_instance_holds_in_another(
    pocketbase_url: str, redis_url: str, user: TestUser
) -> None:
    a, b = instance(pocketbase_url, redis_url), instance(pocketbase_url, redis_url)
    cookie = cookie_for(a, user.token, user.record)
    assert a.open(cookie).user() is not None
    assert b.open(cookie).user() is not None  # served from the shared verdict
    assert b.validator.upstream_calls == 0

    out = a.open(cookie)
    out.logout()
    out.finalize()

    replay = b.open(cookie)
    assert replay.user() is None
    assert replay.finalize().cookie.is_delete  # type: ignore[union-attr]
    assert b.validator.upstream_calls == 0


def test_a_rejection_in_one_instance_is_known_to_the_others(
    pocketbase_url: str, redis_url: str
) -> None:
    instances = [instance(pocketbase_url, redis_url) for _ in range(3)]
    forged = forge_token(exp=time.time() + 3600)
    cookie = cookie_for(instances[0], forged, {"id": "forgedrecord001"})
    assert instances[0].open(cookie).user() is None
    for other in instances[1:]:
        assert other.open(cookie).user() is None
    assert [i.validator.upstream_calls for i in instances] == [1, 0, 0]


def test_one_auth_refresh_for_the_whole_cluster(
    pocketbase_server: PocketBaseServer, redis_url: str, user: TestUser
) -> None:
    # 4 instances x 25 threads hold one due token at once: one auth-refresh in all.
    instances = [instance(pocketbase_server.url, redis_url) for _ in range(4)]
    cookie = cookie_for(instances[0], user.token, user.record)
    agent = f"pb-ssr-cluster-{secrets.token_hex(4)}"
    start = threading.Barrier(100)

    def request(i: int) -> str | None:
        start.wait(10)
        session = instances[i % 4].open(cookie, user_agent=agent)
        current = session.user()
        return current["id"] if current is not None else None

    with ThreadPoolExecutor(max_workers=100) as pool:
        seen = list(pool.map(request, range(100)))
    assert seen == [user.id] * 100
    assert sum(i.validator.upstream_calls for i in instances) == 1
    logs = logged_refreshes(pocketbase_server, agent)
    assert [log["data"]["status"] for log in logs] == [200]


def test_one_auth_refresh_for_many_event_loops(
    pocketbase_server: PocketBaseServer, redis_url: str, user: TestUser
) -> None:
    instances = [instance(pocketbase_server.url, redis_url) for _ in range(4)]
    cookie = cookie_for(instances[0], user.token, user.record)
    agent = f"pb-ssr-cluster-async-{secrets.token_hex(4)}"

    def loop(manager: SessionManager) -> list[str | None]:
        async def one() -> str | None:
            current = await manager.open(cookie, user_agent=agent).auser()
            return current["id"] if current is not None else None

        async def many() -> list[str | None]:
            return await asyncio.gather(*(one() for _ in range(25)))

        return asyncio.run(many())

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [r for batch in pool.map(loop, instances) for r in batch]
    assert results == [user.id] * 100
    assert sum(i.validator.upstream_calls for i in instances) == 1
    assert [log["data"]["status"] for log in logged_refreshes(pocketbase_server, agent)] == [200]


def test_a_follower_calls_itself_when_the_leader_dies(
    pocketbase_url: str, redis_url: str, user: TestUser
) -> None:
    manager = instance(pocketbase_url, redis_url, TIMEOUT=1)
    cookie = cookie_for(manager, user.token, user.record)
    # A leader elsewhere took the lease, then died without a verdict.
    lease = manager.validator._key("l", token_key(user.token))
    RedisStore(redis_url).add(lease, Mark(kind="lease"), 0.3)
    start = time.monotonic()
    current = manager.open(cookie).user()
    waited = time.monotonic() - start
    assert current is not None and current["id"] == user.id
    assert manager.validator.upstream_calls == 1
    assert 0.25 < waited < 2.0


def test_keep_knows_what_any_instance_confirmed(
    pocketbase_url: str, redis_url: str, user: TestUser
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    fmt = {"COOKIE_FORMAT": "js-sdk", "VALIDATE_TTL": 0}
    live = SessionManager(
        Settings.from_mapping({"URL": pocketbase_url, "STORE": redis_url, **fmt}),
        secret_key=None,
    )
    cookie = live.codec.dump(user.token, user.record, max_age=60).value
    assert live.open(cookie).user() is not None
    down = SessionManager(
        Settings.from_mapping({"URL": dead, "STORE": redis_url, **fmt}), secret_key=None
    )
    kept = down.open(cookie)
    current = kept.user()
    assert current is not None and current["id"] == user.id and not kept.verified


# -- Redis is never a single point of failure ------------------------------------------


def test_redis_down_and_back(
    pocketbase_url: str,
    redis_server: RedisServer,
    redis_url: str,
    user: TestUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def layered() -> LayeredStore:
        return LayeredStore(
            RedisStore(redis_url, timeout=0.2), local=MemoryStore(), retry_after=0.3
        )

    settings = Settings.from_mapping({"URL": pocketbase_url, "VALIDATE_TTL": 0})
    a = SessionManager(settings, secret_key=SECRET, store=layered())
    b = SessionManager(settings, secret_key=SECRET, store=layered())
    cookie = cookie_for(a, user.token, user.record)
    assert a.open(cookie).user() is not None and not a.store_degraded

    redis_server.stop()
    caplog.set_level(logging.WARNING, logger="pb_ssr.store")
    # Nobody is logged out, nothing raises; each instance notices and says so once.
    for _ in range(20):
        session = a.open(cookie)
        assert session.user() is not None and session.verified
        session.finalize()
    assert a.store_degraded
    warnings = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(warnings) == 1 and "memory" in warnings[0].getMessage()
    # A logout during the outage holds where it happened.
    out = a.open(cookie)
    out.logout()
    out.finalize()
    assert a.open(cookie).user() is None

    redis_server.start()
    time.sleep(0.35)
    assert b.open(cookie).user() is not None  # b never saw it: the cost of the outage
    assert not b.store_degraded
    session = a.open(cookie)
    assert session.user() is None and not a.store_degraded
    assert any("is back" in r.getMessage() for r in caplog.records)


def test_redis_unreachable_from_the_start_is_not_an_error(
    pocketbase_url: str, user: TestUser
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    manager = instance(pocketbase_url, nowhere)
    cookie = cookie_for(manager, user.token, user.record)
    session = manager.open(cookie)
    assert session.user() is not None and session.verified
    assert manager.store_degraded
    # Still single-flight within the process, still remembering its own verdicts.
    assert manager.open(cookie).user() is not None
    assert manager.validator.upstream_calls == 1
