"""PocketBaseMiddleware against a real PocketBase: sync and async, cookies, caching, outages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from django.http import HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.utils.functional import SimpleLazyObject

from pb_ssr import PocketBase, PocketBaseUnavailable, RequestSession
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_django import AnonymousUser, AuthenticatedUser, PocketBaseMiddleware, get_session
from pb_ssr_django.conf import get_config
from pb_ssr_django.test import login, logout, request_with_user

from .conftest import Configure, auth_cookie, text

# -- per request (sync) --------------------------------------------------------------


def test_anonymous_user_is_falsy_and_the_page_is_private(client: Client) -> None:
    response = client.get("/whoami/")
    assert response.status_code == 200
    assert text(response) == "anonymous authenticated=False"
    assert auth_cookie(response) is None
    # The page depended on who is signed in (nobody): shared caches must not mix it up.
    assert response["Vary"] == "Cookie"
    assert "private" in response["Cache-Control"]
    assert "no-store" not in response["Cache-Control"]


def test_a_view_that_never_touches_pb_sets_no_cookie_and_no_vary(
    client: Client, user: TestUser
) -> None:
    for _ in range(2):
        response = client.get("/")
        assert text(response) == "home"
        assert not response.cookies
        assert not response.has_header("Vary")
        assert not response.has_header("Cache-Control")
        login(client, user)  # the second round carries a valid cookie


def test_login_writes_a_hardened_cookie(
    client: Client, user: TestUser, user_token_lifetime: int
) -> None:
    response = client.post("/api/login/", {"email": user.email, "password": user.password})
    assert response.status_code == 200
    morsel = auth_cookie(response)
    assert morsel is not None and morsel.value
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""
    assert user_token_lifetime - 86400 < int(morsel["max-age"]) <= user_token_lifetime
    assert morsel["expires"]
    assert response["Vary"] == "Cookie"
    cache_control = {v.strip() for v in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
    assert text(client.get("/whoami/")) == f"user:{user.email}"


def test_every_cookie_setting_reaches_the_cookie(
    client: Client, user: TestUser, configure: Configure
) -> None:
    configure(
        COOKIE_NAME="site_auth",
        COOKIE_SECURE=False,
        COOKIE_SAMESITE="Strict",
        COOKIE_DOMAIN="testserver.local",
        COOKIE_PATH="/app",
    )
    response = client.post("/api/login/", {"email": user.email, "password": user.password})
    morsel = auth_cookie(response, "site_auth")
    assert morsel is not None and morsel.value
    assert morsel["secure"] == "" and morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["domain"] == "testserver.local"
    assert morsel["path"] == "/app"
    assert auth_cookie(response) is None

    logged_out = client.post("/api/logout/")
    deleted = auth_cookie(logged_out, "site_auth")
    assert deleted is not None and deleted.value == ""
    assert deleted["max-age"] == 0
    assert deleted["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    # A deletion carries the same attributes, or browsers keep the original cookie.
    assert deleted["domain"] == "testserver.local" and deleted["path"] == "/app"
    assert deleted["samesite"] == "Strict" and deleted["httponly"] is True
    assert text(client.get("/whoami/")).startswith("anonymous")


def test_js_sdk_format_writes_expires_from_the_token(
    client: Client, user: TestUser, configure: Configure
) -> None:
    configure(COOKIE_FORMAT="js-sdk", ON_BACKEND_ERROR="anonymous")
    response = client.post("/api/login/", {"email": user.email, "password": user.password})
    morsel = auth_cookie(response)
    assert morsel is not None and morsel.value.startswith("%7B%22token%22")
    assert morsel["expires"].endswith("GMT")
    assert text(client.get("/whoami/")) == f"user:{user.email}"


@pytest.mark.parametrize(
    "value",
    [
        "not-a-signed-value",
        "eyJ0b2tlbiI6IngifQ.forged-signature",
        "%7B%22token%22%3A%22x%22%7D",  # an unsigned js-sdk cookie
        "x" * 40000,
        "\u00e9\u00e8\u00ea",
    ],
    ids=["garbage", "forged", "unsigned", "huge", "non-ascii"],
)
def test_a_bad_cookie_is_anonymous_and_deleted(client: Client, value: str) -> None:
    client.cookies["pb_auth"] = value
    response = client.get("/whoami/")
    assert response.status_code == 200
    assert text(response) == "anonymous authenticated=False"
    morsel = auth_cookie(response)
    assert morsel is not None and morsel.value == "" and morsel["max-age"] == 0
    assert client.cookies["pb_auth"].value == ""
    assert text(client.get("/whoami/")).startswith("anonymous")


def test_a_bad_cookie_is_deleted_even_if_the_view_never_asks(client: Client) -> None:
    client.cookies["pb_auth"] = "garbage"
    response = client.get("/")
    assert text(response) == "home"
    morsel = auth_cookie(response)
    assert morsel is not None and morsel["max-age"] == 0


def test_a_cookie_signed_with_another_key_is_anonymous(client: Client, user: TestUser) -> None:
    with override_settings(SECRET_KEY="another-secret"):
        login(client, user)
    assert text(client.get("/whoami/")).startswith("anonymous")


def test_secret_key_fallbacks_keep_users_signed_in(client: Client, user: TestUser) -> None:
    with override_settings(SECRET_KEY="old-secret"):
        login(client, user)
    with override_settings(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]):
        assert text(client.get("/whoami/")) == f"user:{user.email}"


def test_request_attributes(rf: RequestFactory, user: TestUser) -> None:
    seen: dict[str, Any] = {}

    def view(request: Any) -> HttpResponse:
        seen["lazy"] = isinstance(request.pb, SimpleLazyObject)
        seen["pb"] = isinstance(request.pb, PocketBase)
        seen["user"] = request.pb_user
        seen["session"] = request.pb_session
        seen["same_store"] = request.pb.auth_store is request.pb_session.client().auth_store
        return HttpResponse("ok")

    request = request_with_user(rf.get("/"), user)
    response = PocketBaseMiddleware(view)(request)
    assert response.status_code == 200
    assert seen["lazy"] and seen["pb"] and seen["same_store"]
    assert isinstance(seen["user"], AuthenticatedUser)
    assert seen["user"].is_authenticated and not seen["user"].is_anonymous
    assert seen["user"]["email"] == user.email and seen["user"].id == user.id
    assert isinstance(seen["session"], RequestSession) and seen["session"].verified
    assert get_session(request) is seen["session"]


def test_nothing_is_read_until_a_view_asks(rf: RequestFactory, user: TestUser) -> None:
    def view(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    request = request_with_user(rf.get("/"), user)
    response = PocketBaseMiddleware(view)(request)
    assert not request.pb_session.loaded
    assert not response.cookies and not response.has_header("Vary")


def test_client_ip_goes_through_trusted_proxies_only(
    rf: RequestFactory, configure: Configure
) -> None:
    def view(request: Any) -> HttpResponse:
        return HttpResponse(request.pb_session.client_ip)

    spoofed = rf.get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert text(PocketBaseMiddleware(view)(spoofed)) == "198.51.100.9"
    configure(TRUSTED_PROXIES=["10.0.0.0/8"])
    proxied = rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.5")
    assert text(PocketBaseMiddleware(view)(proxied)) == "203.0.113.7"


def test_the_browsers_user_agent_goes_to_pocketbase(
    rf: RequestFactory, configure: Configure
) -> None:
    def view(request: Any) -> HttpResponse:
        return HttpResponse(str(request.pb.headers.get("User-Agent")))

    agent = "Mozilla/5.0 (Django test)"
    assert text(PocketBaseMiddleware(view)(rf.get("/", HTTP_USER_AGENT=agent))) == agent
    assert text(PocketBaseMiddleware(view)(rf.get("/"))) == "None"
    configure(FORWARD_USER_AGENT=False)
    assert text(PocketBaseMiddleware(view)(rf.get("/", HTTP_USER_AGENT=agent))) == "None"


def test_anonymous_user_object() -> None:
    anon = AnonymousUser()
    assert not anon and not anon.is_authenticated and anon.is_anonymous
    assert anon.get("email", "x") == "x" and anon.id == "" and not anon.is_superuser
    assert anon == AnonymousUser() and repr(anon) == "<AnonymousUser>"


def test_get_session_without_the_middleware_says_so(rf: RequestFactory) -> None:
    with pytest.raises(RuntimeError, match="PocketBaseMiddleware"):
        get_session(rf.get("/"))


def test_the_views_list_notes_as_the_user(
    client: Client, users_with_private_notes: list[TestUser]
) -> None:
    for someone in users_with_private_notes[:3]:
        login(client, someone)
        assert text(client.get("/notes/")) == f"{someone.id}|note of {someone.id}"
    logout(client)
    assert text(client.get("/notes/")) == "-|"


# -- templates ---------------------------------------------------------------------------


def test_context_processor_and_file_url_tags(client: Client, user: TestUser) -> None:
    assert text(client.get("/template/")).strip() == "hello stranger|"
    login(client, user)
    body = text(client.get("/template/")).strip()
    base = f"{get_config().settings.URL}/api/files/{user.record['collectionId']}/{user.id}/a.png"
    assert body == f"hello {user.email}|{base}|{base}?thumb=10x10"


def test_file_url_uses_public_url(client: Client, user: TestUser, configure: Configure) -> None:
    configure(PUBLIC_URL="https://files.example.test")
    login(client, user)
    body = text(client.get("/template/")).strip()
    assert f"|https://files.example.test/api/files/_pb_users_auth_/{user.id}/a.png|" in body


# -- async ----------------------------------------------------------------------------------


def test_the_middleware_is_sync_and_async_capable() -> None:
    assert PocketBaseMiddleware.sync_capable and PocketBaseMiddleware.async_capable

    async def aview(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    assert iscoroutinefunction(PocketBaseMiddleware(aview))
    assert not iscoroutinefunction(PocketBaseMiddleware(lambda r: HttpResponse()))


@pytest.mark.anyio
async def test_async_view_uses_apb(async_client: AsyncClient, user: TestUser) -> None:
    response = await async_client.get("/async/whoami/")
    assert text(response) == "anonymous"
    assert response["Vary"] == "Cookie"
    login(async_client, user)
    response = await async_client.get("/async/whoami/")
    assert text(response) == f"user:{user.email}"
    assert "private" in response["Cache-Control"]


@pytest.mark.anyio
async def test_async_login_and_bad_cookie(async_client: AsyncClient, user: TestUser) -> None:
    response = await async_client.post(
        "/api/login/", {"email": user.email, "password": user.password}
    )
    morsel = auth_cookie(response)
    assert morsel is not None and morsel.value and morsel["httponly"] is True
    assert text(await async_client.get("/async/whoami/")) == f"user:{user.email}"
    async_client.cookies["pb_auth"] = "garbage"
    response = await async_client.get("/async/whoami/")
    assert text(response) == "anonymous"
    deleted = auth_cookie(response)
    assert deleted is not None and deleted["max-age"] == 0


@pytest.mark.anyio
async def test_async_views_list_notes_as_the_user(
    async_client: AsyncClient, users_with_private_notes: list[TestUser]
) -> None:
    someone = users_with_private_notes[0]
    login(async_client, someone)
    assert text(await async_client.get("/async/notes/")) == f"note of {someone.id}"


@pytest.mark.anyio
async def test_direct_async_middleware_call(rf: RequestFactory, user: TestUser) -> None:
    async def aview(request: Any) -> HttpResponse:
        first = await request.apb_user()
        assert first is await request.apb_user()  # cached on the request
        client = await request.apb()
        return HttpResponse(f"{first['email']}|{client.auth_store.record['id']}")

    middleware = PocketBaseMiddleware(aview)
    response = await middleware(request_with_user(rf.get("/"), user))
    assert text(response) == f"{user.email}|{user.id}"
    assert response["Vary"] == "Cookie"


@pytest.mark.anyio
async def test_concurrent_async_requests_keep_users_apart(
    users_with_private_notes: list[TestUser],
) -> None:
    users = users_with_private_notes[:10]

    async def visit(someone: TestUser) -> tuple[str, str]:
        client = AsyncClient()
        login(client, someone)
        response = await client.get("/async/notes/")
        return someone.id, text(response)

    results = await asyncio.gather(*(visit(u) for u in users * 3))
    for user_id, body in results:
        assert body == f"note of {user_id}"


# -- the test helpers --------------------------------------------------------------------


def test_login_helper_takes_a_token_or_an_auth_response(client: Client, user: TestUser) -> None:
    login(client, token=user.token)
    assert text(client.get("/whoami/")) == f"user:{user.email}"
    logout(client)
    assert text(client.get("/whoami/")).startswith("anonymous")
    auth = PocketBase(get_config().settings.URL).collection("users")
    response = auth.auth_with_password(user.email, user.password)
    login(client, response)
    assert text(client.get("/whoami/")) == f"user:{user.email}"
    with pytest.raises(TypeError):
        login(client)


def test_login_helper_cookie_matches_the_middleware(client: Client, user: TestUser) -> None:
    login(client, user)
    morsel = client.cookies["pb_auth"]
    assert morsel["httponly"] is True and morsel["secure"] is True
    assert morsel["samesite"] == "Lax" and morsel["path"] == "/"


# -- PocketBase down ----------------------------------------------------------------------


@pytest.fixture
def down_server(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> tuple[PocketBaseServer, TestUser]:
    server = pocketbase_server_factory()
    return server, server.create_user(name="Grace")


def test_backend_down_with_raise_is_a_503_and_keeps_the_cookie(
    client: Client, configure: Configure, down_server: tuple[PocketBaseServer, TestUser]
) -> None:
    server, user = down_server
    configure(server.url, ON_BACKEND_ERROR="raise", TIMEOUT=2)
    login(client, user)
    server.stop()
    response = client.get("/whoami/")
    assert response.status_code == 503
    assert "Service unavailable" in text(response)
    assert auth_cookie(response) is None
    assert client.cookies["pb_auth"].value
    # A template asking for the user (context processor) gets the same 503.
    assert client.get("/template/").status_code == 503
    # login_required asks too.
    assert client.get("/private/").status_code == 503
    # PocketBase is back (and a fresh configuration forgets the backend-error memo):
    # the kept cookie still signs the user in.
    server.start()
    configure(server.url, ON_BACKEND_ERROR="raise")
    assert text(client.get("/whoami/")) == f"user:{user.email}"


@pytest.mark.anyio
async def test_backend_down_with_raise_is_a_503_in_async_views(
    async_client: AsyncClient,
    configure: Configure,
    down_server: tuple[PocketBaseServer, TestUser],
) -> None:
    server, user = down_server
    configure(server.url, ON_BACKEND_ERROR="raise", TIMEOUT=2)
    login(async_client, user)
    server.stop()
    response = await async_client.get("/async/whoami/")
    assert response.status_code == 503
    assert "Service unavailable" in text(response)
    assert auth_cookie(response) is None
    response = await async_client.get("/async/private/")
    assert response.status_code == 503


def test_backend_down_with_keep_renders_for_the_user(
    client: Client, configure: Configure, down_server: tuple[PocketBaseServer, TestUser]
) -> None:
    server, user = down_server
    configure(server.url, ON_BACKEND_ERROR="keep", TIMEOUT=2)
    login(client, user)
    server.stop()
    response = client.get("/whoami/")
    assert response.status_code == 200
    assert text(response) == f"user:{user.email}"
    assert auth_cookie(response) is None
    page = client.get("/template/")
    assert page.status_code == 200 and f"hello {user.email}|" in text(page)


def test_process_exception_leaves_other_errors_alone(rf: RequestFactory) -> None:
    middleware = PocketBaseMiddleware(lambda r: HttpResponse())
    request = rf.get("/")
    assert middleware.process_exception(request, ValueError("boom")) is None
    response = middleware.process_exception(request, PocketBaseUnavailable(status=0))
    assert response.status_code == 503
