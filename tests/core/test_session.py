"""SessionManager / RequestSession (sync) against a real PocketBase.

The cookie round trip, per-request isolation under threads, single-flight and
cached validation, expiry, revocation, renewal, PocketBase being down, logout,
the rate limiter seen through forwarded client addresses, and key rotation.
``httpx.MockTransport`` appears only for answers a live server will not give on
demand (a 5xx from ``auth-refresh``).

The helpers at the top are shared with ``test_session_async.py``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest

from pb_ssr import (
    ClientResponseError,
    PocketBaseUnavailable,
    RequestSession,
    SessionManager,
    Settings,
    breaker_for,
    decode_claims,
    resolve_client_ip,
)
from pb_ssr._validation import token_key
from pb_ssr.testing import PocketBaseServer, TestUser

from ..versions import IMPERSONATION_REFRESH

SECRET = "pb-ssr-test-secret-key"
#: Lifetime of a ``users`` auth token on PocketBase 0.40.6.
USER_TOKEN_LIFETIME = 432_000
USERS_COLLECTION_ID = "_pb_users_auth_"
RATE_LIMITED = {
    "rateLimits": {
        "enabled": True,
        "rules": [{"label": "*:auth", "maxRequests": 2, "duration": 3}],
    },
    "trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": False},
}


# -- helpers (also imported by test_session_async.py) ------------------------------


def make_settings(url: str, **overrides: Any) -> Settings:
    return Settings.from_mapping({"URL": url, **overrides})


class ClockedManager(SessionManager):
    """A manager whose validation cache reads a clock the test moves by hand."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        self.clock = 1_000.0
        super().__init__(settings, **kwargs)

    def now(self) -> float:  # type: ignore[override]
        return self.clock


def cookie_for(manager: SessionManager, token: str, record: dict[str, Any] | None) -> str:
    """The cookie value a browser would send after signing in with *token*."""
    return manager.codec.dump(token, record, max_age=3600).value


def forge_token(*, exp: float | None, collection_id: str = USERS_COLLECTION_ID) -> str:
    """A well-formed PocketBase-style auth JWT that PocketBase never issued."""
    claims: dict[str, Any] = {
        "type": "auth",
        "collectionId": collection_id,
        "id": "forgedrecord001",
        "refreshable": True,
    }
    if exp is not None:
        claims["exp"] = int(exp)
    return jwt.encode(claims, "not-pocketbase's-key-" + "x" * 32, algorithm="HS256")


def forged_record(record_id: str = "forgedrecord001") -> dict[str, Any]:
    return {
        "id": record_id,
        "collectionId": USERS_COLLECTION_ID,
        "collectionName": "users",
        "email": "forged@example.test",
    }


def wait_for_next_token_second(token: str, lifetime: int) -> None:
    """Sleep until PocketBase would issue a *different* token for the same record.

    PocketBase tokens carry whole-second ``exp`` and no ``iat``: a refresh in the
    same second as the login returns the very same string. No event marks the
    wall clock ticking, so this one short sleep (< 1 s) is unavoidable.
    """
    claims = decode_claims(token)
    assert claims is not None and claims.exp is not None
    issued = claims.exp - lifetime
    # Never more than one second: *lifetime* is the pinned PocketBase's default, and
    # other releases default to other lifetimes (scripts/pb_matrix.py runs them).
    delay = min(issued + 1.05 - time.time(), 1.05)
    if delay > 0:
        time.sleep(delay)


