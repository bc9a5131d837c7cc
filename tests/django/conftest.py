"""Django fixtures: every test runs against the real PocketBase of the session.

``tests/django/settings.py`` is the ``DJANGO_SETTINGS_MODULE`` (set in
pyproject's pytest options); its ``POCKETBASE["URL"]`` is only a placeholder.
``configure`` swaps in other pb-ssr settings (an isolated server, another policy)
through pytest-django's ``settings`` fixture, which fires ``setting_changed`` so
pb_ssr_django drops its cached configuration.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

import pytest
from django.http import HttpResponse
from django.test import Client

from pb_ssr.testing import TestUser

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Configure(Protocol):
    def __call__(self, url: str | None = None, **keys: Any) -> None: ...


@pytest.fixture(autouse=True)
def configure(settings: Any, pocketbase_url: str) -> Configure:
    """Point pb-ssr at the shared test server; call it to change keys (or the URL)."""

    def apply(url: str | None = None, **keys: Any) -> None:
        settings.POCKETBASE = {"URL": url or pocketbase_url, **keys}

    apply()
    return apply


@pytest.fixture
def user(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Ada")


@pytest.fixture
def csrf_client() -> Client:
    """A client that, like a browser, gets CSRF checks enforced."""
    return Client(enforce_csrf_checks=True)


def text(response: HttpResponse) -> str:
    return response.content.decode()


def csrf_of(response: HttpResponse) -> str:
    """The CSRF token in a rendered form."""
    match = _CSRF.search(text(response))
    assert match, f"no csrfmiddlewaretoken in {text(response)[:500]}"
    return match.group(1)


def get_csrf(client: Client, path: str = "/auth/login/") -> str:
    """Open the form at *path* and return its CSRF token."""
    response = client.get(path)
    assert response.status_code == 200, text(response)
    return csrf_of(response)


def post_form(client: Client, path: str, data: dict[str, str], *, form: str | None = None) -> Any:
    """Open the form at *form* (default: *path*) and post *data* with its CSRF token."""
    token = get_csrf(client, form or path)
    return client.post(path, {"csrfmiddlewaretoken": token, **data})


def form_login(client: Client, email: str, password: str, *, next_url: str | None = None) -> Any:
    """Sign in through the login form, as a browser does."""
    data = {"email": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return post_form(client, "/auth/login/", data)


def auth_cookie(response: HttpResponse, name: str = "pb_auth") -> Any:
    """The morsel of the auth cookie set (or deleted) by *response*, if any."""
    return response.cookies.get(name)
