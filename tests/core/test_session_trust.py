"""Sessions fail closed: forged, revoked and logged-out tokens are never trusted.

Each test here reproduces one way the session layer used to fail *open*, against the
real PocketBase, and checks it no longer does.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pb_ssr import MemoryStore, PocketBase, SessionManager, Settings
from pb_ssr._tokens import read_auth_token
from pb_ssr._validation import token_key
from pb_ssr.testing import PocketBaseServer, TestUser

from .test_session import SECRET, USERS_COLLECTION_ID, cookie_for, forge_token

SUPERUSER_RECORD = {
    "id": "attacker000001",
    "email": "root@evil.test",
    "collectionId": "pbc_3142635823",
    "collectionName": "_superusers",
}


def js_sdk_cookie(token: str, record: dict[str, Any] | None) -> str:
    """The cookie value the JS SDK's ``exportToCookie`` writes (no signature)."""
    payload = json.dumps({"token": token, "record": record}, separators=(",", ":"))
    return quote(payload, safe="!'()*-._~")


def js_settings(url: str, **overrides: Any) -> Settings:
    return Settings.from_mapping({"URL": url, "COOKIE_FORMAT": "js-sdk", **overrides})


def dead_url() -> str:
    """An address where nothing listens: every call is refused (a real outage)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def tampered(token: str) -> list[str]:
    """The real token with characters that cannot travel in a header (finding 1)."""
    return [
        token[:-3] + "\n" + token[-3:],
        token + "\x7f",
        token + "\r\nX-Evil: 1",
        token[:-1] + "é",
        token[:-1] + "\x00",
        " " + token,
    ]


@pytest.fixture
def user(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Ada")


# -- 1. forged identity through the js-sdk format ----------------------------------------


@pytest.mark.parametrize("url_kind", ["live", "down"])
def test_unsendable_js_sdk_tokens_are_anonymous_without_a_call(
    pocketbase_url: str, user: TestUser, url_kind: str
) -> None:
    url = pocketbase_url if url_kind == "live" else dead_url()
    manager = SessionManager(js_settings(url), secret_key=None)
    for token in tampered(user.token):
        session = manager.open(js_sdk_cookie(token, SUPERUSER_RECORD))
        assert session.user() is None
        assert not session.verified
        result = session.finalize()
        # The cookie can never be a session: it goes.
        assert result.cookie is not None and result.cookie.is_delete
    assert manager.validator.upstream_calls == 0


def test_a_never_confirmed_js_sdk_token_is_not_kept_through_an_outage(
    user: TestUser, pb_user_factory: Callable[..., TestUser]
) -> None:
    # A real, valid token, but this app never saw PocketBase confirm it; PocketBase
    # is down. Before: "keep" served the cookie's own record (here: a superuser).
    manager = SessionManager(js_settings(dead_url()), secret_key=None)
    session = manager.open(js_sdk_cookie(user.token, SUPERUSER_RECORD))
    assert session.user() is None
    assert manager.validator.upstream_calls == 1
    # ... but nobody is logged out because PocketBase blinked: the cookie stays.
    assert session.finalize().cookie is None


def test_keep_serves_the_record_pocketbase_confirmed_not_the_cookies(
    pocketbase_url: str, user: TestUser
) -> None:
    store = MemoryStore()
    # VALIDATE_TTL 0: no verdict is reused, only the "confirmed" mark remains.
    live = SessionManager(js_settings(pocketbase_url, VALIDATE_TTL=0), secret_key=None, store=store)
    honest = js_sdk_cookie(user.token, user.record)
    assert live.open(honest).user() is not None  # confirmed by PocketBase

    down = SessionManager(js_settings(dead_url()), secret_key=None, store=store)
    session = down.open(js_sdk_cookie(user.token, SUPERUSER_RECORD))
    current = session.user()
    assert current is not None and not session.verified
    assert current["id"] == user.id and current["email"] == user.email
    assert current.get("collectionName") == "users"
    # The cookie is corrected to the confirmed record, never deleted during the outage.
    update = session.finalize().cookie
    assert update is not None and not update.is_delete
    fields = down.settings.RECORD_FIELDS
    assert down.codec.load(update.value) == (
        user.token,
        {k: current[k] for k in fields if k in current},
    )


def test_a_forged_js_sdk_token_pocketbase_refuses_is_anonymous(pocketbase_url: str) -> None:
    manager = SessionManager(js_settings(pocketbase_url), secret_key=None)
    token = forge_token(exp=time.time() + 3600)
    session = manager.open(js_sdk_cookie(token, SUPERUSER_RECORD))
    assert session.user() is None
    assert session.finalize().cookie.is_delete  # type: ignore[union-attr]
    # Remembered until the token's own exp: replaying it costs no further call.
    for _ in range(3):
        assert manager.open(js_sdk_cookie(token, SUPERUSER_RECORD)).user() is None
    assert manager.validator.upstream_calls == 1


@pytest.mark.parametrize(
    "claims",
    [
        {"type": "file"},
        {"type": "auth", "exp": None},
        {"exp": "9999999999"},
        {"exp": float("inf")},
        {"exp": True},
        {"collectionId": "../_superusers"},
        {"collectionId": ""},
        {"collectionId": 7},
        {"id": ""},
        {"id": "a\nb"},
        {"refreshable": "false"},
    ],
)
def test_tokens_with_claims_pocketbase_never_issues_are_refused_locally(
    claims: dict[str, Any],
) -> None:
    import jwt

    payload: dict[str, Any] = {
        "type": "auth",
        "collectionId": USERS_COLLECTION_ID,
        "id": "abc123",
        "exp": int(time.time()) + 3600,
        "refreshable": True,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    if payload.get("exp") == float("inf"):
        # pyjwt refuses to encode inf; build the segment by hand.
        token = forge_token(exp=time.time() + 3600)
        head, _, sig = token.split(".")
        body = jwt.utils.base64url_encode(
            b'{"type":"auth","collectionId":"x","id":"a","exp":1e999}'
        )
        token = f"{head}.{body.decode()}.{sig}"
    else:
        token = jwt.encode(payload, "k" * 32, algorithm="HS256")
    assert read_auth_token(token) is None
    calls: list[str] = []
    transport = httpx.MockTransport(lambda r: calls.append(str(r.url)) or httpx.Response(200))  # type: ignore[func-returns-value]
    manager = SessionManager(
        js_settings("http://pocketbase.test"),
        secret_key=None,
        http_client=httpx.Client(transport=transport),
    )
    assert manager.open(js_sdk_cookie(token, SUPERUSER_RECORD)).user() is None
    assert calls == []


def test_other_algorithms_and_signature_sizes_are_refused_locally() -> None:
    import jwt

    payload = {"type": "auth", "collectionId": "c", "id": "a", "exp": int(time.time()) + 60}
    assert read_auth_token(jwt.encode(payload, "k" * 32, algorithm="HS256")) is not None
    assert read_auth_token(jwt.encode(payload, "k" * 64, algorithm="HS512")) is None
    good = jwt.encode(payload, "k" * 32, algorithm="HS256")
    assert read_auth_token(good + "A") is None
    assert read_auth_token(good[:-1]) is None
    assert read_auth_token(good.rsplit(".", 1)[0] + ".") is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    token=st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda t, i, c: t[:i] + c + t[i:],
            st.just(forge_token(exp=time.time() + 86400)),
            st.integers(0, 200),
            st.text(min_size=1, max_size=3),
        ),
    ),
    record=st.one_of(st.none(), st.dictionaries(st.text(max_size=10), st.text(max_size=10))),
)
def test_hostile_js_sdk_cookies_never_raise_and_never_send_a_bad_header(
    token: str, record: dict[str, Any] | None
) -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(401, json={"status": 401, "message": "no", "data": {}})

    manager = SessionManager(
        js_settings("http://pocketbase.test"),
        secret_key=None,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    for value in (js_sdk_cookie(token, record), token):
        session = manager.open(value)
        assert session.user() is None
        session.finalize()
    for header in sent:
        assert header.isascii() and header.isprintable() and "\n" not in header
        assert read_auth_token(header) is not None


# -- 2. a revoked token revived by a 429 --------------------------------------------------

AUTH_REFRESH_LIMITED = {
    "rateLimits": {
        "enabled": True,
        "rules": [{"label": "*:authRefresh", "maxRequests": 1, "duration": 30}],
    },
    "trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": False},
}


def test_a_429_never_revives_a_revoked_token(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    member = server.create_user(name="Eve")
    server.update_settings(AUTH_REFRESH_LIMITED)
    manager = SessionManager(
        Settings.from_mapping({"URL": server.url, "VALIDATE_TTL": 0}), secret_key=SECRET
    )
    cookie = cookie_for(manager, member.token, member.record)
    ip = "198.51.100.7"

    first = manager.open(cookie, client_ip=ip)
    assert first.user() is not None and first.verified  # the one allowed refresh

    # The password changes: PocketBase revokes every token of the record.
    su = PocketBase(server.url)
    su.collection("_superusers").auth_with_password(
        server.superuser_email, server.superuser_password
    )
    new_password = secrets.token_urlsafe(16)
    su.collection("users").update(
        member.id, {"password": new_password, "passwordConfirm": new_password}
    )

    # The attacker's address is over the limit: PocketBase answers 429, not 401.
    replay = manager.open(cookie, client_ip=ip)
    assert replay.user() is None, "a 429 must not count as an outage under 'keep'"
    assert not replay.verified
    # Not a rejection either: the cookie is left alone (a real user keeps it).
    assert replay.finalize().cookie is None
    logs = server.wait_for_logs(f"data.url ~ 'auth-refresh' && data.userIP = '{ip}'", count=2)
    assert sorted(log["data"]["status"] for log in logs) == [200, 429]

    # From another address PocketBase does answer: 401, the cookie goes.
    elsewhere = manager.open(cookie, client_ip="198.51.100.8")
    assert elsewhere.user() is None
    assert elsewhere.finalize().cookie.is_delete  # type: ignore[union-attr]


# -- 3. logout revokes the cookie --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["signed", "js-sdk"])
def test_a_cookie_replayed_after_logout_is_anonymous(
    pocketbase_url: str, user: TestUser, fmt: str
) -> None:
    settings_ = Settings.from_mapping(
        {"URL": pocketbase_url, "COOKIE_FORMAT": fmt, "REFRESH_WITHIN": 10 * 86400}
    )
    manager = SessionManager(settings_, secret_key=SECRET if fmt == "signed" else None)
    login = manager.open(None)
    login.client().collection("users").auth_with_password(user.email, user.password)
    copied = login.finalize().cookie
    assert copied is not None

    signed_in = manager.open(copied.value)
    assert signed_in.user() is not None

    out = manager.open(copied.value)
    out.logout()
    assert out.finalize().cookie.is_delete  # type: ignore[union-attr]
    calls = manager.validator.upstream_calls

    for _ in range(3):
        replay = manager.open(copied.value)
        assert replay.user() is None and not replay.verified
        result = replay.finalize()
        # The replayed cookie is deleted, and never renewed although it is "due".
        assert result.cookie is not None and result.cookie.is_delete
    assert manager.validator.upstream_calls == calls


def test_clearing_the_auth_store_is_a_logout_too(pocketbase_url: str, user: TestUser) -> None:
    manager = SessionManager(Settings.from_mapping({"URL": pocketbase_url}), secret_key=SECRET)
    cookie = cookie_for(manager, user.token, user.record)
    session = manager.open(cookie)
    session.client().auth_store.clear()
    assert session.finalize().cookie.is_delete  # type: ignore[union-attr]
    assert manager.open(cookie).user() is None


def test_a_logout_holds_through_an_outage(pocketbase_url: str, user: TestUser) -> None:
    store = MemoryStore()
    live = SessionManager(
        Settings.from_mapping({"URL": pocketbase_url}), secret_key=SECRET, store=store
    )
    cookie = cookie_for(live, user.token, user.record)
    assert live.open(cookie).user() is not None
    session = live.open(cookie)
    session.logout()
    session.finalize()

    down = SessionManager(
        Settings.from_mapping({"URL": dead_url()}), secret_key=SECRET, store=store
    )
    assert down.open(cookie).user() is None
    assert down.validator.upstream_calls == 0


def test_a_signed_cookie_seen_by_another_worker_is_kept_through_an_outage(
    user: TestUser,
) -> None:
    # pb-ssr signs only what PocketBase returned, so its own signature is evidence of a
    # confirmation: a worker that never saw this user keeps them through an outage.
    down = SessionManager(Settings.from_mapping({"URL": dead_url()}), secret_key=SECRET)
    cookie = cookie_for(down, user.token, user.record)
    session = down.open(cookie)
    current = session.user()
    assert current is not None and current["id"] == user.id and not session.verified
    assert session.finalize().cookie is None
    # A signed cookie whose record names someone else than its token: only the claims.
    mixed = cookie_for(down, user.token, {**user.record, "id": "someoneelse001"})
    kept = down.open(mixed).user()
    assert kept is not None and kept["id"] == user.id and "email" not in kept


def test_the_deny_list_is_keyed_by_hash_and_bounded_by_the_tokens_life(
    pocketbase_url: str, user: TestUser
) -> None:
    store = MemoryStore()
    manager = SessionManager(
        Settings.from_mapping({"URL": pocketbase_url}), secret_key=SECRET, store=store
    )
    session = manager.open(cookie_for(manager, user.token, user.record))
    session.logout()
    session.finalize()
    ((key, (mark, expires)),) = store._durable.items()
    assert token_key(user.token).hex() in key and user.token not in repr(mark)
    claims = read_auth_token(user.token)
    assert claims is not None and claims.exp is not None
    assert expires - store._timer() == pytest.approx(claims.exp - time.time(), abs=5)


@pytest.mark.anyio
async def test_afinalize_writes_the_deny_list_without_blocking(
    pocketbase_url: str, redis_url: str, user: TestUser
) -> None:
    settings_ = Settings.from_mapping({"URL": pocketbase_url, "STORE": redis_url})
    a, b = (SessionManager(settings_, secret_key=SECRET) for _ in range(2))
    cookie = cookie_for(a, user.token, user.record)
    session = a.open(cookie)
    assert await session.auser() is not None
    session.logout()
    result = await session.afinalize()
    assert result.cookie is not None and result.cookie.is_delete
    assert await b.open(cookie).auser() is None
    assert b.validator.upstream_calls == 0


@pytest.mark.anyio
async def test_a_sync_read_on_the_loop_never_touches_a_shared_store(
    pocketbase_url: str, user: TestUser
) -> None:
    class Exploding(MemoryStore):
        def get_many(self, keys: Any) -> Any:
            raise AssertionError("sync store I/O on the event loop")

    from pb_ssr import BlockingCallError, LayeredStore

    store = LayeredStore(Exploding(), local=MemoryStore())
    manager = SessionManager(
        Settings.from_mapping({"URL": pocketbase_url}), secret_key=SECRET, store=store
    )
    cookie = cookie_for(manager, user.token, user.record)
    with pytest.raises(BlockingCallError, match="await"):
        manager.open(cookie).user()


def test_no_repr_shows_the_token(pocketbase_url: str, user: TestUser) -> None:
    manager = SessionManager(Settings.from_mapping({"URL": pocketbase_url}), secret_key=SECRET)
    session = manager.open(cookie_for(manager, user.token, user.record))
    pending = session._begin()
    session.user()
    shown = repr(pending) + repr(session) + repr(manager) + repr(manager.validator)
    for part in (user.token, *user.token.split(".")[1:]):
        assert part not in shown