class Gate:
    """Counts requests that asked for their user; opens once *expected* have."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.arrived = 0
        self.held = 0
        self._lock = threading.Lock()
        self.open = threading.Event()

    def arrive(self) -> None:
        with self._lock:
            self.arrived += 1
            if self.arrived >= self.expected:
                self.open.set()


def _is_refresh(request: httpx.Request) -> bool:
    return request.url.path.endswith("/auth-refresh")


class GatedTransport(httpx.BaseTransport):
    """Forwards to the real server, holding each auth-refresh until the gate opens.

    Holding the leader's upstream call until every request has started makes the
    single-flight tests prove overlap: without it a fast leader could finish
    before the others start, and the TTL cache alone would pass the test.
    """

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _is_refresh(request):
            self.gate.held += 1
            self.gate.open.wait(15)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class AsyncGatedTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`GatedTransport` (waits off the event loop)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _is_refresh(request):
            self.gate.held += 1
            await asyncio.to_thread(self.gate.open.wait, 15)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def logged_refreshes(server: PocketBaseServer, user_agent: str) -> list[dict[str, Any]]:
    """Return the auth-refresh request logs sent with *user_agent*, once all are flushed.

    PocketBase writes request logs in batches a few seconds late. A marker request
    made after the ones under test shows up only once they have too.
    """
    marker = secrets.token_hex(6)
    with httpx.Client(trust_env=False, headers={"User-Agent": user_agent}) as http:
        http.get(f"{server.url}/api/health", params={"marker": marker})
    server.wait_for_logs(f"data.url ~ '{marker}'", count=1)
    return server.request_logs(f"data.userAgent = '{user_agent}' && data.url ~ 'auth-refresh'")


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture
def settings(pocketbase_url: str) -> Settings:
    return make_settings(pocketbase_url)


@pytest.fixture
def manager(settings: Settings) -> SessionManager:
    return SessionManager(settings, secret_key=SECRET)


@pytest.fixture
def user(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Ada")


# -- sign in, the cookie, and the next request ----------------------------------------


def test_login_sets_a_hardened_cookie(
    manager: SessionManager, user: TestUser, user_token_lifetime: int
) -> None:
    session = manager.open(None, client_ip="203.0.113.7")
    auth = session.client().collection("users").auth_with_password(user.email, user.password)
    result = session.finalize()

    update = result.cookie
    assert update is not None and not update.is_delete
    assert update.name == "pb_auth"
    assert update.httponly and update.secure and update.samesite == "Lax"
    assert update.path == "/" and update.domain is None
    assert user_token_lifetime - 10 <= update.max_age <= user_token_lifetime
    header = update.header()
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/", f"Max-Age={update.max_age}"):
        assert attribute in header.split("; ")
    loaded = manager.codec.load(update.value)
    assert loaded is not None
    token, record = loaded
    assert token == auth.token
    assert record is not None and record["id"] == user.id and record["email"] == user.email
    # The cookie carries only the configured fields, never e.g. tokenKey or timestamps.
    assert set(record) <= set(manager.settings.RECORD_FIELDS)
    assert result.no_store and result.user_dependent


def test_the_next_request_is_that_user(manager: SessionManager, user: TestUser) -> None:
    login = manager.open(None)
    login.client().collection("users").auth_with_password(user.email, user.password)
    update = login.finalize().cookie
    assert update is not None

    session = manager.open(update.value)
    current = session.user()
    assert current is not None and current["id"] == user.id and current["name"] == "Ada"
    assert session.verified
    assert session.client().auth_store.token == manager.codec.load(update.value)[0]  # type: ignore[index]
    result = session.finalize()
    assert result.cookie is None
    assert result.user_dependent and not result.no_store
    # PocketBase issued the token a moment ago: the sign-in itself is the confirmation.
    assert manager.validator.upstream_calls == 0

    # Another worker (its own in-process store) confirms it once.
    other = SessionManager(manager.settings, secret_key=SECRET)
    elsewhere = other.open(update.value)
    assert elsewhere.user() == current and elsewhere.verified
    assert other.validator.upstream_calls == 1


def test_an_untouched_session_costs_nothing(manager: SessionManager, user: TestUser) -> None:
    session = manager.open(cookie_for(manager, user.token, user.record))
    result = session.finalize()
    assert result.cookie is None
    assert not result.user_dependent and not result.no_store
    assert manager.validator.upstream_calls == 0
    assert not session.loaded


def test_no_cookie_is_anonymous(manager: SessionManager) -> None:
    session = manager.open(None)
    assert session.user() is None
    assert not session.verified
    result = session.finalize()
    assert result.cookie is None and result.user_dependent
    assert manager.validator.upstream_calls == 0


# -- isolation under threads --------------------------------------------------------------


def test_threads_never_see_another_users_data(
    manager: SessionManager, users_with_private_notes: list[TestUser]
) -> None:
    users = users_with_private_notes
    cookies = {u.id: cookie_for(manager, u.token, u.record) for u in users}
    jobs = [u for u in users for _ in range(20)]

    def page_view(owner: TestUser) -> list[str]:
        session = manager.open(cookies[owner.id], client_ip="198.51.100.1")
        notes = session.client().collection("private_notes").get_full_list()
        problems = []
        titles = [n["title"] for n in notes]
        if titles != [f"note of {owner.id}"]:
            problems.append(f"{owner.id} saw {titles}")
        current = session.user()
        if current is None or current["id"] != owner.id:
            problems.append(f"{owner.id} is signed in as {current and current['id']}")
        result = session.finalize()
        if result.cookie is not None or not result.user_dependent:
            problems.append(f"{owner.id} got {result}")
        return problems

    with ThreadPoolExecutor(max_workers=16) as pool:
        leaks = [p for problems in pool.map(page_view, jobs) for p in problems]

    assert leaks == []
    # One confirmation per user, not per request.
    assert manager.validator.upstream_calls == len(users)


# -- single-flight --------------------------------------------------------------------


def test_single_flight_across_threads(
    pocketbase_server: PocketBaseServer, settings: Settings, user: TestUser
) -> None:
    gate = Gate(100)
    user_agent = f"pb-ssr-single-flight-{secrets.token_hex(4)}"
    http = httpx.Client(transport=GatedTransport(gate), headers={"User-Agent": user_agent})
    manager = SessionManager(settings, secret_key=SECRET, http_client=http)
    cookie = cookie_for(manager, user.token, user.record)
    start = threading.Barrier(100)

    def request() -> str | None:
        start.wait(10)
        session = manager.open(cookie)
        gate.arrive()
        current = session.user()
        return current["id"] if current is not None and session.verified else None

    try:
        with ThreadPoolExecutor(max_workers=100) as pool:
            seen = list(pool.map(lambda _: request(), range(100)))
    finally:
        http.close()

    assert gate.open.is_set() and gate.held == 1
    assert seen == [user.id] * 100
    assert manager.validator.upstream_calls == 1
    logs = logged_refreshes(pocketbase_server, user_agent)
    assert [(log["data"]["status"], log["data"]["auth"]) for log in logs] == [(200, "users")]


# -- the validation cache ----------------------------------------------------------------


def test_a_confirmed_token_is_trusted_for_validate_ttl(settings: Settings, user: TestUser) -> None:
    manager = ClockedManager(settings, secret_key=SECRET)
    cookie = cookie_for(manager, user.token, user.record)

    def page_view() -> None:
        session = manager.open(cookie)
        current = session.user()
        assert current is not None and current["id"] == user.id and session.verified
        assert session.finalize().cookie is None

    for _ in range(1000):
        page_view()
    assert manager.validator.upstream_calls == 1

    manager.clock += settings.VALIDATE_TTL - 1
    page_view()
    assert manager.validator.upstream_calls == 1

    manager.clock += 2  # past VALIDATE_TTL
    page_view()
    assert manager.validator.upstream_calls == 2
    for _ in range(10):
        page_view()
    assert manager.validator.upstream_calls == 2


# -- tokens that cannot be a session ----------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(forge_token(exp=time.time() - 60), id="expired"),
        pytest.param("garbage-that-is-no-jwt", id="garbage"),
        pytest.param(
            jwt.encode({"type": "file", "exp": int(time.time()) + 600}, "k" * 32), id="file-token"
        ),
    ],
)
def test_an_unusable_token_is_anonymous_and_deleted(manager: SessionManager, token: str) -> None:
    cookie = cookie_for(manager, token, forged_record())

    session = manager.open(cookie)
    assert session.user() is None and not session.verified
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    assert update.max_age == 0 and update.value == "" and "Max-Age=0" in update.header()

    # Even a request that never looks at the user drops such a cookie.
    untouched = manager.open(cookie).finalize()
    assert untouched.cookie is not None and untouched.cookie.is_delete
    assert manager.validator.upstream_calls == 0


def test_a_tampered_cookie_is_anonymous_and_deleted(
    manager: SessionManager, user: TestUser
) -> None:
    cookie = cookie_for(manager, user.token, user.record)
    tampered = cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB")
    session = manager.open(tampered)
    assert session.user() is None
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    assert manager.validator.upstream_calls == 0


# -- revocation -----------------------------------------------------------------------


def change_password(pb_superuser: Any, user_id: str) -> None:
    password = secrets.token_urlsafe(18)
    pb_superuser.collection("users").update(
        user_id, {"password": password, "passwordConfirm": password}
    )


def test_revoked_token_is_rejected_at_once_without_cache(
    pocketbase_url: str, user: TestUser, pb_superuser: Any
) -> None:
    manager = SessionManager(make_settings(pocketbase_url, VALIDATE_TTL=0), secret_key=SECRET)
    cookie = cookie_for(manager, user.token, user.record)
    first = manager.open(cookie)
    assert first.user() is not None and first.verified

    change_password(pb_superuser, user.id)

    session = manager.open(cookie)
    assert session.user() is None and not session.verified
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    assert manager.validator.upstream_calls == 2


def test_revoked_token_stops_working_within_validate_ttl(
    settings: Settings, user: TestUser, pb_superuser: Any
) -> None:
    manager = ClockedManager(settings, secret_key=SECRET)
    cookie = cookie_for(manager, user.token, user.record)
    assert manager.open(cookie).user() is not None

    change_password(pb_superuser, user.id)

    # The documented window: still trusted from the cache...
    cached = manager.open(cookie)
    assert cached.user() is not None and cached.verified
    assert cached.finalize().cookie is None
    # ...until VALIDATE_TTL has passed.
    manager.clock += settings.VALIDATE_TTL + 1
    session = manager.open(cookie)
    assert session.user() is None and not session.verified
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    assert manager.validator.upstream_calls == 2
    # The rejection is cached too.
    assert manager.open(cookie).user() is None
    assert manager.validator.upstream_calls == 2


# -- renewal ------------------------------------------------------------------------------


def test_a_due_token_is_renewed_and_the_new_cookie_is_pre_confirmed(
    pocketbase_url: str, user: TestUser
) -> None:
    renewing = SessionManager(
        make_settings(pocketbase_url, REFRESH_WITHIN=10 * 86400), secret_key=SECRET
    )
    never = SessionManager(make_settings(pocketbase_url, REFRESH_WITHIN=0), secret_key=SECRET)
    cookie = cookie_for(renewing, user.token, user.record)
    wait_for_next_token_second(user.token, USER_TOKEN_LIFETIME)

    session = renewing.open(cookie)
    assert session.user() is not None and session.verified
    update = session.finalize().cookie
    assert update is not None and not update.is_delete
    loaded = renewing.codec.load(update.value)
    assert loaded is not None
    new_token, record = loaded
    assert new_token != user.token
    old_claims, new_claims = decode_claims(user.token), decode_claims(new_token)
    assert old_claims is not None and new_claims is not None
    assert new_claims.exp is not None and old_claims.exp is not None
    assert new_claims.exp > old_claims.exp and new_claims.record_id == user.id
    assert record is not None and record["id"] == user.id
    assert renewing.validator.upstream_calls == 1

    follow_up = renewing.open(update.value)
    assert follow_up.user() is not None and follow_up.verified
    assert follow_up.finalize().cookie is None
    assert renewing.validator.upstream_calls == 1

    # REFRESH_WITHIN = 0: PocketBase hands back a new token too, but it is not adopted.
    plain = never.open(cookie)
    assert plain.user() is not None and plain.verified
    assert plain.client().auth_store.token == user.token
    assert plain.finalize().cookie is None


def test_an_impersonation_token_is_confirmed_but_never_rewritten(
    pocketbase_url: str, user: TestUser, pb_superuser: Any, pocketbase_version: tuple[int, ...]
) -> None:
    other = pb_superuser.collection("users").impersonate(user.id, 600)
    token = other.auth_store.token
    claims = decode_claims(token)
    assert claims is not None and not claims.refreshable
    manager = SessionManager(
        make_settings(pocketbase_url, REFRESH_WITHIN=100 * 86400), secret_key=SECRET
    )
    wait_for_next_token_second(token, 600)

    session = manager.open(cookie_for(manager, token, dict(other.auth_store.record)))
    current = session.user()
    if pocketbase_version < IMPERSONATION_REFRESH:
        # Older releases refuse auth-refresh for a non-refreshable token: PocketBase
        # rejects it, so the request is anonymous and the cookie is deleted.
        assert current is None
        update = session.finalize().cookie
        assert update is not None and update.is_delete
        return
    assert current is not None and current["id"] == user.id and session.verified
    assert session.client().auth_store.token == token
    assert session.finalize().cookie is None
    assert manager.validator.upstream_calls == 1


# -- PocketBase down or failing ------------------------------------------------------------


def test_backend_down_policies(
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

    # keep: signed in from the cookie's record, flagged unverified, cookie untouched.
    session = keep.open(cookie)
    current = session.user()
    assert current is not None and current["id"] == member.id and current["name"] == "Grace"
    assert not session.verified
    result = session.finalize()
    assert result.cookie is None and result.user_dependent
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(r.name == "pb_ssr.session" and "'keep'" in r.getMessage() for r in warnings)
    assert member.token not in caplog.text
    # Nor its payload or signature alone (the header part is the same for every token).
    for part in member.token.split(".")[1:]:
        assert part not in caplog.text

    # anonymous: nobody for this request, but the cookie survives the outage.
    session = anonymous.open(cookie)
    assert session.user() is None and not session.verified
    assert session.finalize().cookie is None

    # raise: a PocketBaseUnavailable (a ClientResponseError without a status).
    session = strict.open(cookie)
    with pytest.raises(PocketBaseUnavailable) as info:
        session.user()
    assert isinstance(info.value, ClientResponseError)
    assert info.value.status == 0 and info.value.is_server_error
    assert session.finalize().cookie is None
    assert member.token not in caplog.text

    # The outage is the circuit breaker's to remember (not a per-token cache): once it
    # is open, pages fail fast without a call, and the first call after PocketBase is
    # back confirms the session again.
    breaker = breaker_for(server.url)
    while breaker.state == "closed":
        assert keep.open(cookie).user() is not None
    calls = keep.validator.upstream_calls
    fast = keep.open(cookie)
    started = time.monotonic()
    assert fast.user() is not None and not fast.verified
    assert time.monotonic() - started < 0.1

    server.start()
    breaker.reset()
    back = keep.open(cookie)
    assert back.user() is not None and back.verified
    assert back.finalize().cookie is None
    assert keep.validator.upstream_calls == calls + 2
    fresh = SessionManager(make_settings(server.url), secret_key=SECRET)
    assert fresh.open(cookie).user() is not None


def failing_refresh(status: int, calls: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        assert request.headers["Authorization"]
        return httpx.Response(status, json={"status": status, "message": "nope", "data": {}})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_treated_like_down(status: int) -> None:
    calls: list[str] = []
    http = httpx.Client(transport=failing_refresh(status, calls))
    manager = SessionManager(
        make_settings("http://pocketbase.test"), secret_key=SECRET, http_client=http
    )
    token = forge_token(exp=time.time() + 3600)
    cookie = cookie_for(manager, token, forged_record())

    session = manager.open(cookie)
    current = session.user()
    assert current is not None and current["id"] == "forgedrecord001"
    assert not session.verified
    assert session.finalize().cookie is None
    assert calls == [f"/api/collections/{USERS_COLLECTION_ID}/auth-refresh"]

    strict = SessionManager(
        make_settings("http://pocketbase.test", ON_BACKEND_ERROR="raise"),
        secret_key=SECRET,
        http_client=http,
    )
    with pytest.raises(PocketBaseUnavailable) as info:
        strict.open(cookie).user()
    assert info.value.status == status


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_refusal_rejects_the_token(status: int) -> None:
    calls: list[str] = []
    http = httpx.Client(transport=failing_refresh(status, calls))
    manager = SessionManager(
        make_settings("http://pocketbase.test", ON_BACKEND_ERROR="keep"),
        secret_key=SECRET,
        http_client=http,
    )
    cookie = cookie_for(manager, forge_token(exp=time.time() + 3600), forged_record())

    session = manager.open(cookie)
    assert session.user() is None and not session.verified
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    assert len(calls) == 1


# -- logout --------------------------------------------------------------------------------


def test_logout_deletes_the_cookie_and_the_cache_entry(
    manager: SessionManager, user: TestUser
) -> None:
    cookie = cookie_for(manager, user.token, user.record)
    session = manager.open(cookie)
    assert session.user() is not None
    key = token_key(user.token)
    assert manager.validator.cached(key) is not None

    session.logout()
    assert session.user() is None
    result = session.finalize()
    assert result.cookie is not None and result.cookie.is_delete
    assert result.user_dependent
    # The "valid" verdict is gone: the token is denied until it expires.
    verdict = manager.validator.cached(key)
    assert verdict is not None and verdict.status == "rejected"


def test_logout_without_reading_the_user_first_drops_the_cache_entry(
    manager: SessionManager, user: TestUser
) -> None:
    # A logout view usually signs out straight away, without loading the user.
    cookie = cookie_for(manager, user.token, user.record)
    assert manager.open(cookie).user() is not None
    key = token_key(user.token)
    assert manager.validator.cached(key) is not None

    session = manager.open(cookie)
    session.logout()
    result = session.finalize()
    assert result.cookie is not None and result.cookie.is_delete
    verdict = manager.validator.cached(key)
    assert verdict is not None and verdict.status == "rejected", (
        "RequestSession.logout() promises to deny the cookie's token, but on a "
        "session that was never loaded it clears an empty store and denies nothing"
    )


def test_logout_after_a_login_in_the_same_request(manager: SessionManager, user: TestUser) -> None:
    session = manager.open(None)
    session.client().collection("users").auth_with_password(user.email, user.password)
    session.logout()
    # There was no cookie to begin with: nothing to set, nothing to delete.
    assert session.finalize().cookie is None


# -- client addresses and the rate limiter -------------------------------------------------


@pytest.fixture(scope="module")
def rate_limited_server(
    pocketbase_migrations: Any,
) -> Iterator[tuple[PocketBaseServer, list[TestUser]]]:
    """An isolated server with ten users, then ``*:auth`` limited to 2 per 3 s per IP."""
    with PocketBaseServer(migrations_dir=pocketbase_migrations) as server:
        # Created before the limit is on: create_user signs each one in from 127.0.0.1.
        users = [server.create_user() for _ in range(10)]
        settings = server.update_settings(RATE_LIMITED)
        assert settings["rateLimits"]["enabled"]
        assert settings["rateLimits"]["rules"] == [
            {"label": "*:auth", "audience": "", "duration": 3, "maxRequests": 2}
        ]
        assert settings["trustedProxy"]["headers"] == ["X-Forwarded-For"]
        yield server, users


def test_forwarded_addresses_give_each_user_their_own_limit(
    rate_limited_server: tuple[PocketBaseServer, list[TestUser]],
) -> None:
    server, users = rate_limited_server
    manager = SessionManager(make_settings(server.url), secret_key=SECRET)
    ips = [f"10.0.0.{i}" for i in range(10)]

    cookies = []
    for ip, member in zip(ips, users, strict=True):
        session = manager.open(None, client_ip=ip)
        auth = (
            session.client().collection("users").auth_with_password(member.email, member.password)
        )
        assert auth.record.id == member.id
        update = session.finalize().cookie
        assert update is not None
        cookies.append(update.value)

    attacker = manager.open(None, client_ip="10.0.1.1")
    errors = []
    for _ in range(5):
        with pytest.raises(ClientResponseError) as info:
            attacker.client().collection("users").auth_with_password(users[0].email, "wrong")
        errors.append(info.value)
    assert [e.status for e in errors[:2]] == [400, 400]
    limited = [e for e in errors if e.status == 429]
    assert limited and all(e.is_rate_limited for e in limited)

    # The validation call of a later page view (on another worker, which has not
    # seen the sign-in) carries the visitor's address too.
    worker = SessionManager(make_settings(server.url), secret_key=SECRET)
    visit = worker.open(cookies[3], client_ip=ips[3])
    assert visit.user() is not None and visit.verified

    logs = server.wait_for_logs(
        f"data.url ~ 'auth-refresh' && data.userIP = '{ips[3]}'", count=1, timeout=15
    )
    assert logs[0]["data"]["remoteIP"] == "127.0.0.1"
    logins = server.request_logs("data.url ~ 'auth-with-password' && data.userIP ~ '10.0.'")
    by_ip = {(log["data"]["userIP"], log["data"]["status"]) for log in logins}
    assert {(ip, 200) for ip in ips} <= by_ip
    assert ("10.0.1.1", 429) in by_ip


def test_without_forwarding_everyone_shares_the_apps_limit(
    rate_limited_server: tuple[PocketBaseServer, list[TestUser]],
) -> None:
    server, users = rate_limited_server
    manager = SessionManager(make_settings(server.url, CLIENT_IP_HEADER=None), secret_key=SECRET)
    outcomes = []
    for i, member in enumerate(users):
        session = manager.open(None, client_ip=f"10.9.9.{i}")
        assert session.client().headers == {}
        try:
            session.client().collection("users").auth_with_password(member.email, member.password)
        except ClientResponseError as exc:
            outcomes.append(429 if exc.is_rate_limited else exc.status)
        else:
            outcomes.append(200)
    # 2 per 3 s window for the whole app (at most two windows touched).
    assert outcomes.count(200) <= 4
    assert outcomes.count(429) >= 6


def test_forwarding_is_never_taken_from_the_browser(pocketbase_url: str) -> None:
    # No trusted proxies: whatever X-Forwarded-For the browser sent is ignored.
    assert resolve_client_ip("1.2.3.4", "6.6.6.6") == "1.2.3.4"
    assert resolve_client_ip("1.2.3.4", "6.6.6.6", ["10.0.0.0/8"]) == "1.2.3.4"
    # Behind a trusted proxy: the rightmost untrusted hop.
    assert resolve_client_ip("10.0.0.2", "6.6.6.6, 7.7.7.7, 10.0.0.9", ["10.0.0.0/8"]) == "7.7.7.7"

    manager = SessionManager(make_settings(pocketbase_url), secret_key=SECRET)
    ip = resolve_client_ip("1.2.3.4", "6.6.6.6")
    session = manager.open(None, client_ip=ip)
    assert session.client().headers == {"X-Forwarded-For": "1.2.3.4"}

    custom = SessionManager(
        make_settings(pocketbase_url, CLIENT_IP_HEADER="X-Real-IP"), secret_key=SECRET
    )
    assert custom.open(None, client_ip="1.2.3.4").client().headers == {"X-Real-IP": "1.2.3.4"}
    assert manager.open(None).client().headers == {}


def test_pocketbase_sees_the_browsers_user_agent(
    pocketbase_server: PocketBaseServer, manager: SessionManager, user: TestUser
) -> None:
    agent = f"Mozilla/5.0 (pb-ssr test {secrets.token_hex(4)})"
    session = manager.open(None, client_ip="203.0.113.9", user_agent=agent)
    pb = session.client()
    pb.collection("users").auth_with_password(user.email, user.password)
    cookie = session.finalize().cookie
    assert cookie is not None
    # The next request (on another worker) validates the cookie (auth-refresh) and
    # lists with its agent too.
    worker = SessionManager(manager.settings, secret_key=SECRET)
    later = worker.open(cookie.value, client_ip="203.0.113.9", user_agent=agent)
    later.client().collection("users").get_list(1, 1)

    logs = pocketbase_server.wait_for_logs(f"data.userAgent = '{agent}'", count=3)
    calls = sorted(log["data"]["url"].split("?")[0].rsplit("/", 1)[1] for log in logs)
    assert calls == ["auth-refresh", "auth-with-password", "records"]
    # Without an agent, PocketBase sees pb-ssr's own.
    marker = secrets.token_hex(4)
    manager.open(None).client().send("/api/health", query={"marker": marker})
    (log,) = pocketbase_server.wait_for_logs(f"data.url ~ '{marker}'")
    assert log["data"]["userAgent"] == "pb-ssr"


# -- secret key rotation ---------------------------------------------------------------------


def test_a_cookie_signed_with_a_fallback_key_is_accepted(
    settings: Settings, user: TestUser
) -> None:
    old = SessionManager(settings, secret_key="the-old-key")
    cookie = cookie_for(old, user.token, user.record)

    rotated = SessionManager(settings, secret_key=SECRET, secret_key_fallbacks=["the-old-key"])
    session = rotated.open(cookie)
    current = session.user()
    assert current is not None and current["id"] == user.id and session.verified
    # The token did not change, so the cookie is left as it is.
    assert session.finalize().cookie is None

    # A fresh cookie is signed with the new key and not readable with the old one.
    fresh = cookie_for(rotated, user.token, user.record)
    assert rotated.codec.load(fresh) is not None
    assert old.codec.load(fresh) is None


def test_a_cookie_signed_with_an_unknown_key_is_anonymous(
    settings: Settings, user: TestUser
) -> None:
    foreign = SessionManager(settings, secret_key="somebody-elses-key")
    cookie = cookie_for(foreign, user.token, user.record)
    manager = SessionManager(settings, secret_key=SECRET, secret_key_fallbacks=["the-old-key"])

    session = manager.open(cookie)
    assert session.user() is None and not session.verified
    update = session.finalize().cookie
    assert update is not None and update.is_delete
    assert manager.validator.upstream_calls == 0


def test_session_repr_hides_the_token(manager: SessionManager, user: TestUser) -> None:
    session: RequestSession = manager.open(cookie_for(manager, user.token, user.record))
    assert "unchecked" in repr(session)
    session.user()
    assert user.token not in repr(session) and user.id in repr(session)
    assert user.token not in repr(manager)


@pytest.mark.parametrize(
    ("user_dependent", "sets_cookie", "vary", "cache_control", "expected"),
    [
        (False, False, None, None, {}),
        (True, False, None, None, {"Vary": "Cookie", "Cache-Control": "private"}),
        (True, True, None, None, {"Vary": "Cookie", "Cache-Control": "private, no-store"}),
        (False, True, "Accept", None, {"Cache-Control": "no-store"}),
        (
            True,
            False,
            "Accept",
            "public, max-age=60",
            {"Vary": "Accept, Cookie", "Cache-Control": "max-age=60, private"},
        ),
        (True, False, "accept, COOKIE", "private", {"Cache-Control": "private"}),
        (
            True,
            False,
            "*",
            "no-store, no-transform",
            {"Cache-Control": "no-store, no-transform, private"},
        ),
    ],
)
def test_session_result_headers(
    user_dependent: bool,
    sets_cookie: bool,
    vary: str | None,
    cache_control: str | None,
    expected: dict[str, str],
) -> None:
    from pb_ssr import CookieUpdate, SessionResult

    cookie = CookieUpdate("pb_auth", "v", 60, "/", None, True, True, "Lax") if sets_cookie else None
    assert SessionResult(cookie, user_dependent).headers(vary, cache_control) == expected
