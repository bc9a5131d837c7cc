"""Flask fixtures: an app factory with a few views, ``app`` and ``client``.

Every app talks to a real PocketBase: the session-wide ``pocketbase_server`` by
default, an isolated one (mail, OAuth2, outages) when a test passes its URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_flask import (
    PocketBaseSSR,
    apb,
    auth_blueprint,
    current_user,
    login_required,
    pb,
)

SECRET = "pb-ssr-flask-test-secret"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(url: str, *, blueprint: bool = True, factory: bool = False, **config: Any) -> Flask:
    """Build a test app on the PocketBase at *url*; ``POCKETBASE_*`` go in *config*."""
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY=SECRET, POCKETBASE_URL=url)
    app.config.update(config)
    if factory:
        ext = PocketBaseSSR()
        ext.init_app(app)
    else:
        PocketBaseSSR(app)
    if blueprint:
        app.register_blueprint(auth_blueprint, url_prefix="/auth")

    @app.get("/")
    def home() -> str:
        # Never touches pb: no cookie work, no Vary.
        return "home"

    @app.get("/whoami")
    def whoami() -> str:
        if not current_user:
            return f"anonymous authenticated={current_user.is_authenticated}"
        return f"user:{current_user.get('email')}"

    @app.get("/notes")
    def notes() -> str:
        # g.pb and pb are the same request client.
        assert g.pb.auth_store is pb.auth_store
        items = pb.collection("private_notes").get_full_list()
        user_id = current_user.get("id") or "-"
        return f"{user_id}|" + ",".join(sorted(item["title"] for item in items))

    @app.get("/async-whoami")
    async def async_whoami() -> str:
        client = await apb()
        record = client.auth_store.record
        return f"user:{record['email']}" if record is not None else "anonymous"

    @app.get("/private")
    @login_required
    def private() -> str:
        return f"private:{current_user.get('email')}"

    @app.get("/private-async")
    @login_required
    async def private_async() -> str:
        client = await apb()
        record = client.auth_store.record
        assert record is not None
        return f"private-async:{record['email']}"

    return app


@pytest.fixture
def app(pocketbase_server: PocketBaseServer) -> Flask:
    """An app on the shared PocketBase, with the auth blueprint under ``/auth``."""
    return make_app(pocketbase_server.url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def user(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Ada")


def csrf_of(response: TestResponse) -> str:
    """The CSRF token in a rendered form."""
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, f"no csrf_token in {response.request.path}"
    return match.group(1)


def get_csrf(client: FlaskClient, path: str = "/auth/login") -> str:
    """Open the form at *path* and return its CSRF token."""
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return csrf_of(response)


def form_login(
    client: FlaskClient, email: str, password: str, *, next_url: str | None = None
) -> TestResponse:
    """Sign in through the blueprint's form, as a browser does."""
    data = {"csrf_token": get_csrf(client), "email": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/auth/login", data=data)


def auth_cookie(response: TestResponse, name: str = "pb_auth") -> str | None:
    """The ``Set-Cookie`` header of the auth cookie in *response*, if any."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    return None
