"""RequestSession's async side (``aclient``/``auser``) against a real PocketBase.

The same contracts as ``test_session.py``, driven from asyncio tasks, plus the
cases only asyncio has: threads and tasks sharing one in-flight validation, and
a request cancelled (a client disconnect) while its validation is in flight.
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

import httpx
import pytest

from pb_ssr import PocketBaseUnavailable, SessionManager, Settings, decode_claims
from pb_ssr._validation import token_key
from pb_ssr.testing import PocketBaseServer, TestUser

from .test_session import (
    SECRET,
    USER_TOKEN_LIFETIME,
    USERS_COLLECTION_ID,
    AsyncGatedTransport,
    ClockedManager,
    Gate,
    GatedTransport,
    change_password,
    cookie_for,
    failing_refresh,
    forge_token,
    forged_record,
    logged_refreshes,
    make_settings,
    wait_for_next_token_second,
)


@pytest.fixture
def settings(pocketbase_url: str) -> Settings:
    return make_settings(pocketbase_url)


@pytest.fixture
def manager(settings: Settings) -> SessionManager:
    return SessionManager(settings, secret_key=SECRET)


@pytest.fixture
def user(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Ada")


class HeldRefresh(httpx.AsyncBaseTransport):
    """Forwards to the real server; an auth-refresh waits until ``release`` is set."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.refreshes = 0
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth-refresh"):
            self.refreshes += 1
            self.entered.set()
            await self.release.wait()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def settle() -> None:
    # Let freshly created tasks run up to their first real wait (no wall-clock sleep).
    for _ in range(10):
        await asyncio.sleep(0)


# -- sign in, the cookie, and the next request ----------------------------------------


@pytest.mark.anyio
async def test_login_sets_the_cookie(
    manager: SessionManager, user: TestUser, user_token_lifetime: int
) -> None:
    session = manager.open(None, client_ip="203.0.113.9")
    pb = await session.aclient()
    assert pb.headers == {"X-Forwarded-For": "203.0.113.9"}
    auth = await pb.collection("users").auth_with_password(user.email, user.password)
    result = session.finalize()

    update = result.cookie
    assert update is not None and not update.is_delete
    assert update.httponly and update.secure and update.samesite == "Lax" and update.path == "/"
    assert user_token_lifetime - 10 <= update.max_age <= user_token_lifetime
    assert manager.codec.load(update.value) == (
        auth.token,
        {k: auth.record[k] for k in manager.settings.RECORD_FIELDS if k in auth.record},
    )
    assert result.no_store and result.user_dependent

    follow_up = manager.open(update.value)
    current = await follow_up.auser()
    assert current is not None and current["id"] == user.id and follow_up.verified
    result = follow_up.finalize()
    assert result.cookie is None and result.user_dependent
    # The sign-in itself confirmed the token: no auth-refresh for the next page.
    assert manager.validator.upstream_calls == 0


@pytest.mark.anyio
async def test_an_untouched_session_costs_nothing(manager: SessionManager, user: TestUser) -> None:
    session = manager.open(cookie_for(manager, user.token, user.record))
    result = session.finalize()
    assert result.cookie is None and not result.user_dependent
    assert manager.validator.upstream_calls == 0


@pytest.mark.anyio
async def test_sync_and_async_clients_share_one_auth_state(
    manager: SessionManager, user: TestUser
) -> None:
    session = manager.open(cookie_for(manager, user.token, user.record))
    apb = await session.aclient()
    pb = session.client()
    assert pb.auth_store is apb.auth_store
    pb.auth_store.clear()
    assert await session.auser() is None
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    assert manager.validator.upstream_calls == 1


# -- isolation under tasks ------------------------------------------------------------


