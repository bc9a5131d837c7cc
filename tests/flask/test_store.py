"""``POCKETBASE_STORE = "redis://..."`` in Flask: two app instances share sign-outs,
and ``flask pb check`` pings the store."""

from __future__ import annotations

import socket

from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_flask.testing import login

from .conftest import get_csrf, make_app


def test_a_sign_out_on_one_instance_holds_on_another(
    pocketbase_server: PocketBaseServer, redis_url: str, user: TestUser
) -> None:
    one = make_app(pocketbase_server.url, POCKETBASE_STORE=redis_url).test_client()
    two = make_app(pocketbase_server.url, POCKETBASE_STORE=redis_url).test_client()
    login(one, user)
    copied = one.get_cookie("pb_auth")
    assert copied is not None
    assert one.get("/whoami").get_data(as_text=True) == f"user:{user.email}"
    one.post("/auth/logout", data={"csrf_token": get_csrf(one)})

    two.set_cookie("pb_auth", copied.value)
    assert two.get("/whoami").get_data(as_text=True).startswith("anonymous")


def test_check_pings_the_store(pocketbase_server: PocketBaseServer, redis_url: str) -> None:
    app = make_app(pocketbase_server.url, blueprint=False, POCKETBASE_STORE=redis_url)
    result = app.test_cli_runner().invoke(args=["pb", "check"])
    assert "ok    session store answers" in result.output

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    app = make_app(pocketbase_server.url, blueprint=False, POCKETBASE_STORE=nowhere)
    result = app.test_cli_runner().invoke(args=["pb", "check"])
    assert result.exit_code == 1
    assert "WARN  session store does not answer" in result.output
