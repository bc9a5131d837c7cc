"""Auth flows end to end with the sync client: PocketBase, a real SMTP sink, a real OIDC provider.

OTP, MFA, email verification, password reset, email change, OAuth2 and the rate
limiter's answer. Mail and OAuth2 tests run on isolated servers (their settings
change); the peers are in ``tests/peers.py``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from urllib.parse import quote

import pytest

from pb_ssr import ClientResponseError, PocketBase, RecordAuthResponse, SessionManager, Settings
from pb_ssr.testing import PocketBaseServer

from ..peers import MailSink, OIDCProvider, body_text, extract_otp, extract_token
from ..versions import NEW_DEVICE_BY_USER_AGENT, OAUTH2_IS_NEW

REDIRECT_URL = "http://127.0.0.1:8000/auth/oauth2/callback"


def enable_otp(server: PocketBaseServer, *, mfa: bool = False) -> None:
    body = {"otp": {"enabled": True}, "mfa": {"enabled": mfa}}
    server.api("PATCH", "/api/collections/users", json=body)


def get_user(server: PocketBaseServer, record_id: str) -> dict[str, object]:
    record: dict[str, object] = server.api("GET", f"/api/collections/users/records/{record_id}")
    return record


# -- OTP ---------------------------------------------------------------------------


def test_otp_login_saves_the_store(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server)
    pb = PocketBase(mail_server.url)
    users = pb.collection("users")

    otp_id = users.request_otp(user.email)
    assert otp_id
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))
    assert len(code) == 8 and code.isdigit()
    auth = users.auth_with_otp(otp_id, code)

    assert auth.record.id == user.id
    assert pb.auth_store.token == auth.token and pb.auth_store.is_valid
    assert pb.auth_store.record is not None and pb.auth_store.record.id == user.id
    refreshed = users.auth_refresh()
    assert refreshed.record.id == user.id and pb.auth_store.token == refreshed.token


def test_otp_wrong_code_is_a_400(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server)
    pb = PocketBase(mail_server.url)
    otp_id = pb.collection("users").request_otp(user.email)
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))
    wrong = f"{(int(code) + 1) % 10**8:08d}"

    with pytest.raises(ClientResponseError) as info:
        pb.collection("users").auth_with_otp(otp_id, wrong)
    assert info.value.status == 400
    assert info.value.message == "Invalid or expired OTP."
    assert pb.auth_store.token == "" and pb.auth_store.record is None


def test_otp_for_an_unknown_email_gets_an_id_but_no_mail(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server)
    pb = PocketBase(mail_server.url)
    unknown = f"nobody-{secrets.token_hex(4)}@example.test"

    fake_id = pb.collection("users").request_otp(unknown)
    assert fake_id
    # PocketBase stored no OTP under that id, so there is nothing to mail...
    otps = mail_server.api("GET", "/api/collections/_otps/records", params={"perPage": 200})
    assert fake_id not in {item["id"] for item in otps["items"]}
    # ...and by the time a later, real OTP mail has arrived, none went to the unknown address.
    pb.collection("users").request_otp(user.email)
    mail_sink.wait_for(user.email, subject_contains="OTP")
    assert mail_sink.received(unknown) == []


# -- MFA ---------------------------------------------------------------------------


def test_mfa_password_then_otp(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    # Created before MFA is on: create_user logs in with the password alone.
    user = mail_server.create_user()
    enable_otp(mail_server, mfa=True)
    pb = PocketBase(mail_server.url)
    users = pb.collection("users")

    with pytest.raises(ClientResponseError) as info:
        users.auth_with_password(user.email, user.password)
    mfa_id = info.value.mfa_id
    assert info.value.status == 401 and info.value.is_unauthorized
    assert mfa_id
    assert pb.auth_store.token == "" and pb.auth_store.record is None
    # mfa_id reaches PocketBase: the same factor twice is refused, not asked again.
    with pytest.raises(ClientResponseError) as again:
        users.auth_with_password(user.email, user.password, mfa_id=mfa_id)
    assert again.value.status == 400 and again.value.mfa_id is None
    assert again.value.message == "A different authentication method is required."

    otp_id = users.request_otp(user.email)
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))
    auth = users.auth_with_otp(otp_id, code, mfa_id)

    assert auth.record.id == user.id
    assert pb.auth_store.token == auth.token and pb.auth_store.is_valid


# -- email verification ------------------------------------------------------------


def test_confirm_verification_verifies_the_record(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    pb = PocketBase(mail_server.url)

    assert pb.collection("users").request_verification(user.email) is True
    token = extract_token(mail_sink.wait_for(user.email, subject_contains="Verify"))
    assert pb.collection("users").confirm_verification(token) is True

    assert get_user(mail_server, user.id)["verified"] is True
    # A guest store has no record to update.
    assert pb.auth_store.token == "" and pb.auth_store.record is None


def test_confirm_verification_updates_the_signed_in_store(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    pb = PocketBase(mail_server.url)
    pb.collection("users").auth_with_password(user.email, user.password)
    before = pb.auth_store.record
    assert before is not None and before["verified"] is False
    token = pb.auth_store.token

    pb.collection("users").request_verification(user.email)
    pb.collection("users").confirm_verification(
        extract_token(mail_sink.wait_for(user.email, subject_contains="Verify"))
    )

    after = pb.auth_store.record
    assert after is not None and after["verified"] is True
    assert pb.auth_store.token == token
    assert get_user(mail_server, user.id)["verified"] is True


# -- password reset ----------------------------------------------------------------


def test_password_reset(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    signed_in = PocketBase(mail_server.url)
    signed_in.collection("users").auth_with_password(user.email, user.password)
    pb = PocketBase(mail_server.url)

    assert pb.collection("users").request_password_reset(user.email) is True
    token = extract_token(mail_sink.wait_for(user.email, subject_contains="Reset"))
    new_password = secrets.token_urlsafe(12)
    assert pb.collection("users").confirm_password_reset(token, new_password, new_password)

    with pytest.raises(ClientResponseError) as info:
        pb.collection("users").auth_with_password(user.email, user.password)
    assert info.value.status == 400
    auth = pb.collection("users").auth_with_password(user.email, new_password)
    assert auth.record.id == user.id
    # The reset rotated the record's tokenKey: the earlier session is dead.
    with pytest.raises(ClientResponseError) as info:
        signed_in.collection("users").auth_refresh()
    assert info.value.status == 401


def test_new_device_alert_names_the_browser_behind_the_app(
    mail_server: PocketBaseServer, mail_sink: MailSink, pocketbase_version: tuple[int, ...]
) -> None:
    # PocketBase mails a "new sign-in" alert for an unknown address + User-Agent.
    # Through pb-ssr the User-Agent is the browser's, so a second browser is a new
    # device (and the mail names it) while the same browser again is not.
    user = mail_server.create_user()
    manager = SessionManager(Settings.from_mapping({"URL": mail_server.url}), secret_key="k" * 32)

    def sign_in(agent: str) -> None:
        session = manager.open(None, client_ip="203.0.113.5", user_agent=agent)
        session.client().collection("users").auth_with_password(user.email, user.password)

    laptop = f"Mozilla/5.0 (Laptop {secrets.token_hex(3)})"
    phone = f"Mozilla/5.0 (Phone {secrets.token_hex(3)})"
    sign_in(laptop)
    sign_in(laptop)
    sign_in(phone)
    if pocketbase_version < NEW_DEVICE_BY_USER_AGENT:
        # Older releases tell devices apart by address only: the phone, at the same
        # address, is no new device, and no alert names it.
        time.sleep(1)
        assert not any(phone in body_text(m) for m in mail_sink.received(user.email))
        return
    deadline = time.monotonic() + 10
    while not any(phone in body_text(m) for m in mail_sink.received(user.email)):
        assert time.monotonic() < deadline, "no new-device alert named the phone"
        time.sleep(0.05)
    # The phone's alert was the last sign-in; the laptop got at most the one alert
    # for its own first visit (the fixture's sign-in came from another agent).
    assert sum(laptop in body_text(m) for m in mail_sink.received(user.email)) <= 1


# -- email change ------------------------------------------------------------------


def test_email_change(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    pb = PocketBase(mail_server.url)
    pb.collection("users").auth_with_password(user.email, user.password)
    new_email = f"new-{secrets.token_hex(4)}@example.test"

    assert pb.collection("users").request_email_change(new_email) is True
    msg = mail_sink.wait_for(new_email, subject_contains="new email")
    # The confirmation goes to the new address only. (The old one may get
    # PocketBase's new-device alert: the fixture signed in with another User-Agent.)
    assert mail_sink.received(user.email, subject_contains="new email") == []
    assert pb.collection("users").confirm_email_change(extract_token(msg), user.password)

    # Like the JS SDK: the change revoked the token, so the store is cleared.
    assert pb.auth_store.token == "" and pb.auth_store.record is None
    assert get_user(mail_server, user.id)["email"] == new_email
    auth = pb.collection("users").auth_with_password(new_email, user.password)
    assert auth.record.id == user.id and auth.record["email"] == new_email
    with pytest.raises(ClientResponseError) as info:
        pb.collection("users").auth_with_password(user.email, user.password)
    assert info.value.status == 400


def test_email_change_needs_a_signed_in_client(pb_client: PocketBase) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb_client.collection("users").request_email_change("new@example.test")
    assert info.value.status == 401


# -- OAuth2 ------------------------------------------------------------------------


def oauth2_login(
    pb: PocketBase, provider: OIDCProvider, sub: str, *, code_verifier: str | None = None
) -> RecordAuthResponse:
    """Run the server-side OAuth2 flow as a web app does, signing in at *provider* as *sub*.

    1. ``list_auth_methods()`` gives ``authURL``, ``state`` and ``codeVerifier``
       (a web app keeps the last two in a short-lived cookie);
    2. the browser goes to ``authURL`` + the redirect URL and comes back with
       ``code`` and ``state``;
    3. the app checks ``state`` and exchanges the code.
    """
    methods = pb.collection("users").list_auth_methods()
    (info,) = methods["oauth2"]["providers"]
    code, state = provider.authorize(info["authURL"] + quote(REDIRECT_URL, safe=""), sub)
    assert state == info["state"]
    return pb.collection("users").auth_with_oauth2_code(
        "oidc", code, code_verifier or info["codeVerifier"], REDIRECT_URL
    )


def test_list_auth_methods_offers_the_provider(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider
) -> None:
    pb = PocketBase(oauth_server.url)
    methods = pb.collection("users").list_auth_methods()
    assert methods["oauth2"]["enabled"] is True
    (info,) = methods["oauth2"]["providers"]
    assert info["name"] == "oidc"
    assert info["authURL"].startswith(f"{oidc_provider.url}/oauth2/authorize?")
    assert info["authURL"].endswith("redirect_uri=")
    assert info["state"] and info["codeVerifier"]
    assert info["codeChallengeMethod"] == "S256"
    # New state and verifier on every call.
    again = pb.collection("users").list_auth_methods()["oauth2"]["providers"][0]
    assert (again["state"], again["codeVerifier"]) != (info["state"], info["codeVerifier"])


def test_oauth2_creates_then_finds_the_user(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider, pocketbase_version: tuple[int, ...]
) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    email = f"{sub}@example.test"
    oidc_provider.set_user(sub, email, "Ada Lovelace")
    pb = PocketBase(oauth_server.url)

    first = oauth2_login(pb, oidc_provider, sub)

    assert first.meta.get("isNew", pocketbase_version < OAUTH2_IS_NEW) is True
    assert first.meta["email"] == email and first.meta["id"] == sub
    assert first.record["email"] == email and first.record["verified"] is True
    assert pb.auth_store.token == first.token
    assert pb.auth_store.record is not None and pb.auth_store.record.id == first.record.id

    second = PocketBase(oauth_server.url)
    again = oauth2_login(second, oidc_provider, sub)
    assert again.meta.get("isNew", False) is False
    assert ("isNew" in again.meta) is (pocketbase_version >= OAUTH2_IS_NEW)
    assert again.record.id == first.record.id
    assert second.auth_store.is_valid


def test_oauth2_create_data_fills_the_new_record(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider, pocketbase_version: tuple[int, ...]
) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    oidc_provider.set_user(sub, f"{sub}@example.test", "Grace")
    pb = PocketBase(oauth_server.url)
    (info,) = pb.collection("users").list_auth_methods()["oauth2"]["providers"]
    code, _ = oidc_provider.authorize(info["authURL"] + quote(REDIRECT_URL, safe=""), sub)

    auth = pb.collection("users").auth_with_oauth2_code(
        "oidc", code, info["codeVerifier"], REDIRECT_URL, {"name": "From createData"}
    )
    assert auth.meta.get("isNew", pocketbase_version < OAUTH2_IS_NEW) is True
    assert auth.record["name"] == "From createData"


def test_oauth2_reused_code_is_a_400(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider
) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    oidc_provider.set_user(sub, f"{sub}@example.test", "Eve")
    pb = PocketBase(oauth_server.url)
    (info,) = pb.collection("users").list_auth_methods()["oauth2"]["providers"]
    code, _ = oidc_provider.authorize(info["authURL"] + quote(REDIRECT_URL, safe=""), sub)
    first = pb.collection("users").auth_with_oauth2_code(
        "oidc", code, info["codeVerifier"], REDIRECT_URL
    )

    other = PocketBase(oauth_server.url)
    with pytest.raises(ClientResponseError) as exc_info:
        other.collection("users").auth_with_oauth2_code(
            "oidc", code, info["codeVerifier"], REDIRECT_URL
        )
    assert exc_info.value.status == 400
    assert exc_info.value.message == "Failed to fetch OAuth2 token."
    assert other.auth_store.token == ""
    assert pb.auth_store.token == first.token


def test_oauth2_redirect_url_mismatch_is_a_400(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider
) -> None:
    # oidc-provider-mock 0.3 does not check PKCE (a wrong code_verifier passes), so
    # the failed exchange is provoked with the other value bound to the code.
    sub = f"sub-{secrets.token_hex(4)}"
    oidc_provider.set_user(sub, f"{sub}@example.test", "Eve")
    pb = PocketBase(oauth_server.url)
    (info,) = pb.collection("users").list_auth_methods()["oauth2"]["providers"]
    code, _ = oidc_provider.authorize(info["authURL"] + quote(REDIRECT_URL, safe=""), sub)

    with pytest.raises(ClientResponseError) as exc_info:
        pb.collection("users").auth_with_oauth2_code(
            "oidc", code, info["codeVerifier"], REDIRECT_URL + "/elsewhere"
        )
    assert exc_info.value.status == 400
    assert pb.auth_store.token == "" and pb.auth_store.record is None
    assert oauth_server.api("GET", "/api/collections/users/records")["totalItems"] == 0


# -- rate limiter ------------------------------------------------------------------


def test_rate_limited_login_says_so(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    # Created first: create_user's own password login would count against the limit.
    user = server.create_user()
    # A long window, so the third attempt lands in the same one as the first two.
    rule = {"label": "*:auth", "maxRequests": 2, "duration": 60}
    server.update_settings({"rateLimits": {"enabled": True, "rules": [rule]}})
    pb = PocketBase(server.url)

    errors = []
    for _ in range(3):
        with pytest.raises(ClientResponseError) as info:
            pb.collection("users").auth_with_password(user.email, "wrong-password")
        errors.append(info.value)

    assert [e.status for e in errors] == [400, 400, 429]
    assert [e.is_rate_limited for e in errors] == [False, False, True]
    assert errors[2].message == "Too Many Requests."