@pytest.mark.anyio
async def test_tasks_never_see_another_users_data(
    manager: SessionManager, users_with_private_notes: list[TestUser]
) -> None:
    users = users_with_private_notes
    cookies = {u.id: cookie_for(manager, u.token, u.record) for u in users}
    limit = asyncio.Semaphore(16)

    async def page_view(owner: TestUser) -> list[str]:
        async with limit:
            session = manager.open(cookies[owner.id], client_ip="198.51.100.2")
            pb = await session.aclient()
            notes = await pb.collection("private_notes").get_full_list()
            current = await session.auser()
            result = session.finalize()
        problems = []
        titles = [n["title"] for n in notes]
        if titles != [f"note of {owner.id}"]:
            problems.append(f"{owner.id} saw {titles}")
        if current is None or current["id"] != owner.id:
            problems.append(f"{owner.id} is signed in as {current and current['id']}")
        if result.cookie is not None or not result.user_dependent:
            problems.append(f"{owner.id} got {result}")
        return problems

    outcomes = await asyncio.gather(*(page_view(u) for u in users for _ in range(20)))
    assert [p for problems in outcomes for p in problems] == []
    assert manager.validator.upstream_calls == len(users)


# -- single-flight --------------------------------------------------------------------


@pytest.mark.anyio
async def test_single_flight_across_tasks(
    pocketbase_server: PocketBaseServer, settings: Settings, user: TestUser
) -> None:
    gate = Gate(100)
    user_agent = f"pb-ssr-single-flight-{secrets.token_hex(4)}"
    http = httpx.AsyncClient(
        transport=AsyncGatedTransport(gate), headers={"User-Agent": user_agent}
    )
    manager = SessionManager(settings, secret_key=SECRET, async_http_client=http)
    cookie = cookie_for(manager, user.token, user.record)

    async def request() -> str | None:
        session = manager.open(cookie)
        gate.arrive()
        current = await session.auser()
        return current["id"] if current is not None and session.verified else None

    try:
        seen = await asyncio.gather(*(request() for _ in range(100)))
    finally:
        await http.aclose()

    assert gate.open.is_set() and gate.held == 1
    assert seen == [user.id] * 100
    assert manager.validator.upstream_calls == 1
    logs = await asyncio.to_thread(logged_refreshes, pocketbase_server, user_agent)
    assert [(log["data"]["status"], log["data"]["auth"]) for log in logs] == [(200, "users")]


def test_single_flight_across_threads_and_tasks(
    pocketbase_server: PocketBaseServer, settings: Settings, user: TestUser
) -> None:
    gate = Gate(100)
    user_agent = f"pb-ssr-single-flight-{secrets.token_hex(4)}"
    headers = {"User-Agent": user_agent}
    http = httpx.Client(transport=GatedTransport(gate), headers=headers)
    ahttp = httpx.AsyncClient(transport=AsyncGatedTransport(gate), headers=headers)
    manager = SessionManager(settings, secret_key=SECRET, http_client=http, async_http_client=ahttp)
    cookie = cookie_for(manager, user.token, user.record)
    start = threading.Barrier(51)  # 50 request threads + the event loop's thread

    def thread_request() -> str | None:
        start.wait(10)
        session = manager.open(cookie)
        gate.arrive()
        current = session.user()
        return current["id"] if current is not None and session.verified else None

    async def task_request() -> str | None:
        session = manager.open(cookie)
        gate.arrive()
        current = await session.auser()
        return current["id"] if current is not None and session.verified else None

    async def all_tasks() -> list[str | None]:
        try:
            return await asyncio.gather(*(task_request() for _ in range(50)))
        finally:
            await ahttp.aclose()

    def event_loop_thread() -> list[str | None]:
        start.wait(10)
        return asyncio.run(all_tasks())

    try:
        with ThreadPoolExecutor(max_workers=51) as pool:
            from_threads = [pool.submit(thread_request) for _ in range(50)]
            from_tasks = pool.submit(event_loop_thread)
            seen = [f.result() for f in from_threads] + from_tasks.result()
    finally:
        http.close()

    assert gate.open.is_set() and gate.held == 1
    assert seen == [user.id] * 100
    assert manager.validator.upstream_calls == 1
    logs = logged_refreshes(pocketbase_server, user_agent)
    assert [(log["data"]["status"], log["data"]["auth"]) for log in logs] == [(200, "users")]


