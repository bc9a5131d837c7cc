"""The Flask chat example's edit form and live feed, over its test client.

Editing is the owner's alone (the app checks, and PocketBase's updateRule would
refuse anyway), every form is CSRF-checked, and the live feed sends the page's own
partial, rendered for the viewer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from example_projects.flask_chat.app import create_app
from example_projects.seed import MIGRATIONS, seed
from pb_ssr.relay import Stream
from pb_ssr.testing import PocketBaseServer
from tests.sse import ChunkReader, close_all

PASSWORD = "example-test-password-3"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def chat_server() -> Iterator[PocketBaseServer]:
    with PocketBaseServer(migrations_dir=MIGRATIONS) as server:
        seed(server, PASSWORD)
        yield server


@pytest.fixture
def app(chat_server: PocketBaseServer) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "example-test-secret",
            "POCKETBASE_URL": chat_server.url,
            "POCKETBASE_COOKIE_SECURE": False,
        }
    )


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/auth/login")
    token = _CSRF.search(page.get_data(as_text=True))
    assert token
    response = client.post(
        "/auth/login", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD}
    )
    assert response.status_code == 303
    return client


def csrf(client: FlaskClient, path: str = "/") -> str:
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def post(client: FlaskClient, text: str) -> str:
    response = client.post("/messages", data={"csrf_token": csrf(client), "text": text})
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    item = rf'id="msg-([a-z0-9]+)"(?:(?!</li>).)*?<div data-testid="text">{re.escape(text)}</div>'
    match = re.search(item, page, re.S)
    assert match, page[:2000]
    return match.group(1)


def test_the_page_is_newest_first_and_follows_the_live_feed(app: Flask) -> None:
    alice = signed_in(app, "alice@example.test")
    ident = post(alice, "newest of all")
    page = alice.get("/").get_data(as_text=True)
    first = re.search(r'<li class="msg" id="msg-([a-z0-9]+)"', page)
    assert first and first.group(1) == ident
    assert 'data-pb-live="/live?feeds=messages"' in page and 'src="/live.js"' in page
    assert alice.get("/live.js").status_code == 200


def test_only_the_owner_edits_with_a_csrf_token(app: Flask) -> None:
    alice, bob = signed_in(app, "alice@example.test"), signed_in(app, "bob@example.test")
    ident = post(alice, "alice wrote this")
    edit = f"/messages/{ident}/edit"
    assert alice.get(edit).status_code == 200
    assert bob.get(edit).status_code == 404
    assert bob.post(edit, data={"csrf_token": csrf(bob), "text": "bob was here"}).status_code == 404
    assert alice.post(edit, data={"text": "no token"}).status_code == 400
    assert app.test_client().get(edit).status_code == 302  # anonymous: to the sign-in page
    saved = alice.post(edit, data={"csrf_token": csrf(alice, edit), "text": "alice, edited"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/"
    page = alice.get("/").get_data(as_text=True)
    assert "alice, edited" in page and "alice wrote this" not in page and "· edited" in page


def test_the_live_feed_sends_the_partial_rendered_for_the_viewer(
    app: Flask, relay_streams: list[Stream]
) -> None:
    alice, bob = signed_in(app, "alice@example.test"), signed_in(app, "bob@example.test")
    assert app.test_client().get("/live?feeds=messages").status_code == 401
    readers = {
        name: ChunkReader.request(lambda c=client: c.get("/live?feeds=messages", buffered=False))
        for name, client in (("alice", alice), ("bob", bob))
    }
    try:
        for reader in readers.values():
            reader.until("retry:")
        ident = post(alice, "seen live by both")
        seen: dict[str, Any] = {n: r.until(f'"id":"{ident}"') for n, r in readers.items()}
        # The owner's copy has the edit link and delete form; Bob's has neither.
        assert f"/messages/{ident}/edit" in seen["alice"]
        assert f"/messages/{ident}/edit" not in seen["bob"].split(f'"id":"{ident}"')[1]
        assert "seen live by both" in seen["bob"]
    finally:
        close_all(relay_streams)
