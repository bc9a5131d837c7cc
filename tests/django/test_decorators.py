"""login_required and superuser_required, sync and async."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.test import AsyncClient, Client, RequestFactory

from pb_ssr import PocketBase
from pb_ssr import is_local_path as is_safe_path
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_django import PocketBaseMiddleware, login_required
from pb_ssr_django.decorators import wants_json
from pb_ssr_django.test import login

from .conftest import Configure, form_login, text

UNAUTHORIZED = {"status": 401, "message": "Sign in to continue.", "data": {}}


@pytest.fixture
def superuser(pocketbase_server: PocketBaseServer) -> PocketBase:
    pb = PocketBase(pocketbase_server.url)
    pb.collection("_superusers").auth_with_password(
        pocketbase_server.superuser_email, pocketbase_server.superuser_password
    )
    return pb


# -- login_required -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/private/", "/async/private/"])
def test_login_required_redirects_anonymous_users(client: Client, path: str) -> None:
    response = client.get(f"{path}?page=2&q=a b")
    assert response.status_code == 302
    assert response["Location"] == f"/auth/login/?next={path}%3Fpage%3D2%26q%3Da%2520b"
    assert response["Vary"] == "Cookie"


def test_login_required_uses_settings_login_url(client: Client, settings: Any) -> None:
    settings.LOGIN_URL = "/accounts/sign-in/?lang=en"
    response = client.get("/private/")
    assert response["Location"] == "/accounts/sign-in/?lang=en&next=/private/"


@pytest.mark.parametrize(
    "accept", ["*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "application/json, text/html"]
)
def test_login_required_redirects_clients_that_do_not_prefer_json(
    client: Client, accept: str
) -> None:
    response = client.get("/private/", headers={"Accept": accept})
    assert response.status_code == 302


@pytest.mark.parametrize("path", ["/private/", "/async/private/"])
@pytest.mark.parametrize(
    "accept", ["application/json", "application/json, text/html;q=0.9", "application/*"]
)
def test_login_required_answers_json_401(client: Client, path: str, accept: str) -> None:
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == UNAUTHORIZED


def test_a_json_request_gets_json(client: Client) -> None:
    response = client.post("/private/", data="{}", content_type="application/json")
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


@pytest.mark.parametrize("path", ["/private/", "/async/private/"])
def test_login_required_lets_users_through(client: Client, user: TestUser, path: str) -> None:
    login(client, user)
    response = client.get(path)
    assert response.status_code == 200
    prefix = "private-async" if "async" in path else "private"
    assert text(response) == f"{prefix}:{user.email}"


@pytest.mark.anyio
async def test_login_required_async_through_asgi(async_client: AsyncClient, user: TestUser) -> None:
    response = await async_client.get("/async/private/")
    assert response.status_code == 302
    assert response["Location"] == "/auth/login/?next=/async/private/"
    json_response = await async_client.get(
        "/async/private/", headers={"Accept": "application/json"}
    )
    assert json_response.status_code == 401
    login(async_client, user)
    response = await async_client.get("/async/private/")
    assert text(response) == f"private-async:{user.email}"


def test_login_required_then_form_login_returns_to_the_page(client: Client, user: TestUser) -> None:
    location = client.get("/private/")["Location"]
    assert location == "/auth/login/?next=/private/"
    page = client.get(location)
    assert 'name="next" value="/private/"' in text(page)
    response = form_login(client, user.email, user.password, next_url="/private/")
    assert response.status_code == 303 and response["Location"] == "/private/"
    assert text(client.get("/private/")) == f"private:{user.email}"


def test_next_is_only_ever_a_path_on_this_site(rf: RequestFactory) -> None:
    @login_required
    def view(request: Any) -> HttpResponse:
        return HttpResponse("never")

    request = rf.get("/x")
    # A request line such as "GET //evil.test/x": get_full_path() keeps the double slash.
    request.path = "//evil.test/x"
    response = PocketBaseMiddleware(view)(request)
    assert response.status_code == 302
    assert response["Location"] == "/auth/login/"


def test_is_safe_path() -> None:
    assert is_safe_path("/a?b=c")
    for bad in ["", None, "a", "//evil.test", "/\\evil.test", "https://x", "/a\nb", "javascript:x"]:
        assert not is_safe_path(bad)


def test_wants_json(rf: RequestFactory) -> None:
    assert not wants_json(rf.get("/"))
    assert not wants_json(rf.get("/", headers={"Accept": "*/*"}))
    assert wants_json(rf.get("/", headers={"Accept": "application/json"}))
    assert not wants_json(rf.get("/", headers={"Accept": "text/html;q=0.9, */*"}))


# -- superuser_required --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin-only/", "/async/admin-only/"])
def test_superuser_required(
    client: Client, user: TestUser, superuser: PocketBase, path: str
) -> None:
    anonymous = client.get(path)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/auth/login/?next={path}"

    login(client, user)
    forbidden = client.get(path)
    assert forbidden.status_code == 403
    assert forbidden["Vary"] == "Cookie"

    store = superuser.auth_store
    login(client, token=store.token, record=store.record)
    allowed = client.get(path)
    assert allowed.status_code == 200
    prefix = "admin-async" if "async" in path else "admin"
    assert text(allowed) == f"{prefix}:{store.record['email']}"


@pytest.mark.anyio
async def test_superuser_required_through_asgi(
    async_client: AsyncClient, user: TestUser, superuser: PocketBase
) -> None:
    login(async_client, user)
    assert (await async_client.get("/async/admin-only/")).status_code == 403
    store = superuser.auth_store
    login(async_client, token=store.token, record=store.record)
    response = await async_client.get("/async/admin-only/")
    assert response.status_code == 200


def test_a_forged_superuser_record_is_not_believed(
    client: Client, user: TestUser, configure: Configure
) -> None:
    # The record in the cookie claims _superusers; PocketBase's answer says otherwise.
    forged = {**user.record, "collectionName": "_superusers"}
    login(client, token=user.token, record=forged)
    assert client.get("/admin-only/").status_code == 403