@pytest.mark.anyio
async def test_a_cancelled_follower_does_not_break_the_others(
    settings: Settings, user: TestUser
) -> None:
    # A client disconnect cancels the view's task. When that task was only waiting
    # for another request's validation, the others must not notice.
    transport = HeldRefresh()
    http = httpx.AsyncClient(transport=transport)
    manager = SessionManager(settings, secret_key=SECRET, async_http_client=http)
    cookie = cookie_for(manager, user.token, user.record)
    try:
        leader = asyncio.create_task(manager.open(cookie).auser())
        await transport.entered.wait()
        quitter = asyncio.create_task(manager.open(cookie).auser())
        stayer = asyncio.create_task(manager.open(cookie).auser())
        await settle()
        quitter.cancel()
        await asyncio.gather(quitter, return_exceptions=True)
        await settle()
        transport.release.set()
        results = await asyncio.gather(leader, stayer, return_exceptions=True)
    finally:
        await http.aclose()

    ids = [r["id"] if isinstance(r, dict) else r for r in results]
    assert ids == [user.id, user.id], (
        "cancelling one waiting request broke the leader and the other waiter: "
        f"leader, other waiter -> {results!r}"
    )
    assert transport.refreshes == 1


@pytest.mark.anyio
async def test_a_cancelled_leader_does_not_fail_its_followers(
    settings: Settings, user: TestUser
) -> None:
    transport = HeldRefresh()
    http = httpx.AsyncClient(transport=transport)
    manager = SessionManager(settings, secret_key=SECRET, async_http_client=http)
    cookie = cookie_for(manager, user.token, user.record)
    try:
        leader = asyncio.create_task(manager.open(cookie).auser())
        await transport.entered.wait()
        follower = asyncio.create_task(manager.open(cookie).auser())
        await settle()
        leader.cancel()
        await asyncio.gather(leader, return_exceptions=True)
        transport.release.set()
        (result,) = await asyncio.gather(follower, return_exceptions=True)
    finally:
        await http.aclose()

    assert isinstance(result, dict) and result["id"] == user.id, (
        f"the leader's cancellation reached a request that was only waiting: {result!r}"
    )


# -- the validation cache ----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_confirmed_token_is_trusted_for_validate_ttl(
    settings: Settings, user: TestUser
) -> None:
    manager = ClockedManager(settings, secret_key=SECRET)
    cookie = cookie_for(manager, user.token, user.record)

    async def page_view() -> None:
        session = manager.open(cookie)
        current = await session.auser()
        assert current is not None and current["id"] == user.id and session.verified

    for _ in range(1000):
        await page_view()
    assert manager.validator.upstream_calls == 1
    manager.clock += settings.VALIDATE_TTL + 1
    await page_view()
    await page_view()
    assert manager.validator.upstream_calls == 2


@pytest.mark.anyio
@pytest.mark.parametrize("token", ["expired", "garbage"])
async def test_an_unusable_token_is_anonymous_and_deleted(
    manager: SessionManager, token: str
) -> None:
    value = forge_token(exp=time.time() - 60) if token == "expired" else "garbage"
    session = manager.open(cookie_for(manager, value, forged_record()))
    assert await session.auser() is None and not session.verified
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    assert manager.validator.upstream_calls == 0


# -- revocation and renewal --------------------------------------------------------------


@pytest.mark.anyio
async def test_revoked_token(pocketbase_url: str, user: TestUser, pb_superuser: Any) -> None:
    uncached = SessionManager(make_settings(pocketbase_url, VALIDATE_TTL=0), secret_key=SECRET)
    cached = ClockedManager(make_settings(pocketbase_url), secret_key=SECRET)
    cookie = cookie_for(cached, user.token, user.record)
    assert await uncached.open(cookie).auser() is not None
    assert await cached.open(cookie).auser() is not None

    await asyncio.to_thread(change_password, pb_superuser, user.id)

    session = uncached.open(cookie)
    assert await session.auser() is None
    update = session.finalize().cookie
    assert update is not None and update.is_delete

    within = cached.open(cookie)
    assert await within.auser() is not None and within.verified
    cached.clock += 61
    after = cached.open(cookie)
    assert await after.auser() is None and not after.verified
    update = after.finalize().cookie
    assert update is not None and update.is_delete


