"""live.js in a real browser, fed by the relay core behind a bare WSGI server.

No framework: the page and the ``/live`` endpoint are written here the way an
adapter will write them, so this checks the script's contract (insert on create,
replace on update, remove on delete, a ``pb:live`` event for each) against the
relay's real stream, with the user's cookie and a real PocketBase.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http.cookies import SimpleCookie
from importlib.resources import files
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest

from pb_ssr import SessionManager, Settings
from pb_ssr.relay import Feed, Refusal, Relay
from pb_ssr.testing import PocketBaseServer, TestUser

SECRET = "pb-ssr-live-js-secret"
TIMEOUT_MS = 10_000


def item(record: Any) -> str:
    """The page's own partial: the live item is rendered exactly like this."""
    return f'<li id="msg-{record["id"]}">{html.escape(record["text"])}</li>'


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(pocketbase_url: str) -> Iterator[tuple[str, SessionManager, Relay]]:
    manager = SessionManager(Settings.from_mapping({"URL": pocketbase_url}), secret_key=SECRET)
    relay = Relay([Feed("messages", "messages", render=lambda a, r: item(r))], heartbeat=0.5)
    script = files("pb_ssr").joinpath("static/pb_ssr/live.js").read_bytes()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        morsel = SimpleCookie(environ.get("HTTP_COOKIE", "")).get("pb_auth")
        session = manager.open(morsel.value if morsel else None, client_ip="127.0.0.1")
        path = environ["PATH_INFO"]
        if path == "/live.js":
            start_response("200 OK", [("Content-Type", "text/javascript")])
            return [script]
        if path == "/live":
            result = relay.open(session, parse_qs(environ["QUERY_STRING"]).get("feeds"))
            if isinstance(result, Refusal):
                start_response(f"{result.status} Refused", list(result.headers.items()))
                return [result.message.encode()]
            start_response("200 OK", list(result.headers.items()))
            return result
        pb = session.client()
        items = "".join(item(r) for r in pb.collection("messages").get_full_list(sort="-created"))
        page = (
            '<!doctype html><ul id="list" data-pb-live="/live?feeds=messages" '
            f'data-pb-live-prefix="msg-">{items}</ul><script src="/live.js" defer></script>'
        )
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page.encode()]

    server = make_server("127.0.0.1", 0, app, server_class=_Threading, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", manager, relay
    finally:
        server.shutdown()
        server.server_close()


def as_user(server: PocketBaseServer, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    response = httpx.request(
        method, server.url + path, headers={"Authorization": user.token}, timeout=10, **kw
    )
    assert response.status_code in (200, 204), response.text
    return response.json() if response.content else None


def test_live_js_applies_create_update_and_delete(
    browser: Any,
    site: tuple[str, SessionManager, Relay],
    pocketbase_server: PocketBaseServer,
    pb_user_factory: Callable[..., TestUser],
) -> None:
    url, manager, relay = site
    ada = pb_user_factory(name="Ada")
    records = "/api/collections/messages/records"
    old = as_user(pocketbase_server, ada, "POST", records, json={"text": "old", "user": ada.id})
    cookie = manager.codec.dump(ada.token, ada.record, max_age=3600).value
    context = browser.new_context()
    context.add_cookies([{"name": "pb_auth", "value": cookie, "url": url}])
    page = context.new_page()
    try:
        page.goto(url)
        page.evaluate(
            "window.seen = []; document.addEventListener('pb:live', "
            "e => window.seen.push(e.detail.action + ':' + e.detail.id))"
        )
        deadline = time.monotonic() + 10
        while relay.active < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert relay.active == 1

        new = as_user(
            pocketbase_server, ada, "POST", records, json={"text": "<b>new</b>", "user": ada.id}
        )
        page.wait_for_selector(f"#msg-{new['id']}", timeout=TIMEOUT_MS)
        first = page.eval_on_selector("#list", "ul => ul.firstElementChild.id")
        assert first == f"msg-{new['id']}"  # inserted at the top
        assert page.inner_text(f"#msg-{new['id']}") == "<b>new</b>"  # escaped by the partial

        as_user(pocketbase_server, ada, "PATCH", f"{records}/{old['id']}", json={"text": "edited"})
        page.wait_for_function(
            f"() => document.getElementById('msg-{old['id']}').textContent === 'edited'",
            timeout=TIMEOUT_MS,
        )
        assert page.locator(f"#msg-{old['id']}").count() == 1  # replaced, not added

        as_user(pocketbase_server, ada, "DELETE", f"{records}/{new['id']}")
        page.wait_for_selector(f"#msg-{new['id']}", state="detached", timeout=TIMEOUT_MS)
        seen = page.evaluate("window.seen")
        assert seen == [f"create:{new['id']}", f"update:{old['id']}", f"delete:{new['id']}"]
    finally:
        context.close()
