"""The one setup path (``PocketBaseConfig``), the user types, ``safe_next`` and the
exception tree, against the real PocketBase where one is involved."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer

import pb_ssr
from pb_ssr import (
    AnonymousUser,
    AuthenticatedUser,
    BlockingCallError,
    ClientResponseError,
    ConfigurationError,
    CSRFTokens,
    PocketBaseConfig,
    PocketBaseSSRError,
    PocketBaseUnavailable,
    Record,
    ServiceClient,
    as_user,
    safe_next,
)
from pb_ssr.testing import PocketBaseServer, TestUser

SECRET = "s" * 40


@pytest.fixture
def user(pb_user_factory: Any) -> TestUser:
    created: TestUser = pb_user_factory()
    return created


def make(url: str, **raw: Any) -> PocketBaseConfig:
    return PocketBaseConfig.from_mapping(
        {"URL": url, **raw}, secret_key=SECRET, options={"REDIRECT_URL": "/"}
    )


# -- the exception tree ----------------------------------------------------------------


def test_every_error_is_a_pocketbase_ssr_error() -> None:
    assert issubclass(ConfigurationError, PocketBaseSSRError)
    assert issubclass(ConfigurationError, ValueError)  # what it was before
    assert issubclass(ClientResponseError, PocketBaseSSRError)
    assert issubclass(PocketBaseUnavailable, ClientResponseError)
    assert issubclass(BlockingCallError, PocketBaseSSRError)
    assert issubclass(BlockingCallError, RuntimeError)
    # The tree is drawn once, where the errors live, and names every one of them.
    doc = pb_ssr._errors.__doc__ or ""
    for error in ("PocketBaseSSRError", "ConfigurationError", "PocketBaseUnavailable"):
        assert error in doc


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda: PocketBaseConfig.from_mapping({}, secret_key=SECRET), "URL"),
        (
            lambda: PocketBaseConfig.from_mapping({"URL": "http://x", "NOPE": 1}, secret_key="k"),
            "NOPE",
        ),
        (lambda: PocketBaseConfig.from_mapping({"URL": "http://x"}, secret_key=None), "SECRET_KEY"),
        (lambda: make("http://x").service, "superuser"),
        (lambda: ServiceClient("http://x", token="not-a-token"), "SERVICE_TOKEN"),
    ],
)
def test_every_setup_mistake_is_a_configuration_error(build: Any, needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        build()


# -- the user types --------------------------------------------------------------------


def test_the_user_pair() -> None:
    anonymous = AnonymousUser()
    assert not anonymous and not anonymous.is_authenticated and anonymous.is_anonymous
    assert anonymous == AnonymousUser() and len({anonymous, AnonymousUser()}) == 1
    assert anonymous.get("email", "x") == "x" and not anonymous.is_superuser
    user = as_user(Record({"id": "u1", "collectionName": "users", "email": "a@b.test"}))
    assert isinstance(user, AuthenticatedUser) and user and user.is_authenticated
    assert not user.is_superuser and user == as_user(Record(dict(user)))
    admin = AuthenticatedUser({"id": "s1", "collectionName": "_superusers"})
    assert admin.is_superuser and admin != user
    assert isinstance(as_user(None), AnonymousUser)


# -- safe_next ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.test/x",
        "/\\evil.test",
        "https://evil.test/",
        "https://app.test@evil.test/",
        "http://app.test.evil.test/",
        "javascript:alert(1)",
        "/a\nb",
        "ftp://app.test/",
    ],
)
def test_safe_next_refuses_other_sites(target: Any) -> None:
    assert safe_next(target, host="app.test", default="/home") == "/home"


def test_safe_next_keeps_this_site() -> None:
    assert safe_next("/a?b=c") == "/a?b=c"
    assert safe_next("https://App.test/x", host="app.test") == "https://App.test/x"
    # Over https, an http URL of the same host would downgrade the visit.
    assert safe_next("http://app.test/x", host="app.test", https=True) == "/"
    # Without a host, only paths pass.
    assert safe_next("https://app.test/x") == "/"


# -- PocketBaseConfig ------------------------------------------------------------------------


def test_options_are_taken_out_and_defaulted(pocketbase_server: PocketBaseServer) -> None:
    config = PocketBaseConfig.from_mapping(
        {"URL": pocketbase_server.url, "LOGIN_VIEW": "auth.login"},
        secret_key=SECRET,
        options={"LOGIN_VIEW": "pb_auth.login", "OTHER": 1},
    )
    assert config.options == {"LOGIN_VIEW": "auth.login", "OTHER": 1}
    assert pocketbase_server.url == config.settings.URL
    assert "secret" not in repr(config).lower() and SECRET not in repr(config)


def test_open_forwards_the_address_only_from_a_trusted_proxy(
    pocketbase_server: PocketBaseServer, user: TestUser
) -> None:
    config = make(pocketbase_server.url, TRUSTED_PROXIES=["127.0.0.1/32"])
    cookie = config.login_cookie(user)
    session = config.open(cookie.value, remote_addr="127.0.0.1", forwarded_for="203.0.113.9")
    assert session.user() is not None and session.user()["email"] == user.email
    assert session.client().headers["X-Forwarded-For"] == "203.0.113.9"
    stranger = config.open(None, remote_addr="198.51.100.1", forwarded_for="203.0.113.9")
    assert stranger.client().headers["X-Forwarded-For"] == "198.51.100.1"


def test_the_service_client_is_built_once_under_a_lock(pocketbase_server: PocketBaseServer) -> None:
    config = make(
        pocketbase_server.url,
        SUPERUSER_EMAIL=pocketbase_server.superuser_email,
        SUPERUSER_PASSWORD=pocketbase_server.superuser_password,
    )
    seen: list[ServiceClient] = []
    threads = [threading.Thread(target=lambda: seen.append(config.service)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(s) for s in seen}) == 1
    assert config.service.collection("users").get_list(1, 1).total_items >= 0


def test_the_oauth2_cookie_round_trip(
    pocketbase_server: PocketBaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make(pocketbase_server.url)
    kept = {"state": "s1", "verifier": "v1", "provider": "oidc", "next": "/x"}
    cookie = config.oauth2_cookie(kept, path="/auth/oauth2/callback")
    assert cookie.httponly and cookie.secure and cookie.samesite == "Lax"
    assert cookie.max_age == 600 and cookie.path == "/auth/oauth2/callback"
    assert "v1" not in cookie.value.split(".")[-1]  # signed, and only readable by us
    assert config.read_oauth2_cookie(cookie.value) == kept
    assert config.read_oauth2_cookie(cookie.value[:-2] + "xx") is None
    assert config.read_oauth2_cookie(None) is None and config.read_oauth2_cookie("") is None
    other = PocketBaseConfig.from_mapping({"URL": pocketbase_server.url}, secret_key="t" * 40)
    assert other.read_oauth2_cookie(cookie.value) is None
    # A rotated key still reads the cookie of a flow under way.
    rotated = PocketBaseConfig.from_mapping(
        {"URL": pocketbase_server.url}, secret_key="t" * 40, secret_key_fallbacks=[SECRET]
    )
    assert rotated.read_oauth2_cookie(cookie.value) == kept
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 601)
    assert config.read_oauth2_cookie(cookie.value) is None
    monkeypatch.undo()
    deleted = config.oauth2_cookie(None, path="/cb")
    assert deleted.is_delete and deleted.httponly


def test_file_url(pocketbase_server: PocketBaseServer) -> None:
    config = make(pocketbase_server.url, PUBLIC_URL="https://files.example.test")
    record = {"id": "r1", "collectionId": "c1", "collectionName": "messages"}
    assert config.file_url(record, "") == "" and config.file_url(None, "a.png") == ""
    url = config.file_url(record, "a.png", thumb="10x10", token="ft")
    assert url.startswith("https://files.example.test/api/files/c1/r1/a.png?")
    assert "thumb=10x10" in url and "token=ft" in url


def test_report(
    pocketbase_server_factory: Any, pocketbase_server: PocketBaseServer, redis_url: str
) -> None:
    config = make(
        pocketbase_server.url,
        STORE=redis_url,
        SUPERUSER_EMAIL=pocketbase_server.superuser_email,
        SUPERUSER_PASSWORD=pocketbase_server.superuser_password,
    )
    found = {advice.code: advice.level for advice in config.report()}
    assert found == {
        "breaker": "ok",
        "store": "ok",
        "reachable": "ok",
        "version": "ok",
        "auth-collection": "ok",
        "ip-header-untrusted": "warn",  # the test server trusts no proxy header
        "rate-limits": "ok",
        "batch": "ok",
    }
    # Without the service client, PocketBase's own settings are skipped, not guessed.
    assert make(pocketbase_server.url).report()[-1].level == "skip"
    assert "ip-header-untrusted" not in {a.code for a in config.report(remote=False)}
    server = pocketbase_server_factory()
    down = make(server.url, STORE="redis://127.0.0.1:9/0", STORE_TIMEOUT=0.2, COOKIE_SECURE=False)
    server.stop()
    codes = [(advice.code, advice.level) for advice in down.report()]
    assert codes == [
        ("cookie-insecure", "warn"),
        ("breaker", "ok"),
        ("store-down", "warn"),
        ("unreachable", "fail"),
    ]


def test_csrf_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = CSRFTokens(SECRET)
    nonce = CSRFTokens.new_nonce()
    token = tokens.token(nonce)
    assert tokens.problem(token, nonce) is None
    assert tokens.problem(token, CSRFTokens.new_nonce()) == (
        "The CSRF token does not belong to this session."
    )
    assert tokens.problem("", nonce) == "The CSRF token is missing."
    assert tokens.problem(token, None) == "The CSRF session token is missing."
    assert tokens.problem(token[:-2] + "xx", nonce) == "The CSRF token is invalid."
    # Signed with the same key for another purpose: never a CSRF token.
    other = URLSafeTimedSerializer(SECRET, salt="pb_ssr.oauth2-state").dumps(nonce)
    assert tokens.problem(other, nonce) == "The CSRF token is invalid."
    assert CSRFTokens("new-key", [SECRET]).problem(token, nonce) is None
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 8 * 3600 + 1)
    assert tokens.problem(token, nonce) == "The CSRF token has expired."
    monkeypatch.undo()
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        CSRFTokens(None)