@pytest.mark.anyio
async def test_a_due_token_is_renewed(pocketbase_url: str, user: TestUser) -> None:
    manager = SessionManager(
        make_settings(pocketbase_url, REFRESH_WITHIN=10 * 86400), secret_key=SECRET
    )
    cookie = cookie_for(manager, user.token, user.record)
    await asyncio.to_thread(wait_for_next_token_second, user.token, USER_TOKEN_LIFETIME)

    session = manager.open(cookie)
    assert await session.auser() is not None and session.verified
    update = session.finalize().cookie
    assert update is not None and not update.is_delete
    loaded = manager.codec.load(update.value)
    assert loaded is not None and loaded[0] != user.token
    claims = decode_claims(loaded[0])
    assert claims is not None and claims.record_id == user.id

    follow_up = manager.open(update.value)
    assert await follow_up.auser() is not None and follow_up.verified
    assert follow_up.finalize().cookie is None
    assert manager.validator.upstream_calls == 1


# -- PocketBase down or failing ------------------------------------------------------------


@pytest.mark.anyio
async def test_backend_down_policies(
    pocketbase_server_factory: Callable[..., PocketBaseServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = pocketbase_server_factory()
    member = server.create_user(name="Grace")

    def manager_for(policy: str) -> ClockedManager:
        return ClockedManager(
            make_settings(server.url, ON_BACKEND_ERROR=policy, TIMEOUT=3), secret_key=SECRET
        )

    keep, anonymous, strict = manager_for("keep"), manager_for("anonymous"), manager_for("raise")
    cookie = cookie_for(keep, member.token, member.record)
    server.stop()
    caplog.set_level(logging.DEBUG)

    session = keep.open(cookie)
    current = await session.auser()
    assert current is not None and current["id"] == member.id and not session.verified
    assert session.finalize().cookie is None
    assert any(r.name == "pb_ssr.session" for r in caplog.records if r.levelno == logging.WARNING)
    assert member.token not in caplog.text

    session = anonymous.open(cookie)
    assert await session.auser() is None
    assert session.finalize().cookie is None

    with pytest.raises(PocketBaseUnavailable) as info:
        await strict.open(cookie).auser()
    assert info.value.status == 0

    await asyncio.to_thread(server.start)
    keep.clock += 6
    back = keep.open(cookie)
    assert await back.auser() is not None and back.verified
    assert keep.validator.upstream_calls == 2


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "deleted"), [(500, False), (503, False), (401, True)])
async def test_failing_refresh(status: int, deleted: bool) -> None:
    calls: list[str] = []
    http = httpx.AsyncClient(transport=failing_refresh(status, calls))
    manager = SessionManager(
        make_settings("http://pocketbase.test"), secret_key=SECRET, async_http_client=http
    )
    cookie = cookie_for(manager, forge_token(exp=time.time() + 3600), forged_record())
    session = manager.open(cookie)
    current = await session.auser()
    update = session.finalize().cookie
    await http.aclose()

    assert calls == [f"/api/collections/{USERS_COLLECTION_ID}/auth-refresh"]
    assert not session.verified
    if deleted:
        assert current is None
        assert update is not None and update.is_delete
    else:
        assert current is not None and current["id"] == "forgedrecord001"
        assert update is None


# -- logout --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_logout(manager: SessionManager, user: TestUser) -> None:
    session = manager.open(cookie_for(manager, user.token, user.record))
    assert await session.auser() is not None
    assert manager.validator.cached(token_key(user.token)) is not None
    session.logout()
    assert await session.auser() is None
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    verdict = manager.validator.cached(token_key(user.token))
    assert verdict is not None and verdict.status == "rejected"
