"""The sign-in views end to end: real PocketBase, real SMTP sink, real OIDC provider."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.conf import settings
from django.test import Client, override_settings
from itsdangerous import URLSafeTimedSerializer

import pb_ssr._hints
from pb_ssr import OAUTH2_COOKIE_NAME
from pb_ssr.messages import (
    BAD_CODE,
    BAD_LINK,
    BAD_LOGIN,
    BAD_STATE,
    SIGNUP_FAILED,
    TOO_MANY,
    UNAVAILABLE,
)
from pb_ssr.testing import PocketBaseServer, TestUser
from pb_ssr_django.conf import get_config
from pb_ssr_django.test import login

from ..peers import MailSink, OIDCProvider, extract_otp, extract_token
from ..versions import SIGNUP_FIELD_ERRORS
from .conftest import Configure, auth_cookie, csrf_of, form_login, get_csrf, post_form, text


@pytest.fixture
def client() -> Client:
    """Like a browser: CSRF checks are enforced on every POST."""
    return Client(enforce_csrf_checks=True)


def enable_otp(server: PocketBaseServer, *, mfa: bool = False) -> None:
    body = {"otp": {"enabled": True}, "mfa": {"enabled": mfa}}
    server.api("PATCH", "/api/collections/users", json=body)


def whoami(client: Client) -> str:
    return text(client.get("/whoami/"))


def wait_for_mails(sink: MailSink, to: str, count: int) -> list[Any]:
    for _ in range(200):
        mails = sink.received(to, subject_contains="OTP")
        if len(mails) >= count:
            return mails
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} OTP mails for {to}")


# -- password login -----------------------------------------------------------------------


def test_login_page_renders_an_accessible_form(client: Client) -> None:
    response = client.get("/auth/login/")
    assert response.status_code == 200
    body = text(response)
    assert '<label for="id_email">Email:</label>' in body
    assert 'autocomplete="current-password"' in body
    assert 'name="csrfmiddlewaretoken"' in body and 'name="next" value="/"' in body
    assert "<title>Sign in</title>" in body
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control


def test_login_signs_in_and_follows_next(client: Client, user: TestUser) -> None:
    token = get_csrf(client)
    before = client.cookies["csrftoken"].value
    response = client.post(
        "/auth/login/",
        {
            "csrfmiddlewaretoken": token,
            "email": user.email,
            "password": user.password,
            "next": "/private/?tab=1",
        },
    )
    assert response.status_code == 303
    assert response["Location"] == "/private/?tab=1"
    morsel = auth_cookie(response)
    assert morsel is not None and morsel.value and morsel["httponly"] is True
    # Django's CSRF token was rotated, like django.contrib.auth.login() does.
    assert client.cookies["csrftoken"].value != before
    assert whoami(client) == f"user:{user.email}"


@pytest.mark.parametrize("wrong", ["password", "email"])
def test_bad_credentials_get_one_generic_message(
    client: Client, user: TestUser, wrong: str
) -> None:
    email = f"nobody-{secrets.token_hex(3)}@example.test" if wrong == "email" else user.email
    password = "wrong-password" if wrong == "password" else user.password
    response = form_login(client, email, password)
    assert response.status_code == 400
    assert BAD_LOGIN in text(response)
    assert auth_cookie(response) is None
    assert whoami(client).startswith("anonymous")


def test_an_incomplete_form_is_a_400(client: Client) -> None:
    response = post_form(client, "/auth/login/", {"email": "", "password": ""})
    assert response.status_code == 400
    assert "This field is required." in text(response)


def test_rate_limited_login_says_too_many(
    client: Client,
    configure: Configure,
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    user = server.create_user()
    rule = {"label": "*:auth", "maxRequests": 2, "duration": 60}
    server.update_settings({"rateLimits": {"enabled": True, "rules": [rule]}})
    configure(server.url)

    statuses = [form_login(client, user.email, "wrong-password").status_code for _ in range(2)]
    limited = form_login(client, user.email, user.password)
    assert statuses == [400, 400]
    assert limited.status_code == 429
    assert TOO_MANY in text(limited)
    assert auth_cookie(limited) is None


def test_login_while_backend_is_down_says_so(
    client: Client,
    configure: Configure,
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    user = server.create_user()
    configure(server.url, TIMEOUT=2)
    token = get_csrf(client)
    server.stop()
    response = client.post(
        "/auth/login/",
        {"csrfmiddlewaretoken": token, "email": user.email, "password": user.password},
    )
    assert response.status_code == 503
    assert UNAVAILABLE in text(response)
    # The login page itself still renders (without the other ways in).
    assert client.get("/auth/login/").status_code == 200


def test_password_then_otp_mfa(
    client: Client, configure: Configure, mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()  # before MFA is on: create_user logs in with a password
    enable_otp(mail_server, mfa=True)
    configure(mail_server.url)

    response = form_login(client, user.email, user.password, next_url="/private/")
    assert response.status_code == 303
    assert response["Location"] == "/auth/mfa/?next=/private/"
    assert auth_cookie(response) is None

    page = client.get("/auth/mfa/?next=/private/")  # mails the code
    assert page.status_code == 200 and user.email in text(page)
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))
    token = csrf_of(page)
    wrong = client.post(
        "/auth/mfa/", {"csrfmiddlewaretoken": token, "code": f"{(int(code) + 1) % 10**8:08d}"}
    )
    assert wrong.status_code == 400 and BAD_CODE in text(wrong)
    assert 'name="code"' in text(wrong)  # the user can try again
    done = client.post(
        "/auth/mfa/", {"csrfmiddlewaretoken": token, "code": code, "next": "/private/"}
    )
    assert done.status_code == 303 and done["Location"] == "/private/"
    assert auth_cookie(done) is not None
    assert text(client.get("/private/")) == f"private:{user.email}"


def test_mfa_code_can_be_sent_again(
    client: Client, configure: Configure, mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server, mfa=True)
    configure(mail_server.url)
    form_login(client, user.email, user.password)
    page = client.get("/auth/mfa/")
    first = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))

    again = client.post("/auth/mfa/", {"csrfmiddlewaretoken": csrf_of(page), "resend": "1"})
    assert again.status_code == 303 and again["Location"] == "/auth/mfa/?next=/"
    second = extract_otp(wait_for_mails(mail_sink, user.email, 2)[-1])
    assert second != first
    done = client.post("/auth/mfa/", {"csrfmiddlewaretoken": csrf_of(page), "code": second})
    assert done.status_code == 303 and done["Location"] == "/"
    assert whoami(client) == f"user:{user.email}"


def test_otp_then_password_mfa(
    client: Client, configure: Configure, mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server, mfa=True)
    configure(mail_server.url)
    post_form(client, "/auth/otp/", {"email": user.email, "next": "/private/"})
    page = client.get("/auth/otp/verify/?next=/private/")
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))

    first = client.post(
        "/auth/otp/verify/",
        {"csrfmiddlewaretoken": csrf_of(page), "code": code, "next": "/private/"},
    )
    assert first.status_code == 303
    assert first["Location"] == "/auth/login/?next=/private/"
    assert auth_cookie(first) is None
    login_page = client.get(first["Location"])
    assert "Enter your password to finish signing in." in text(login_page)
    assert f'value="{user.email}"' in text(login_page)
    done = client.post(
        "/auth/login/",
        {
            "csrfmiddlewaretoken": csrf_of(login_page),
            "email": user.email,
            "password": user.password,
            "next": "/private/",
        },
    )
    assert done.status_code == 303 and done["Location"] == "/private/"
    assert whoami(client) == f"user:{user.email}"


def test_mfa_without_a_pending_login_goes_to_login(client: Client) -> None:
    response = client.get("/auth/mfa/")
    assert response.status_code == 303 and response["Location"].startswith("/auth/login/")
    refused = post_form(client, "/auth/mfa/", {"code": "1"}, form="/auth/login/")
    assert refused.status_code == 303 and refused["Location"].startswith("/auth/login/")


# -- sign-up ------------------------------------------------------------------------------------


def signup(client: Client, **fields: str) -> Any:
    return post_form(client, "/auth/signup/", fields)


def test_signup_creates_and_signs_in(client: Client, pocketbase_server: PocketBaseServer) -> None:
    email = f"new-{secrets.token_hex(4)}@example.test"
    response = signup(
        client,
        email=email,
        name="Ada Lovelace",
        password="correct-horse-1",
        password_confirm="correct-horse-1",
        next="/private/",
    )
    try:
        assert response.status_code == 303, text(response)
        assert response["Location"] == "/private/"
        assert whoami(client) == f"user:{email}"
    finally:
        found = pocketbase_server.api(
            "GET", "/api/collections/users/records", params={"filter": f"email='{email}'"}
        )
        for item in found["items"]:
            pocketbase_server.api("DELETE", f"/api/collections/users/records/{item['id']}")
        assert found["items"][0]["name"] == "Ada Lovelace"


def test_signup_with_a_taken_email_is_generic(
    client: Client, user: TestUser, pocketbase_version: tuple[int, ...]
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
    assert SIGNUP_FAILED not in text(short) and "valid email" not in text(short)


def test_signup_form_errors(client: Client) -> None:
    email = f"new-{secrets.token_hex(4)}@example.test"
    mismatch = signup(client, email=email, password="one-password", password_confirm="another")
    assert mismatch.status_code == 400
    assert "The passwords do not match." in text(mismatch)
    assert f'value="{email}"' in text(mismatch)
    bad = signup(client, email="not-an-email", password="short", password_confirm="short")
    assert bad.status_code == 400
    assert "Enter a valid email address." in text(bad)
    assert 'value="not-an-email"' in text(bad)
    short = signup(client, email=email, password="short", password_confirm="short")
    assert short.status_code == 400 and "Must be at least 8 character(s)." in text(short)


# -- logout ------------------------------------------------------------------------------------


def test_logout_is_post_only_and_csrf_checked(client: Client, user: TestUser) -> None:
    form_login(client, user.email, user.password)
    assert client.get("/auth/logout/").status_code == 405
    refused = client.post("/auth/logout/")
    assert refused.status_code == 403  # Django's CSRF failure page
    assert whoami(client) == f"user:{user.email}"

    before = client.cookies["csrftoken"].value
    response = post_form(client, "/auth/logout/", {"next": "/bye/"}, form="/auth/login/")
    assert response.status_code == 303 and response["Location"] == "/bye/"
    morsel = auth_cookie(response)
    assert morsel is not None and morsel.value == "" and morsel["max-age"] == 0
    assert client.cookies["csrftoken"].value != before
    assert whoami(client).startswith("anonymous")


# -- one-time codes ---------------------------------------------------------------------------


def test_otp_login(
    client: Client, configure: Configure, mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server)
    configure(mail_server.url)
    assert "Email me a sign-in code instead" in text(client.get("/auth/login/"))

    response = post_form(client, "/auth/otp/", {"email": user.email, "next": "/private/"})
    assert response.status_code == 303
    assert response["Location"] == "/auth/otp/verify/?next=/private/"
    page = client.get(response["Location"])
    assert f"If an account exists for {user.email}" in text(page)
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))

    wrong = client.post(
        "/auth/otp/verify/",
        {"csrfmiddlewaretoken": csrf_of(page), "code": f"{(int(code) + 1) % 10**8:08d}"},
    )
    assert wrong.status_code == 400 and BAD_CODE in text(wrong)
    done = client.post(
        "/auth/otp/verify/",
        {"csrfmiddlewaretoken": csrf_of(page), "code": code, "next": "/private/"},
    )
    assert done.status_code == 303 and done["Location"] == "/private/"
    assert whoami(client) == f"user:{user.email}"


def test_otp_for_an_unknown_email_looks_the_same(
    client: Client, configure: Configure, mail_server: PocketBaseServer
) -> None:
    enable_otp(mail_server)
    configure(mail_server.url)
    unknown = f"nobody-{secrets.token_hex(4)}@example.test"
    response = post_form(client, "/auth/otp/", {"email": unknown})
    assert response.status_code == 303
    assert response["Location"] == "/auth/otp/verify/?next=/"
    assert f"If an account exists for {unknown}" in text(client.get("/auth/otp/verify/"))


def test_otp_disabled_says_so(client: Client, user: TestUser) -> None:
    response = post_form(client, "/auth/otp/", {"email": user.email})
    assert response.status_code == 400
    assert "Sign-in codes are not available" in text(response)


def test_otp_verify_without_a_request_goes_back(client: Client) -> None:
    response = client.get("/auth/otp/verify/")
    assert response.status_code == 303 and response["Location"] == "/auth/otp/?next=/"


# -- password reset ------------------------------------------------------------------------


def test_password_reset(
    client: Client, configure: Configure, mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()
    configure(mail_server.url)

    sent = post_form(client, "/auth/password-reset/", {"email": user.email})
    assert sent.status_code == 200
    assert f"If an account exists for {user.email}" in text(sent)
    token = extract_token(mail_sink.wait_for(user.email, subject_contains="Reset"))

    page = client.get(f"/auth/password-reset/{token}/")
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    mismatch = client.post(
        f"/auth/password-reset/{token}/",
        {"csrfmiddlewaretoken": csrf_of(page), "password": "new-pass-123", "password_confirm": "x"},
    )
    assert mismatch.status_code == 400 and "The passwords do not match." in text(mismatch)
    done = client.post(
        f"/auth/password-reset/{token}/",
        {
            "csrfmiddlewaretoken": csrf_of(page),
            "password": "new-pass-123",
            "password_confirm": "new-pass-123",
        },
    )
    assert done.status_code == 200 and "Your password was changed" in text(done)
    assert form_login(client, user.email, user.password).status_code == 400
    assert form_login(client, user.email, "new-pass-123").status_code == 303


def test_password_reset_for_an_unknown_email_looks_the_same(client: Client) -> None:
    unknown = f"nobody-{secrets.token_hex(4)}@example.test"
    sent = post_form(client, "/auth/password-reset/", {"email": unknown})
    assert sent.status_code == 200
    assert f"If an account exists for {unknown}" in text(sent)


def test_password_reset_with_a_bad_token(client: Client) -> None:
    page = client.get("/auth/password-reset/not.a.token/")
    response = client.post(
        "/auth/password-reset/not.a.token/",
        {
            "csrfmiddlewaretoken": csrf_of(page),
            "password": "pass-1234",
            "password_confirm": "pass-1234",
        },
    )
    assert response.status_code == 400 and BAD_LINK in text(response)


# -- email verification ------------------------------------------------------------------------


def test_verification_of_the_signed_in_user(
    client: Client, configure: Configure, mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    configure(mail_server.url)
    login(client, user)

    page = client.get("/auth/verify/")
    assert f"We will email a verification link to {user.email}" in text(page)
    sent = client.post("/auth/verify/", {"csrfmiddlewaretoken": csrf_of(page)})
    assert sent.status_code == 200 and user.email in text(sent)
    token = extract_token(mail_sink.wait_for(user.email, subject_contains="Verify"))

    confirm = client.get(f"/auth/verify/{token}/")
    assert confirm.status_code == 200 and confirm["Referrer-Policy"] == "no-referrer"
    done = client.post(f"/auth/verify/{token}/", {"csrfmiddlewaretoken": csrf_of(confirm)})
    assert done.status_code == 200 and "Your email address is verified." in text(done)
    record = mail_server.api("GET", f"/api/collections/users/records/{user.id}")
    assert record["verified"] is True
    # The signed-in record was updated in place, so the cookie was rewritten.
    assert auth_cookie(done) is not None
    assert "is verified" in text(client.get("/auth/verify/"))
    # A fresh configuration (no cached validation) sees the verified record from PocketBase.
    configure(mail_server.url, COOKIE_NAME="pb_auth")
    assert "is verified" in text(client.get("/auth/verify/"))


def test_verification_by_email_and_a_bad_token(
    client: Client, configure: Configure, mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    configure(mail_server.url)
    sent = post_form(client, "/auth/verify/", {"email": user.email})
    assert sent.status_code == 200
    assert f"If an unverified account exists for {user.email}" in text(sent)
    mail_sink.wait_for(user.email, subject_contains="Verify")
    empty = post_form(client, "/auth/verify/", {"email": ""})
    assert empty.status_code == 400 and "Enter your email address." in text(empty)
    page = client.get("/auth/verify/not.a.token/")
    bad = client.post("/auth/verify/not.a.token/", {"csrfmiddlewaretoken": csrf_of(page)})
    assert bad.status_code == 400 and BAD_LINK in text(bad)


# -- OAuth2 ----------------------------------------------------------------------------------


def start_oauth2(client: Client, next_url: str = "/private/") -> tuple[str, Any]:
    """Start the flow; return the provider URL and the state cookie morsel."""
    response = client.get(f"/auth/oauth2/start/oidc/?next={quote(next_url)}")
    assert response.status_code == 302, text(response)
    morsel = response.cookies.get(OAUTH2_COOKIE_NAME)
    assert morsel is not None
    return response["Location"], morsel


def test_oauth2_login(
    client: Client,
    configure: Configure,
    oauth_server: PocketBaseServer,
    oidc_provider: OIDCProvider,
) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    email = f"{sub}@example.test"
    oidc_provider.set_user(sub, email, "Ada")
    configure(oauth_server.url)

    assert "Sign in with Mock" in text(client.get("/auth/login/"))
    location, morsel = start_oauth2(client)
    assert location.startswith(f"{oidc_provider.url}/oauth2/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == ["http://testserver/auth/oauth2/callback/"]
    assert morsel["httponly"] is True and morsel["secure"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/auth/oauth2/callback/" and morsel["max-age"] == 600
    data = get_config().read_oauth2_cookie(morsel.value)
    assert data is not None
    assert data["provider"] == "oidc" and data["next"] == "/private/"

    code, state = oidc_provider.authorize(location, sub)
    response = client.get(f"/auth/oauth2/callback/?code={code}&state={state}")
    assert response.status_code == 303, text(response)
    assert response["Location"] == "/private/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert auth_cookie(response) is not None
    deleted = response.cookies[OAUTH2_COOKIE_NAME]
    assert deleted.value == "" and deleted["max-age"] == 0
    assert whoami(client) == f"user:{email}"


def test_oauth2_state_mismatch_is_rejected(
    client: Client,
    configure: Configure,
    oauth_server: PocketBaseServer,
    oidc_provider: OIDCProvider,
) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    oidc_provider.set_user(sub, f"{sub}@example.test", "Eve")
    configure(oauth_server.url)
    location, _ = start_oauth2(client)
    code, state = oidc_provider.authorize(location, sub)

    response = client.get(f"/auth/oauth2/callback/?code={code}&state=forged")
    assert response.status_code == 400
    assert BAD_STATE in text(response)
    assert auth_cookie(response) is None
    assert oauth_server.api("GET", "/api/collections/users/records")["totalItems"] == 0

    # A browser that never started the flow (no state cookie) is refused too.
    stranger = Client(enforce_csrf_checks=True)
    response = stranger.get(f"/auth/oauth2/callback/?code={code}&state={state}")
    assert response.status_code == 400 and BAD_STATE in text(response)
    assert whoami(stranger).startswith("anonymous")
    # So is a state cookie signed for something else.
    other = URLSafeTimedSerializer(settings.SECRET_KEY, salt="other")
    stranger.cookies[OAUTH2_COOKIE_NAME] = other.dumps({"state": state})
    response = stranger.get(f"/auth/oauth2/callback/?code={code}&state={state}")
    assert response.status_code == 400 and BAD_STATE in text(response)


def test_oauth2_expired_state_is_rejected(
    client: Client,
    configure: Configure,
    oauth_server: PocketBaseServer,
    oidc_provider: OIDCProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(oauth_server.url)
    location, _ = start_oauth2(client)
    state = parse_qs(urlsplit(location).query)["state"][0]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 601)
    response = client.get(f"/auth/oauth2/callback/?code=x&state={state}")
    monkeypatch.undo()
    assert response.status_code == 400 and BAD_STATE in text(response)


def test_oauth2_unknown_provider_is_a_404(client: Client) -> None:
    assert client.get("/auth/oauth2/start/nope/").status_code == 404


# -- CSRF ----------------------------------------------------------------------------------


def test_csrf_missing_wrong_or_foreign_tokens_are_rejected(client: Client, user: TestUser) -> None:
    data = {"email": user.email, "password": user.password}
    get_csrf(client)  # the browser has a CSRF cookie

    missing = client.post("/auth/login/", data)
    wrong = client.post("/auth/login/", {**data, "csrfmiddlewaretoken": "forged" * 8})
    other = Client(enforce_csrf_checks=True)
    foreign = client.post("/auth/login/", {**data, "csrfmiddlewaretoken": get_csrf(other)})
    fresh = Client(enforce_csrf_checks=True)  # no CSRF cookie at all
    cookieless = fresh.post("/auth/login/", {**data, "csrfmiddlewaretoken": get_csrf(other)})
    for response in (missing, wrong, foreign, cookieless):
        assert response.status_code == 403
        assert auth_cookie(response) is None
    assert whoami(client).startswith("anonymous")


def test_a_pre_login_csrf_token_is_dead_after_login(client: Client, user: TestUser) -> None:
    token = get_csrf(client)
    form_login(client, user.email, user.password)
    # The pre-login token is dead: a token planted before sign-in cannot be replayed.
    response = client.post("/auth/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 403
    assert whoami(client) == f"user:{user.email}"


# -- open redirects --------------------------------------------------------------------------


EVIL = ["https://evil.test", "//evil.test", "/\\evil.test", "javascript:alert(1)", "http:/evil"]


@pytest.mark.parametrize("target", EVIL)
def test_next_never_leaves_the_site(client: Client, user: TestUser, target: str) -> None:
    page = client.get(f"/auth/login/?next={quote(target)}")
    assert 'name="next" value="/"' in text(page)
    response = client.post(
        "/auth/login/",
        {
            "csrfmiddlewaretoken": csrf_of(page),
            "email": user.email,
            "password": user.password,
            "next": target,
        },
    )
    assert response.status_code == 303
    assert response["Location"] == "/"
    logout = post_form(client, "/auth/logout/", {"next": target}, form="/auth/login/")
    assert logout["Location"] == "/"


def test_next_may_be_an_absolute_url_of_this_site(client: Client, user: TestUser) -> None:
    response = form_login(client, user.email, user.password, next_url="http://testserver/x/")
    assert response["Location"] == "http://testserver/x/"


def test_redirect_url_setting_is_the_default(
    client: Client, user: TestUser, configure: Configure
) -> None:
    configure(REDIRECT_URL="pb_ssr:verify_request")
    response = form_login(client, user.email, user.password, next_url="//evil.test")
    assert response["Location"] == "/auth/verify/"


# -- templates ----------------------------------------------------------------------------------


def test_the_project_can_provide_its_own_base_template(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    (tmp_path / "pb_ssr").mkdir()
    (tmp_path / "pb_ssr" / "base.html").write_text(
        "<!doctype html><title>{% block title %}{% endblock %} | Site</title>"
        "<div class=site>{% block content %}{% endblock %}</div>"
    )
    templates = [dict(settings.TEMPLATES[0])]
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    body = text(client.get("/auth/login/"))
    assert "<title>Sign in | Site</title>" in body
    assert re.search(r"<div class=site>\s*<h1>Sign in</h1>", body)


def test_user_input_is_escaped(client: Client) -> None:
    response = form_login(client, '"><script>alert(1)</script>@x.test', "x")
    body = text(response)
    assert "<script>alert(1)</script>" not in body
    assert "&quot;&gt;&lt;script&gt;" in body


def test_the_views_work_under_another_namespace(
    client: Client, settings: Any, user: TestUser
) -> None:
    settings.ROOT_URLCONF = "tests.django.urls_namespaced"
    page = client.get("/account/login/?next=/private/")
    assert page.status_code == 200
    assert 'action="/account/login/"' in text(page)
    response = client.post(
        "/account/login/",
        {
            "csrfmiddlewaretoken": csrf_of(page),
            "email": user.email,
            "password": "wrong-password",
        },
    )
    assert response.status_code == 400 and BAD_LOGIN in text(response)


# -- a Secure cookie the browser would drop ---------------------------------------------


def test_a_secure_cookie_over_plain_http_off_loopback_is_logged_once(
    user: TestUser, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Django's test client asks for http://testserver/: plain http, not loopback.
    monkeypatch.setattr(pb_ssr._hints, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="pb_ssr"):
        assert auth_cookie(form_login(Client(), user.email, user.password)) is not None
        form_login(Client(), user.email, user.password)
    hints = [r for r in caplog.records if "browser drops it" in r.getMessage()]
    assert len(hints) == 1
    assert "'testserver'" in hints[0].getMessage()


@override_settings(ALLOWED_HOSTS=["localhost"])
def test_no_warning_on_localhost(
    user: TestUser, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pb_ssr._hints, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="pb_ssr"):
        response = form_login(Client(HTTP_HOST="localhost:8000"), user.email, user.password)
    assert auth_cookie(response) is not None
    assert not [r for r in caplog.records if "browser drops it" in r.getMessage()]


def test_the_login_page_shows_the_hint_in_debug_only(client: Client) -> None:
    assert 'data-testid="cookie-hint"' not in text(client.get("/auth/login/"))
    with override_settings(DEBUG=True):
        body = text(client.get("/auth/login/"))
    assert 'data-testid="cookie-hint"' in body and "COOKIE_SECURE" in body


# -- email change ----------------------------------------------------------------------------


def test_email_change_end_to_end(
    client: Client, configure: Configure, mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()
    configure(mail_server.url)
    # Signed-in users only: an anonymous visitor is sent to sign in.
    assert client.get("/auth/email-change/")["Location"].startswith("/auth/login/")
    assert form_login(client, user.email, user.password).status_code == 303
    new_email = f"moved-{secrets.token_hex(4)}@example.test"
    sent = post_form(client, "/auth/email-change/", {"email": new_email})
    assert sent.status_code == 200 and f"We sent a confirmation link to {new_email}" in text(sent)
    token = extract_token(mail_sink.wait_for(new_email, subject_contains="new email"))

    page = client.get(f"/auth/email-change/{token}/")
    assert page.status_code == 200 and page["Referrer-Policy"] == "no-referrer"
    wrong = client.post(
        f"/auth/email-change/{token}/",
        {"csrfmiddlewaretoken": csrf_of(page), "password": "not-the-password"},
    )
    assert wrong.status_code == 400
    # Without its CSRF token the confirmation is refused.
    assert (
        client.post(f"/auth/email-change/{token}/", {"password": user.password}).status_code == 403
    )
    done = client.post(
        f"/auth/email-change/{token}/",
        {"csrfmiddlewaretoken": csrf_of(page), "password": user.password},
    )
    assert done.status_code == 200 and "Your email address was changed" in text(done)
    # PocketBase revoked the old session; this browser is signed out at once.
    deleted = auth_cookie(done)
    assert deleted is not None and deleted.value == ""
    assert whoami(client).startswith("anonymous")
    assert form_login(client, user.email, user.password).status_code == 400
    assert form_login(client, new_email, user.password).status_code == 303
    assert whoami(client) == f"user:{new_email}"


def test_email_change_refusals(client: Client, user: TestUser) -> None:
    login(client, user)
    # A taken (here: the user's own) or invalid address gets one generic answer.
    page = post_form(client, "/auth/email-change/", {"email": user.email})
    assert page.status_code == 400
    bad = post_form(client, "/auth/email-change/", {"email": "not-an-email"})
    assert bad.status_code == 400
    confirm = post_form(
        client, "/auth/email-change/bogus-token/", {"password": "whatever-password"}
    )
    assert confirm.status_code == 400 and BAD_LINK in text(confirm)
