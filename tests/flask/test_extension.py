"""The Flask extension against a real PocketBase: setup, cookies, caching, outages, threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

import pb_ssr._hints
from pb_ssr import ConfigurationError, PocketBase
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_flask import (
    PocketBaseSSR,
    PocketBaseState,
    current_user,
    get_session,
    pb,
    superuser_required,
)
from pb_ssr_flask.testing import PocketBaseTestClient, login, logout

from .conftest import SECRET, auth_cookie, csrf_of, form_login, make_app

# -- setup -----------------------------------------------------------------------------


def test_asgiref_is_installed_for_async_views() -> None:
    # Flask runs `async def` views only with flask[async]; the dev extra must bring it.
    import asgiref

    assert asgiref.__version__


@pytest.mark.parametrize("factory", [False, True], ids=["direct", "factory"])
def test_both_setup_styles_work(
    pocketbase_server: PocketBaseServer, user: TestUser, factory: bool
) -> None:
    app = make_app(pocketbase_server.url, factory=factory)
    state = app.extensions["pocketbase"]
    assert isinstance(state, PocketBaseState)
    assert pocketbase_server.url == state.settings.URL
    assert state.options["LOGIN_VIEW"] == "pb_auth.login"
    client = app.test_client()
    login(client, user)
    assert client.get("/whoami").get_data(as_text=True) == f"user:{user.email}"


def test_init_app_twice_is_an_error(pocketbase_server: PocketBaseServer) -> None:
    app = make_app(pocketbase_server.url, blueprint=False)
    with pytest.raises(RuntimeError, match="already registered"):
        PocketBaseSSR(app)


def test_a_missing_url_names_the_key() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET
    with pytest.raises(ConfigurationError, match="POCKETBASE_URL"):
        PocketBaseSSR(app)


def test_a_missing_secret_key_is_an_error(pocketbase_server: PocketBaseServer) -> None:
    app = Flask(__name__)
    app.config["POCKETBASE_URL"] = pocketbase_server.url
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        PocketBaseSSR(app)


def test_an_unknown_setting_names_the_key(pocketbase_server: PocketBaseServer) -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET, POCKETBASE_URL=pocketbase_server.url, POCKETBASE_COKIE_NAME="x"
    )
    with pytest.raises(ConfigurationError, match="POCKETBASE_COKIE_NAME"):
        PocketBaseSSR(app)


# -- per request -------------------------------------------------------------------------


def test_anonymous_user_is_falsy_and_unauthenticated(app: Flask) -> None:
    response = app.test_client().get("/whoami")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "anonymous authenticated=False"
    assert auth_cookie(response) is None
    # The page depended on who is signed in (nobody): shared caches must not mix it up.
    assert "Cookie" in response.vary
    assert response.cache_control.private


def test_login_writes_a_hardened_cookie(app: Flask, user: TestUser) -> None:
    @app.post("/api-login")
    def api_login() -> str:
        get_session().client().collection("users").auth_with_password(user.email, user.password)
        return "ok"

    client = app.test_client()
    response = client.post("/api-login")
    assert response.status_code == 200
    header = auth_cookie(response)
    assert header is not None
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "secure", "path", "max-age"} <= attributes
    assert "SameSite=Lax" in header and "Path=/" in header
    assert "Cookie" in response.vary
    assert response.cache_control.private and response.cache_control.no_store
    assert client.get("/whoami").get_data(as_text=True) == f"user:{user.email}"


def test_a_view_that_never_touches_pb_sets_no_cookie_and_no_vary(
    app: Flask, user: TestUser
) -> None:
    client = app.test_client()
    for _ in range(2):
        response = client.get("/")
        assert response.get_data(as_text=True) == "home"
        assert response.headers.getlist("Set-Cookie") == []
        assert "Vary" not in response.headers
        login(client, user)  # the second round carries a valid cookie


def test_a_bad_cookie_is_anonymous_and_deleted(app: Flask) -> None:
    client = app.test_client()
    client.set_cookie("pb_auth", "not-a-signed-value")
    response = client.get("/whoami")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "anonymous authenticated=False"
    header = auth_cookie(response)
    assert header is not None and "Max-Age=0" in header
    assert client.get_cookie("pb_auth") is None


def test_a_cookie_signed_with_another_key_is_anonymous(
    pocketbase_server: PocketBaseServer, user: TestUser
) -> None:
    other = make_app(pocketbase_server.url, SECRET_KEY="another-secret")
    client = other.test_client()
    login(client, user)
    app = make_app(pocketbase_server.url)
    client.application = app
    assert client.get("/whoami").get_data(as_text=True).startswith("anonymous")


def test_secret_key_fallbacks_keep_users_signed_in(
    pocketbase_server: PocketBaseServer, user: TestUser
) -> None:
    old = make_app(pocketbase_server.url, SECRET_KEY="old-secret")
    client = old.test_client()
    login(client, user)
    client.application = make_app(
        pocketbase_server.url, SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]
    )
    assert client.get("/whoami").get_data(as_text=True) == f"user:{user.email}"


def test_async_view_uses_apb(app: Flask, user: TestUser) -> None:
    client = app.test_client()
    assert client.get("/async-whoami").get_data(as_text=True) == "anonymous"
    login(client, user)
    response = client.get("/async-whoami")
    assert response.get_data(as_text=True) == f"user:{user.email}"
    assert "Cookie" in response.vary


def test_g_pb_is_the_request_client(app: Flask, user: TestUser) -> None:
    client = app.test_client()
    login(client, user)
    # /notes asserts g.pb and pb share the auth store, then lists as the user.
    response = client.get("/notes")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == f"{user.id}|"


def test_the_browsers_user_agent_goes_to_pocketbase(
    pocketbase_server: PocketBaseServer,
) -> None:
    agent = "Mozilla/5.0 (Flask test)"
    for forward, expected in ((True, agent), (False, "None")):
        app = make_app(pocketbase_server.url, POCKETBASE_FORWARD_USER_AGENT=forward)

        @app.get("/agent")
        def show_agent() -> str:
            return str(pb.headers.get("User-Agent"))

        answer = app.test_client().get("/agent", headers={"User-Agent": agent})
        assert answer.get_data(as_text=True) == expected


# -- login_required -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/private", "/private-async"])
def test_login_required_redirects_anonymous_users(app: Flask, path: str) -> None:
    response = app.test_client().get(f"{path}?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/auth/login?next={path}?page%3D2"


@pytest.mark.parametrize("accept", ["*/*", "text/html,application/xhtml+xml,*/*;q=0.8"])
def test_login_required_redirects_clients_that_do_not_prefer_json(app: Flask, accept: str) -> None:
    response = app.test_client().get("/private", headers={"Accept": accept})
    assert response.status_code == 302


@pytest.mark.parametrize("path", ["/private", "/private-async"])
def test_login_required_answers_json_401(app: Flask, path: str) -> None:
    response = app.test_client().get(path, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.is_json and response.json == {
        "status": 401,
        "message": "Sign in to continue.",
        "data": {},
    }


@pytest.mark.parametrize("path", ["/private", "/private-async"])
def test_login_required_lets_users_through(app: Flask, user: TestUser, path: str) -> None:
    client = app.test_client()
    login(client, user)
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == f"{path.lstrip('/')}:{user.email}"


def test_login_required_then_form_login_returns_to_the_page(app: Flask, user: TestUser) -> None:
    client = app.test_client()
    location = client.get("/private").headers["Location"]
    assert location == "/auth/login?next=/private"
    response = form_login(client, user.email, user.password, next_url="/private")
    assert response.headers["Location"] == "/private"
    assert client.get("/private").get_data(as_text=True) == f"private:{user.email}"


# -- the testing helpers -------------------------------------------------------------------


def test_test_client_class_takes_a_user(app: Flask, user: TestUser) -> None:
    app.test_client_class = PocketBaseTestClient
    client = app.test_client(user=user)
    assert client.get("/whoami").get_data(as_text=True) == f"user:{user.email}"
    logout(client)
    assert client.get("/whoami").get_data(as_text=True).startswith("anonymous")
    assert app.test_client().get("/whoami").get_data(as_text=True).startswith("anonymous")


def test_login_helper_takes_a_token(app: Flask, user: TestUser) -> None:
    client = app.test_client()
    login(client, token=user.token)
    assert client.get("/whoami").get_data(as_text=True) == f"user:{user.email}"
    with pytest.raises(TypeError):
        login(client)


# -- PocketBase down --------------------------------------------------------------------------


@pytest.fixture
def down_server(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> tuple[PocketBaseServer, TestUser]:
    server = pocketbase_server_factory()
    return server, server.create_user(name="Grace")


def test_backend_down_with_raise_is_a_503_and_keeps_the_cookie(
    down_server: tuple[PocketBaseServer, TestUser],
) -> None:
    server, user = down_server
    app = make_app(server.url, POCKETBASE_ON_BACKEND_ERROR="raise", POCKETBASE_TIMEOUT=2)
    client = app.test_client()
    login(client, user)
    server.stop()
    response = client.get("/whoami")
    assert response.status_code == 503
    assert "Service unavailable" in response.get_data(as_text=True)
    assert auth_cookie(response) is None
    assert client.get_cookie("pb_auth") is not None
    # PocketBase is back (and a fresh app forgets the 5 s backend-error memo):
    # the kept cookie still signs the user in.
    server.start()
    client.application = make_app(server.url, POCKETBASE_ON_BACKEND_ERROR="raise")
    assert client.get("/whoami").get_data(as_text=True) == f"user:{user.email}"


def test_backend_down_with_keep_renders_for_the_user(
    down_server: tuple[PocketBaseServer, TestUser],
) -> None:
    server, user = down_server
    app = make_app(server.url, POCKETBASE_ON_BACKEND_ERROR="keep", POCKETBASE_TIMEOUT=2)
    client = app.test_client()
    login(client, user)
    server.stop()
    response = client.get("/whoami")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == f"user:{user.email}"
    assert auth_cookie(response) is None


def test_login_while_backend_is_down_says_so(
    down_server: tuple[PocketBaseServer, TestUser],
) -> None:
    server, user = down_server
    app = make_app(server.url, POCKETBASE_TIMEOUT=2)
    client = app.test_client()
    server.stop()
    response = form_login(client, user.email, user.password)
    assert response.status_code == 503
    assert "unavailable right now" in response.get_data(as_text=True)


# -- many users, many threads -------------------------------------------------------------


@pytest.fixture
def threaded_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def test_threaded_server_never_leaks_a_user(
    app: Flask, threaded_server: str, users_with_private_notes: list[TestUser]
) -> None:
    users = users_with_private_notes[:20]
    codec = app.extensions["pocketbase"].manager.codec
    cookies = {u.id: codec.dump(u.token, u.record, max_age=3600).value for u in users}
    jobs = [u for _ in range(10) for u in users]

    with httpx.Client(base_url=threaded_server, trust_env=False, timeout=30) as http:

        def visit(u: TestUser) -> tuple[str, str]:
            response = http.get("/notes", headers={"Cookie": f"pb_auth={cookies[u.id]}"})
            assert response.status_code == 200, response.text
            return u.id, response.text

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(visit, jobs))

    assert len(results) == 200
    for user_id, body in results:
        assert body == f"{user_id}|note of {user_id}"


def test_async_views_reuse_the_process_pool(pocketbase_server: PocketBaseServer) -> None:
    # Flask runs each async view on a fresh event loop: a per-loop pool connected anew
    # every request. Async clients now send through the process's sync pool.
    from pb_ssr.testing import FaultProxy
    from pb_ssr_flask import apb

    with FaultProxy(pocketbase_server.url) as proxy:
        app = make_app(proxy.url)

        @app.get("/health-async")
        async def health_async() -> dict[str, object]:
            client = await apb()
            return dict(await client.health.check())

        client = app.test_client()
        for _ in range(10):
            assert client.get("/health-async").json["code"] == 200  # type: ignore[index]
        assert proxy.connections <= 2, f"{proxy.connections} connections for 10 requests"


LAN = "http://192.168.1.20:5000"


def _lan_login(client: FlaskClient, user: TestUser) -> TestResponse:
    page = client.get("/auth/login", base_url=LAN)
    data = {"csrf_token": csrf_of(page), "email": user.email, "password": user.password}
    return client.post("/auth/login", data=data, base_url=LAN)


def test_a_secure_cookie_over_plain_http_off_loopback_is_logged_once(
    app: Flask, user: TestUser, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pb_ssr._hints, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="pb_ssr"):
        assert auth_cookie(_lan_login(app.test_client(), user)) is not None
        _lan_login(app.test_client(), user)
    hints = [r for r in caplog.records if "browser drops it" in r.getMessage()]
    assert len(hints) == 1
    assert "POCKETBASE_COOKIE_SECURE" in hints[0].getMessage()


def test_no_warning_on_localhost_or_with_cookie_secure_off(
    pocketbase_server: PocketBaseServer,
    user: TestUser,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pb_ssr._hints, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="pb_ssr"):
        form_login(make_app(pocketbase_server.url).test_client(), user.email, user.password)
        insecure = make_app(pocketbase_server.url, POCKETBASE_COOKIE_SECURE=False)
        _lan_login(insecure.test_client(), user)
    assert not [r for r in caplog.records if "browser drops it" in r.getMessage()]


def test_the_login_page_shows_the_hint_in_debug_only(app: Flask) -> None:
    client = app.test_client()
    assert 'data-testid="cookie-hint"' not in client.get("/auth/login", base_url=LAN).text
    app.debug = True
    assert "COOKIE_SECURE" in client.get("/auth/login", base_url=LAN).text
    assert 'data-testid="cookie-hint"' not in client.get("/auth/login").text


def test_async_views_still_run_gathered_calls_concurrently(
    pocketbase_server: PocketBaseServer,
) -> None:
    import asyncio
    import time

    from pb_ssr.testing import FaultProxy
    from pb_ssr_flask import apb

    with FaultProxy(pocketbase_server.url) as proxy:
        proxy.latency = 0.3
        app = make_app(proxy.url)

        @app.get("/gathered")
        async def gathered() -> dict[str, object]:
            client = await apb()
            answers = await asyncio.gather(*(client.health.check() for _ in range(4)))
            return {"codes": [a["code"] for a in answers]}

        started = time.monotonic()
        assert app.test_client().get("/gathered").json == {"codes": [200] * 4}
        # Four calls of 0.3 s each, at once: not one after the other (1.2 s).
        assert time.monotonic() - started < 1.0


# -- superuser_required -----------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_superuser_required(
    pocketbase_server: PocketBaseServer, user: TestUser, is_async: bool
) -> None:
    app = make_app(pocketbase_server.url)
    if is_async:

        @app.get("/admin-only")
        @superuser_required
        async def admin_only() -> str:
            return f"admin:{(await get_session().auser() or {}).get('email')}"

    else:

        @app.get("/admin-only")
        @superuser_required
        def admin_only() -> str:
            return f"admin:{current_user.get('email')}"

    client = app.test_client()
    anonymous = client.get("/admin-only")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/auth/login?next=/admin-only"
    login(client, user)
    assert client.get("/admin-only").status_code == 403
    # A record that claims _superusers is not believed: PocketBase's answer decides.
    login(client, token=user.token, record={**user.record, "collectionName": "_superusers"})
    assert client.get("/admin-only").status_code == 403
    admin = PocketBase(pocketbase_server.url)
    admin.collection("_superusers").auth_with_password(
        pocketbase_server.superuser_email, pocketbase_server.superuser_password
    )
    store = admin.auth_store
    login(client, token=store.token, record=store.record)
    allowed = client.get("/admin-only")
    assert allowed.status_code == 200, allowed.text
    assert allowed.text == f"admin:{pocketbase_server.superuser_email}"
