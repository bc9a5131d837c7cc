"""The auth blueprint end to end: real PocketBase, real SMTP sink, real OIDC provider."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from werkzeug.test import TestResponse

from pb_ssr import OAUTH2_COOKIE_NAME
from pb_ssr.messages import (
    BAD_CODE,
    BAD_LINK,
    BAD_LOGIN,
    BAD_STATE,
    SIGNUP_FAILED,
    TOO_MANY,
)
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_flask import csrf_protect, generate_csrf, validate_csrf
from pb_ssr_flask.testing import login

from ..peers import MailSink, OIDCProvider, extract_otp, extract_token
from ..versions import SIGNUP_FIELD_ERRORS
from .conftest import auth_cookie, csrf_of, form_login, get_csrf, make_app


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def enable_otp(server: PocketBaseServer, *, mfa: bool = False) -> None:
    body = {"otp": {"enabled": True}, "mfa": {"enabled": mfa}}
    server.api("PATCH", "/api/collections/users", json=body)


def whoami(client: FlaskClient) -> str:
    return text(client.get("/whoami"))


# -- password login -----------------------------------------------------------------------


def test_login_page_renders_an_accessible_form(client: FlaskClient) -> None:
    response = client.get("/auth/login")
    assert response.status_code == 200
    body = text(response)
    assert '<label for="email">Email</label>' in body
    assert 'autocomplete="current-password"' in body
    assert 'name="csrf_token"' in body and 'name="next" value="/"' in body
    assert response.cache_control.no_store


def test_login_signs_in_and_follows_next(client: FlaskClient, user: TestUser) -> None:
    response = form_login(client, user.email, user.password, next_url="/private?tab=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/private?tab=1"
    assert auth_cookie(response) is not None
    assert whoami(client) == f"user:{user.email}"


@pytest.mark.parametrize("wrong", ["password", "email"])
def test_bad_credentials_get_one_generic_message(
    client: FlaskClient, user: TestUser, wrong: str
) -> None:
    email = f"nobody-{secrets.token_hex(3)}@example.test" if wrong == "email" else user.email
    password = "wrong-password" if wrong == "password" else user.password
    response = form_login(client, email, password)
    assert response.status_code == 400
    assert BAD_LOGIN in text(response)
    assert auth_cookie(response) is None
    assert whoami(client).startswith("anonymous")


def test_rate_limited_login_says_too_many(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    user = server.create_user()
    rule = {"label": "*:auth", "maxRequests": 2, "duration": 60}
    server.update_settings({"rateLimits": {"enabled": True, "rules": [rule]}})
    client = make_app(server.url).test_client()

    statuses = [form_login(client, user.email, "wrong-password").status_code for _ in range(2)]
    limited = form_login(client, user.email, user.password)
    assert statuses == [400, 400]
    assert limited.status_code == 429
    assert TOO_MANY in text(limited)
    assert auth_cookie(limited) is None


def test_password_then_otp_mfa(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()  # before MFA is on: create_user logs in with a password
    enable_otp(mail_server, mfa=True)
    client = make_app(mail_server.url).test_client()

    response = form_login(client, user.email, user.password, next_url="/private")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/mfa?next=/private"
    assert auth_cookie(response) is None

    page = client.get("/auth/mfa?next=/private")  # mails the code
    assert page.status_code == 200 and user.email in text(page)
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))
    wrong = client.post(
        "/auth/mfa",
        data={"csrf_token": csrf_of(page), "code": f"{(int(code) + 1) % 10**8:08d}"},
    )
    assert wrong.status_code == 400 and BAD_CODE in text(wrong)
    assert 'name="code"' in text(wrong)  # the user can try again
    done = client.post(
        "/auth/mfa", data={"csrf_token": csrf_of(page), "code": code, "next": "/private"}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/private"
    assert auth_cookie(done) is not None
    assert text(client.get("/private")) == f"private:{user.email}"


def test_mfa_code_can_be_sent_again(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server, mfa=True)
    client = make_app(mail_server.url).test_client()
    form_login(client, user.email, user.password)
    page = client.get("/auth/mfa")
    first = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))

    again = client.post("/auth/mfa", data={"csrf_token": csrf_of(page), "resend": "1"})
    assert again.status_code == 303 and again.headers["Location"] == "/auth/mfa?next=/"
    for _ in range(100):
        mails = mail_sink.received(user.email, subject_contains="OTP")
        if len(mails) == 2:
            break
        time.sleep(0.05)
    second = extract_otp(mails[-1])
    assert second != first
    done = client.post("/auth/mfa", data={"csrf_token": csrf_of(page), "code": second})
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert whoami(client) == f"user:{user.email}"


def test_otp_then_password_mfa(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server, mfa=True)
    client = make_app(mail_server.url).test_client()
    client.post(
        "/auth/otp",
        data={"csrf_token": get_csrf(client, "/auth/otp"), "email": user.email, "next": "/private"},
    )
    page = client.get("/auth/otp/verify?next=/private")
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))

    first = client.post(
        "/auth/otp/verify", data={"csrf_token": csrf_of(page), "code": code, "next": "/private"}
    )
    assert first.status_code == 303
    assert first.headers["Location"] == "/auth/login?next=/private"
    assert auth_cookie(first) is None
    login_page = client.get(first.headers["Location"])
    assert "Enter your password to finish signing in." in text(login_page)
    assert f'value="{user.email}"' in text(login_page)
    done = client.post(
        "/auth/login",
        data={
            "csrf_token": csrf_of(login_page),
            "email": user.email,
            "password": user.password,
            "next": "/private",
        },
    )
    assert done.status_code == 303 and done.headers["Location"] == "/private"
    assert whoami(client) == f"user:{user.email}"


def test_mfa_without_a_pending_login_goes_to_login(client: FlaskClient) -> None:
    response = client.get("/auth/mfa")
    assert response.status_code == 303 and response.headers["Location"].startswith("/auth/login")


# -- sign-up ------------------------------------------------------------------------------------


def signup(client: FlaskClient, **fields: str) -> TestResponse:
    return client.post(
        "/auth/signup", data={"csrf_token": get_csrf(client, "/auth/signup"), **fields}
    )


def test_signup_creates_and_signs_in(
    client: FlaskClient, pocketbase_server: PocketBaseServer
) -> None:
    email = f"new-{secrets.token_hex(4)}@example.test"
    response = signup(
        client,
        email=email,
        name="Ada Lovelace",
        password="correct-horse-1",
        password_confirm="correct-horse-1",
        next="/private",
    )
    try:
        assert response.status_code == 303
        assert response.headers["Location"] == "/private"
        assert whoami(client) == f"user:{email}"
    finally:
        found = pocketbase_server.api(
            "GET", "/api/collections/users/records", params={"filter": f"email='{email}'"}
        )
        for item in found["items"]:
            pocketbase_server.api("DELETE", f"/api/collections/users/records/{item['id']}")
        assert found["items"][0]["name"] == "Ada Lovelace"


def test_signup_with_a_taken_email_is_generic(
    client: FlaskClient, user: TestUser, pocketbase_version: tuple[int, ...]
) -> None:
    response = signup(
        client, email=user.email, password="another-pass-1", password_confirm="another-pass-1"
    )
    body = text(response)
    assert response.status_code == 400
    assert SIGNUP_FAILED in body
    assert "unique" not in body.lower() and "exists" not in body.lower()
    assert auth_cookie(response) is None
    # With another field to blame, the answer is the same as for a free address.
    short = signup(client, email=user.email, password="short", password_confirm="short")
    assert short.status_code == 400
    if pocketbase_version < SIGNUP_FIELD_ERRORS:
        # 0.23 answers only the email's error: the generic message, nothing more.
        assert SIGNUP_FAILED in text(short) and "unique" not in text(short).lower()
        return
    assert "Must be at least 8 character(s)." in text(short)
    assert SIGNUP_FAILED not in text(short) and "email address" not in text(short)


def test_signup_form_errors(client: FlaskClient) -> None:
    email = f"new-{secrets.token_hex(4)}@example.test"
    mismatch = signup(client, email=email, password="one-password", password_confirm="another")
    assert mismatch.status_code == 400
    assert "The passwords do not match." in text(mismatch)
    short = signup(client, email="not-an-email", password="short", password_confirm="short")
    assert short.status_code == 400
    body = text(short)
    assert "Must be at least 8 character(s)." in body
    assert "Enter a valid email address." in body
    assert 'value="not-an-email"' in body


# -- logout ------------------------------------------------------------------------------------


def test_logout_is_post_only_and_csrf_checked(client: FlaskClient, user: TestUser) -> None:
    form_login(client, user.email, user.password)
    assert client.get("/auth/logout").status_code == 405
    refused = client.post("/auth/logout")
    assert refused.status_code == 400
    assert "CSRF token is missing" in text(refused)
    assert whoami(client) == f"user:{user.email}"

    token = get_csrf(client)
    response = client.post("/auth/logout", data={"csrf_token": token, "next": "/bye"})
    assert response.status_code == 303 and response.headers["Location"] == "/bye"
    header = auth_cookie(response)
    assert header is not None and "Max-Age=0" in header
    assert whoami(client).startswith("anonymous")


# -- one-time codes ---------------------------------------------------------------------------


def test_otp_login(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server)
    client = make_app(mail_server.url).test_client()

    response = client.post(
        "/auth/otp",
        data={"csrf_token": get_csrf(client, "/auth/otp"), "email": user.email, "next": "/private"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/otp/verify?next=/private"
    page = client.get(response.headers["Location"])
    assert f"If an account exists for {user.email}" in text(page)
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))

    wrong = client.post(
        "/auth/otp/verify",
        data={"csrf_token": csrf_of(page), "code": f"{(int(code) + 1) % 10**8:08d}"},
    )
    assert wrong.status_code == 400 and BAD_CODE in text(wrong)
    done = client.post(
        "/auth/otp/verify", data={"csrf_token": csrf_of(page), "code": code, "next": "/private"}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/private"
    assert whoami(client) == f"user:{user.email}"


def test_otp_for_an_unknown_email_looks_the_same(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    enable_otp(mail_server)
    client = make_app(mail_server.url).test_client()
    unknown = f"nobody-{secrets.token_hex(4)}@example.test"
    response = client.post(
        "/auth/otp", data={"csrf_token": get_csrf(client, "/auth/otp"), "email": unknown}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/otp/verify?next=/"
    assert f"If an account exists for {unknown}" in text(client.get("/auth/otp/verify"))


def test_otp_disabled_says_so(client: FlaskClient, user: TestUser) -> None:
    response = client.post(
        "/auth/otp", data={"csrf_token": get_csrf(client, "/auth/otp"), "email": user.email}
    )
    assert response.status_code == 400
    assert "Sign-in codes are not available" in text(response)


# -- password reset ------------------------------------------------------------------------


def test_password_reset(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    client = make_app(mail_server.url).test_client()

    sent = client.post(
        "/auth/password-reset",
        data={"csrf_token": get_csrf(client, "/auth/password-reset"), "email": user.email},
    )
    assert sent.status_code == 200
    assert f"If an account exists for {user.email}" in text(sent)
    token = extract_token(mail_sink.wait_for(user.email, subject_contains="Reset"))

    page = client.get(f"/auth/password-reset/{token}")
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    mismatch = client.post(
        f"/auth/password-reset/{token}",
        data={"csrf_token": csrf_of(page), "password": "new-pass-123", "password_confirm": "x"},
    )
    assert mismatch.status_code == 400 and "The passwords do not match." in text(mismatch)
    done = client.post(
        f"/auth/password-reset/{token}",
        data={
            "csrf_token": csrf_of(page),
            "password": "new-pass-123",
            "password_confirm": "new-pass-123",
        },
    )
    assert done.status_code == 200 and "Your password was changed" in text(done)
    assert form_login(client, user.email, user.password).status_code == 400
    assert form_login(client, user.email, "new-pass-123").status_code == 303


def test_password_reset_for_an_unknown_email_looks_the_same(client: FlaskClient) -> None:
    unknown = f"nobody-{secrets.token_hex(4)}@example.test"
    sent = client.post(
        "/auth/password-reset",
        data={"csrf_token": get_csrf(client, "/auth/password-reset"), "email": unknown},
    )
    assert sent.status_code == 200
    assert f"If an account exists for {unknown}" in text(sent)


def test_password_reset_with_a_bad_token(client: FlaskClient) -> None:
    page = client.get("/auth/password-reset/not.a.token")
    response = client.post(
        "/auth/password-reset/not.a.token",
        data={
            "csrf_token": csrf_of(page),
            "password": "pass-1234",
            "password_confirm": "pass-1234",
        },
    )
    assert response.status_code == 400 and BAD_LINK in text(response)


# -- email verification ------------------------------------------------------------------------


def test_verification_of_the_signed_in_user(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    client = make_app(mail_server.url).test_client()
    login(client, user)

    page = client.get("/auth/verify")
    assert f"We will email a verification link to {user.email}" in text(page)
    sent = client.post("/auth/verify", data={"csrf_token": csrf_of(page)})
    assert sent.status_code == 200 and user.email in text(sent)
    token = extract_token(mail_sink.wait_for(user.email, subject_contains="Verify"))

    confirm = client.get(f"/auth/verify/{token}")
    assert confirm.status_code == 200 and confirm.headers["Referrer-Policy"] == "no-referrer"
    done = client.post(f"/auth/verify/{token}", data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 200 and "Your email address is verified." in text(done)
    record = mail_server.api("GET", f"/api/collections/users/records/{user.id}")
    assert record["verified"] is True
    # The signed-in record was updated in place, so the cookie was rewritten.
    assert auth_cookie(done) is not None
    # A fresh app (no cached validation) sees the verified record from PocketBase.
    client.application = make_app(mail_server.url)
    assert "is verified" in text(client.get("/auth/verify"))


def test_a_record_change_is_seen_on_the_next_request(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    client = make_app(mail_server.url).test_client()
    login(client, user)
    sent = client.post("/auth/verify", data={"csrf_token": get_csrf(client, "/auth/verify")})
    assert sent.status_code == 200
    token = extract_token(mail_sink.wait_for(user.email, subject_contains="Verify"))
    page = client.get(f"/auth/verify/{token}")
    done = client.post(f"/auth/verify/{token}", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 200
    assert "is verified" in text(client.get("/auth/verify"))


def test_verification_by_email_and_a_bad_token(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    client = make_app(mail_server.url).test_client()
    sent = client.post(
        "/auth/verify",
        data={"csrf_token": get_csrf(client), "email": user.email},
    )
    assert sent.status_code == 200
    mail_sink.wait_for(user.email, subject_contains="Verify")
    page = client.get("/auth/verify/not.a.token")
    bad = client.post("/auth/verify/not.a.token", data={"csrf_token": csrf_of(page)})
    assert bad.status_code == 400 and BAD_LINK in text(bad)


# -- OAuth2 ----------------------------------------------------------------------------------


def start_oauth2(client: FlaskClient, next_url: str = "/private") -> tuple[str, str]:
    """Start the flow; return the provider URL and the state cookie header."""
    response = client.get(f"/auth/oauth2/start/oidc?next={quote(next_url)}")
    assert response.status_code == 302, text(response)
    header = auth_cookie(response, OAUTH2_COOKIE_NAME)
    assert header is not None
    return response.headers["Location"], header


def test_oauth2_login(oauth_server: PocketBaseServer, oidc_provider: OIDCProvider) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    email = f"{sub}@example.test"
    oidc_provider.set_user(sub, email, "Ada")
    client = make_app(oauth_server.url).test_client()

    assert "Sign in with Mock" in text(client.get("/auth/login"))
    location, header = start_oauth2(client)
    assert location.startswith(f"{oidc_provider.url}/oauth2/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == ["http://localhost/auth/oauth2/callback"]
    assert "HttpOnly" in header and "Secure" in header and "SameSite=Lax" in header
    assert "Path=/auth/oauth2/callback" in header and "Max-Age=600" in header

    code, state = oidc_provider.authorize(location, sub)
    response = client.get(f"/auth/oauth2/callback?code={code}&state={state}")
    assert response.status_code == 303, text(response)
    assert response.headers["Location"] == "/private"
    assert auth_cookie(response) is not None
    deleted = auth_cookie(response, OAUTH2_COOKIE_NAME)
    assert deleted is not None and "Max-Age=0" in deleted
    assert whoami(client) == f"user:{email}"


def test_oauth2_state_mismatch_is_rejected(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider
) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    oidc_provider.set_user(sub, f"{sub}@example.test", "Eve")
    client = make_app(oauth_server.url).test_client()
    location, _ = start_oauth2(client)
    code, _state = oidc_provider.authorize(location, sub)

    response = client.get(f"/auth/oauth2/callback?code={code}&state=forged")
    assert response.status_code == 400
    assert BAD_STATE in text(response)
    assert auth_cookie(response) is None
    assert oauth_server.api("GET", "/api/collections/users/records")["totalItems"] == 0

    # A browser that never started the flow (no state cookie) is refused too.
    stranger = make_app(oauth_server.url).test_client()
    response = stranger.get(f"/auth/oauth2/callback?code={code}&state={_state}")
    assert response.status_code == 400 and BAD_STATE in text(response)
    assert whoami(stranger).startswith("anonymous")


def test_oauth2_unknown_provider_is_a_404(client: FlaskClient) -> None:
    assert client.get("/auth/oauth2/start/nope").status_code == 404


# -- CSRF ----------------------------------------------------------------------------------


def test_csrf_missing_wrong_or_foreign_tokens_are_rejected(
    app: Flask, client: FlaskClient, user: TestUser
) -> None:
    data = {"email": user.email, "password": user.password}
    get_csrf(client)  # the session has a nonce

    missing = client.post("/auth/login", data=data)
    assert missing.status_code == 400 and "The CSRF token is missing." in text(missing)
    wrong = client.post("/auth/login", data={**data, "csrf_token": "forged"})
    assert wrong.status_code == 400 and "The CSRF token is invalid." in text(wrong)
    other = app.test_client()
    foreign = client.post("/auth/login", data={**data, "csrf_token": get_csrf(other)})
    assert foreign.status_code == 400
    assert "does not belong to this session" in text(foreign)
    fresh = app.test_client()  # no session at all
    sessionless = fresh.post("/auth/login", data={**data, "csrf_token": get_csrf(other)})
    assert sessionless.status_code == 400
    for response in (missing, wrong, foreign, sessionless):
        assert auth_cookie(response) is None
    assert whoami(client).startswith("anonymous")


def test_csrf_header_and_async_views(app: Flask) -> None:
    @app.route("/api/things", methods=["GET", "POST", "DELETE"])
    @csrf_protect
    async def things() -> str:
        return "done"

    @app.get("/api/token")
    def token() -> str:
        return generate_csrf()

    client = app.test_client()
    assert client.get("/api/things").status_code == 200  # safe methods pass
    assert client.post("/api/things").status_code == 400
    token_value = text(client.get("/api/token"))
    assert client.post("/api/things", headers={"X-CSRFToken": token_value}).status_code == 200
    assert client.delete("/api/things", headers={"X-CSRFToken": token_value}).status_code == 200


def test_csrf_tokens_expire(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 9 * 3600)
    token = get_csrf(client)
    monkeypatch.undo()
    response = client.post("/auth/login", data={"csrf_token": token, "email": "a@b.c"})
    assert response.status_code == 400 and "The CSRF token has expired." in text(response)


def test_csrf_tokens_survive_a_key_rotation(pocketbase_server: PocketBaseServer) -> None:
    old = make_app(pocketbase_server.url, SECRET_KEY="old-key")
    client = old.test_client()
    token = get_csrf(client)
    client.application = make_app(
        pocketbase_server.url, SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"]
    )
    response = client.post(
        "/auth/login", data={"csrf_token": token, "email": "a@example.test", "password": "x"}
    )
    assert response.status_code == 400 and BAD_LOGIN in text(response)


def test_validate_csrf_directly(app: Flask) -> None:
    with app.test_request_context():
        token = generate_csrf()
        assert generate_csrf() == token
        assert validate_csrf(token) is True
        assert validate_csrf(None) is False
        assert validate_csrf("") is False
        assert validate_csrf(token + "x") is False
    with app.test_request_context():
        assert validate_csrf(token) is False  # another (empty) session


def test_csrf_token_is_a_jinja_global(app: Flask) -> None:
    with app.test_request_context():
        rendered = app.jinja_env.from_string("{{ csrf_token() }}").render()
        assert validate_csrf(rendered)


def test_a_new_csrf_nonce_after_login(client: FlaskClient, user: TestUser) -> None:
    token = get_csrf(client)
    form_login(client, user.email, user.password)
    # The pre-login token is dead: a token planted before sign-in cannot be replayed.
    response = client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 400
    assert whoami(client) == f"user:{user.email}"


# -- open redirects --------------------------------------------------------------------------


EVIL = ["https://evil.test", "//evil.test", "/\\evil.test", "javascript:alert(1)", "http:/evil"]


@pytest.mark.parametrize("target", EVIL)
def test_next_never_leaves_the_site(client: FlaskClient, user: TestUser, target: str) -> None:
    page = client.get(f"/auth/login?next={quote(target)}")
    assert 'name="next" value="/"' in text(page)
    response = client.post(
        "/auth/login",
        data={
            "csrf_token": csrf_of(page),
            "email": user.email,
            "password": user.password,
            "next": target,
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    logout = client.post("/auth/logout", data={"csrf_token": get_csrf(client), "next": target})
    assert logout.headers["Location"] == "/"


# -- templates ----------------------------------------------------------------------------------


def test_the_app_can_provide_its_own_base_template(
    pocketbase_server: PocketBaseServer, tmp_path: Path
) -> None:
    (tmp_path / "pb_ssr").mkdir()
    (tmp_path / "pb_ssr" / "base.html").write_text(
        "<!doctype html><title>{% block title %}{% endblock %} | Site</title>"
        "<div class=site>{% block content %}{% endblock %}</div>"
    )
    app = make_app(pocketbase_server.url)
    app.template_folder = str(tmp_path)
    body = text(app.test_client().get("/auth/login"))
    assert "<title>Sign in | Site</title>" in body
    assert re.search(r"<div class=site>\s*<h1>Sign in</h1>", body)


def test_user_input_is_escaped(client: FlaskClient) -> None:
    response = form_login(client, '"><script>alert(1)</script>', "x")
    body = text(response)
    assert "<script>alert(1)</script>" not in body
    assert "&#34;&gt;&lt;script&gt;" in body


# -- email change ----------------------------------------------------------------------------


def test_email_change_end_to_end(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    client = make_app(mail_server.url).test_client()
    # Signed-in users only: an anonymous visitor is sent to sign in.
    assert client.get("/auth/email-change").headers["Location"].startswith("/auth/login")
    assert form_login(client, user.email, user.password).status_code == 303
    new_email = f"moved-{secrets.token_hex(4)}@example.test"
    sent = client.post(
        "/auth/email-change",
        data={"csrf_token": get_csrf(client, "/auth/email-change"), "email": new_email},
    )
    assert sent.status_code == 200 and f"We sent a confirmation link to {new_email}" in text(sent)
    token = extract_token(mail_sink.wait_for(new_email, subject_contains="new email"))

    page = client.get(f"/auth/email-change/{token}")
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    wrong = client.post(
        f"/auth/email-change/{token}",
        data={"csrf_token": csrf_of(page), "password": "not-the-password"},
    )
    assert wrong.status_code == 400
    # Without its CSRF token the confirmation is refused.
    refused = client.post(f"/auth/email-change/{token}", data={"password": user.password})
    assert refused.status_code == 400 and "CSRF token is missing" in text(refused)
    done = client.post(
        f"/auth/email-change/{token}",
        data={"csrf_token": csrf_of(page), "password": user.password},
    )
    assert done.status_code == 200 and "Your email address was changed" in text(done)
    # PocketBase revoked the old session; this browser is signed out at once.
    header = auth_cookie(done)
    assert header is not None and "Max-Age=0" in header
    assert whoami(client).startswith("anonymous")
    assert form_login(client, user.email, user.password).status_code == 400
    assert form_login(client, new_email, user.password).status_code == 303
    assert whoami(client) == f"user:{new_email}"


def test_email_change_refusals(client: FlaskClient, user: TestUser) -> None:
    form_login(client, user.email, user.password)
    # A taken (here: the user's own) address gets the generic answer.
    taken = client.post(
        "/auth/email-change",
        data={"csrf_token": get_csrf(client, "/auth/email-change"), "email": user.email},
    )
    assert taken.status_code == 400
    confirm = client.post(
        "/auth/email-change/bogus-token",
        data={"csrf_token": get_csrf(client, "/auth/email-change"), "password": "whatever-pass"},
    )
    assert confirm.status_code == 400 and BAD_LINK in text(confirm)
