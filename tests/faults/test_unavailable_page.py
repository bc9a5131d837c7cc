"""A view's unhandled PocketBase outage is a 503 page in both adapters, never a 500.

PocketBase here is real; the outage is the fault proxy refusing connections, so
the session-wide server and this module's server keep running.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.test import AsyncClient, Client
from flask import Flask

from pb_ssr import UNAVAILABLE_JSON, ClientResponseError, PocketBaseUnavailable
from pb_ssr.testing import FaultProxy, TestUser
from pb_ssr_django.test import auth_cookie
from pb_ssr_flask import PocketBaseSSR

from .apps import flask_app, flask_cookie

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def assert_no_internals(body: str, proxy: FaultProxy, user: TestUser) -> None:
    # A 503 page names no host, port, exception or token.
    for leak in (str(proxy.port), "127.0.0.1", "ConnectError", "Traceback", user.token):
        assert leak not in body


# -- Flask -----------------------------------------------------------------------------------


@pytest.fixture
def flask_client(proxy: FaultProxy, users: list[TestUser]) -> Any:
    app = flask_app(proxy.url)
    client = app.test_client()
    client.set_cookie("pb_auth", flask_cookie(app, users[0].token, users[0].record))
    return client


@pytest.mark.parametrize("path", ["/notes", "/anotes"])
def test_flask_outage_is_a_503_page(
    flask_client: Any, proxy: FaultProxy, users: list[TestUser], path: str
) -> None:
    assert flask_client.get(path).get_data(as_text=True) == f"{users[0].id}|note of {users[0].id}"
    proxy.refuse = True
    response = flask_client.get(path, headers=HTML)
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.mimetype == "text/html"
    assert "Service unavailable" in body
    assert "no-store" in response.headers["Cache-Control"]
    assert_no_internals(body, proxy, users[0])
    # Nobody was signed out: the cookie is neither rewritten nor deleted.
    assert "pb_auth=" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_flask_outage_is_json_for_clients_preferring_json(
    flask_client: Any, proxy: FaultProxy
) -> None:
    proxy.refuse = True
    response = flask_client.get("/notes", headers=JSON)
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json() == UNAVAILABLE_JSON
    assert response.headers["Retry-After"] == "1"


def test_flask_503_is_logged_once_per_interval(
    flask_client: Any, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.refuse = True
    with caplog.at_level(logging.WARNING, logger="pb_ssr.flask"):
        from pb_ssr_flask import extension

        extension.outages._last = -float("inf")  # a fresh interval for this test
        statuses = [flask_client.get("/notes").status_code for _ in range(8)]
    assert statuses == [503] * 8
    lines = [r for r in caplog.records if r.name == "pb_ssr.flask"]
    assert len(lines) == 1
    assert "/notes" in lines[0].getMessage()


def test_flask_handle_unavailable_off_leaves_it_to_the_app(
    proxy: FaultProxy, users: list[TestUser]
) -> None:
    app = flask_app(proxy.url, HANDLE_UNAVAILABLE=False)

    @app.errorhandler(PocketBaseUnavailable)
    def own(error: PocketBaseUnavailable) -> tuple[str, int]:
        return "our own outage page", 502

    proxy.refuse = True
    response = app.test_client().get("/notes")
    assert (response.status_code, response.get_data(as_text=True)) == (502, "our own outage page")
    bare = flask_app(proxy.url, HANDLE_UNAVAILABLE=False)
    assert bare.test_client().get("/notes").status_code == 500


def test_flask_leaves_a_404_to_the_app(proxy: FaultProxy) -> None:
    app = flask_app(proxy.url)
    assert app.test_client().get("/missing").status_code == 500  # unhandled, as before


def test_flask_keeps_the_apps_own_client_error_handler(
    proxy: FaultProxy, users: list[TestUser]
) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", POCKETBASE_URL=proxy.url, POCKETBASE_COOKIE_SECURE=False)

    @app.errorhandler(ClientResponseError)
    def not_found(error: ClientResponseError) -> tuple[str, int]:
        return f"app handled {error.status}", error.status

    @app.get("/missing")
    def missing() -> str:
        from pb_ssr_flask import pb

        pb.collection("private_notes").get_one("nosuchrecord123")
        return "found?"

    @app.get("/broken")
    def broken() -> str:
        raise ClientResponseError(url=proxy.url, status=500)

    PocketBaseSSR(app)
    client = app.test_client()
    assert client.get("/missing").get_data(as_text=True) == "app handled 404"
    assert client.get("/broken").status_code == 500  # the app's handler chose
    proxy.refuse = True
    assert client.get("/missing").status_code == 503  # an outage is still ours


def test_flask_5xx_from_pocketbase_is_a_503(proxy: FaultProxy) -> None:
    app = flask_app(proxy.url)

    @app.get("/broken")
    def broken() -> str:
        raise ClientResponseError(url=proxy.url + "/api/x", status=500, response={"message": "x"})

    response = app.test_client().get("/broken")
    assert response.status_code == 503


# -- Django ----------------------------------------------------------------------------------


@pytest.fixture
def django_client(
    django_app: Callable[..., None], proxy: FaultProxy, users: list[TestUser]
) -> Client:
    django_app(proxy.url)
    client = Client()
    client.cookies["pb_auth"] = auth_cookie(users[0]).value
    return client


@pytest.mark.parametrize("path", ["/notes", "/anotes"])
def test_django_outage_is_a_503_page(
    django_client: Client, proxy: FaultProxy, users: list[TestUser], path: str
) -> None:
    assert django_client.get(path).content.decode() == f"{users[0].id}|note of {users[0].id}"
    proxy.refuse = True
    response = django_client.get(path, headers=HTML)
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["Content-Type"].startswith("text/html")
    assert "Service unavailable" in body
    assert "no-store" in response["Cache-Control"]
    assert_no_internals(body, proxy, users[0])
    assert "pb_auth" not in response.cookies


@pytest.mark.anyio
async def test_django_async_outage_is_json_for_clients_preferring_json(
    django_app: Callable[..., None], proxy: FaultProxy, users: list[TestUser]
) -> None:
    django_app(proxy.url)
    client = AsyncClient()
    client.cookies["pb_auth"] = auth_cookie(users[0]).value
    proxy.refuse = True
    response = await client.get("/anotes", headers=JSON)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == UNAVAILABLE_JSON
    assert response["Retry-After"] == "1"


def test_django_503_is_logged_once_per_interval(
    django_client: Client, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    from pb_ssr_django import middleware

    proxy.refuse = True
    middleware.outages._last = -float("inf")
    with caplog.at_level(logging.WARNING, logger="pb_ssr.django"):
        statuses = [django_client.get("/notes").status_code for _ in range(8)]
    assert statuses == [503] * 8
    lines = [r for r in caplog.records if r.name == "pb_ssr.django"]
    assert len(lines) == 1 and "/notes" in lines[0].getMessage()


def test_django_handle_unavailable_off_leaves_it_to_the_app(
    django_app: Callable[..., None], proxy: FaultProxy
) -> None:
    django_app(proxy.url, HANDLE_UNAVAILABLE=False)
    proxy.refuse = True
    with pytest.raises(PocketBaseUnavailable):
        Client().get("/notes")


def test_django_leaves_a_404_to_the_app(django_app: Callable[..., None], proxy: FaultProxy) -> None:
    django_app(proxy.url)
    with pytest.raises(ClientResponseError) as info:
        Client().get("/missing")
    assert info.value.status == 404


def test_django_5xx_from_pocketbase_is_a_503(
    django_app: Callable[..., None], proxy: FaultProxy, rf: Any
) -> None:
    from django.http import HttpResponse

    from pb_ssr_django import PocketBaseMiddleware

    django_app(proxy.url)
    middleware = PocketBaseMiddleware(lambda r: HttpResponse())
    response = middleware.process_exception(rf.get("/x"), ClientResponseError(status=502))
    assert response.status_code == 503
    assert middleware.process_exception(rf.get("/x"), ClientResponseError(status=404)) is None
