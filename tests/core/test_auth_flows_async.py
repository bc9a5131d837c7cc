"""Auth flows end to end with the async client: the same flows as test_auth_flows.py, awaited."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from email.message import EmailMessage
from urllib.parse import quote

import pytest
from anyio import to_thread

from pb_ssr import AsyncPocketBase, ClientResponseError, RecordAuthResponse
from pb_ssr.testing import PocketBaseServer

from ..peers import MailSink, OIDCProvider, extract_otp, extract_token
from ..versions import OAUTH2_IS_NEW
from .test_auth_flows import REDIRECT_URL, enable_otp, get_user

pytestmark = pytest.mark.anyio


async def wait_for_mail(sink: MailSink, to: str, subject: str) -> EmailMessage:
    # wait_for blocks; keep the event loop free while PocketBase sends.
    return await to_thread.run_sync(functools.partial(sink.wait_for, to, subject_contains=subject))


async def authorize(provider: OIDCProvider, info: dict[str, str], sub: str) -> tuple[str, str]:
    url = info["authURL"] + quote(REDIRECT_URL, safe="")
    return await to_thread.run_sync(provider.authorize, url, sub)


async def oauth2_login(pb: AsyncPocketBase, provider: OIDCProvider, sub: str) -> RecordAuthResponse:
    methods = await pb.collection("users").list_auth_methods()
    (info,) = methods["oauth2"]["providers"]
    code, state = await authorize(provider, info, sub)
    assert state == info["state"]
    return await pb.collection("users").auth_with_oauth2_code(
        "oidc", code, info["codeVerifier"], REDIRECT_URL
    )


# -- OTP ---------------------------------------------------------------------------


async def test_otp_login_saves_the_store(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server)
    pb = AsyncPocketBase(mail_server.url)
    users = pb.collection("users")

    otp_id = await users.request_otp(user.email)
    assert otp_id
    code = extract_otp(await wait_for_mail(mail_sink, user.email, "OTP"))
    auth = await users.auth_with_otp(otp_id, code)

    assert auth.record.id == user.id
    assert pb.auth_store.token == auth.token and pb.auth_store.is_valid
    refreshed = await users.auth_refresh()
    assert refreshed.record.id == user.id and pb.auth_store.token == refreshed.token


async def test_otp_wrong_code_is_a_400(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server)
    pb = AsyncPocketBase(mail_server.url)
    otp_id = await pb.collection("users").request_otp(user.email)
    code = extract_otp(await wait_for_mail(mail_sink, user.email, "OTP"))

    with pytest.raises(ClientResponseError) as info:
        await pb.collection("users").auth_with_otp(otp_id, f"{(int(code) + 1) % 10**8:08d}")
    assert info.value.status == 400
    assert pb.auth_store.token == "" and pb.auth_store.record is None


async def test_otp_for_an_unknown_email_gets_an_id_but_no_mail(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server)
    pb = AsyncPocketBase(mail_server.url)
    unknown = f"nobody-{secrets.token_hex(4)}@example.test"

    fake_id = await pb.collection("users").request_otp(unknown)
    assert fake_id
    otps = mail_server.api("GET", "/api/collections/_otps/records", params={"perPage": 200})
    assert fake_id not in {item["id"] for item in otps["items"]}
    await pb.collection("users").request_otp(user.email)
    await wait_for_mail(mail_sink, user.email, "OTP")
    assert mail_sink.received(unknown) == []


# -- MFA ---------------------------------------------------------------------------


async def test_mfa_password_then_otp(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    enable_otp(mail_server, mfa=True)
    pb = AsyncPocketBase(mail_server.url)
    users = pb.collection("users")

    with pytest.raises(ClientResponseError) as info:
        await users.auth_with_password(user.email, user.password)
    mfa_id = info.value.mfa_id
    assert info.value.status == 401 and mfa_id
    assert pb.auth_store.token == "" and pb.auth_store.record is None
    with pytest.raises(ClientResponseError) as again:
        await users.auth_with_password(user.email, user.password, mfa_id=mfa_id)
    assert again.value.status == 400 and again.value.mfa_id is None

    otp_id = await users.request_otp(user.email)
    code = extract_otp(await wait_for_mail(mail_sink, user.email, "OTP"))
    auth = await users.auth_with_otp(otp_id, code, mfa_id)

    assert auth.record.id == user.id
    assert pb.auth_store.token == auth.token and pb.auth_store.is_valid


# -- email verification ------------------------------------------------------------


async def test_confirm_verification_verifies_the_record(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    pb = AsyncPocketBase(mail_server.url)

    assert await pb.collection("users").request_verification(user.email) is True
    token = extract_token(await wait_for_mail(mail_sink, user.email, "Verify"))
    assert await pb.collection("users").confirm_verification(token) is True

    assert get_user(mail_server, user.id)["verified"] is True
    assert pb.auth_store.token == "" and pb.auth_store.record is None


async def test_confirm_verification_updates_the_signed_in_store(
    mail_server: PocketBaseServer, mail_sink: MailSink
) -> None:
    user = mail_server.create_user(verified=False)
    pb = AsyncPocketBase(mail_server.url)
    await pb.collection("users").auth_with_password(user.email, user.password)
    before = pb.auth_store.record
    assert before is not None and before["verified"] is False

    await pb.collection("users").request_verification(user.email)
    token = extract_token(await wait_for_mail(mail_sink, user.email, "Verify"))
    await pb.collection("users").confirm_verification(token)

    after = pb.auth_store.record
    assert after is not None and after["verified"] is True
    assert get_user(mail_server, user.id)["verified"] is True


# -- password reset ----------------------------------------------------------------


async def test_password_reset(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    signed_in = AsyncPocketBase(mail_server.url)
    await signed_in.collection("users").auth_with_password(user.email, user.password)
    pb = AsyncPocketBase(mail_server.url)

    assert await pb.collection("users").request_password_reset(user.email) is True
    token = extract_token(await wait_for_mail(mail_sink, user.email, "Reset"))
    new_password = secrets.token_urlsafe(12)
    assert await pb.collection("users").confirm_password_reset(token, new_password, new_password)

    with pytest.raises(ClientResponseError) as info:
        await pb.collection("users").auth_with_password(user.email, user.password)
    assert info.value.status == 400
    auth = await pb.collection("users").auth_with_password(user.email, new_password)
    assert auth.record.id == user.id
    with pytest.raises(ClientResponseError) as info:
        await signed_in.collection("users").auth_refresh()
    assert info.value.status == 401


# -- email change ------------------------------------------------------------------


async def test_email_change(mail_server: PocketBaseServer, mail_sink: MailSink) -> None:
    user = mail_server.create_user()
    pb = AsyncPocketBase(mail_server.url)
    await pb.collection("users").auth_with_password(user.email, user.password)
    new_email = f"new-{secrets.token_hex(4)}@example.test"

    assert await pb.collection("users").request_email_change(new_email) is True
    msg = await wait_for_mail(mail_sink, new_email, "new email")
    assert await pb.collection("users").confirm_email_change(extract_token(msg), user.password)

    assert pb.auth_store.token == "" and pb.auth_store.record is None
    auth = await pb.collection("users").auth_with_password(new_email, user.password)
    assert auth.record.id == user.id and auth.record["email"] == new_email
    with pytest.raises(ClientResponseError) as info:
        await pb.collection("users").auth_with_password(user.email, user.password)
    assert info.value.status == 400


async def test_email_change_needs_a_signed_in_client(pocketbase_url: str) -> None:
    pb = AsyncPocketBase(pocketbase_url)
    with pytest.raises(ClientResponseError) as info:
        await pb.collection("users").request_email_change("new@example.test")
    assert info.value.status == 401


# -- OAuth2 ------------------------------------------------------------------------


async def test_list_auth_methods_offers_the_provider(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider
) -> None:
    pb = AsyncPocketBase(oauth_server.url)
    methods = await pb.collection("users").list_auth_methods()
    (info,) = methods["oauth2"]["providers"]
    assert info["name"] == "oidc"
    assert info["authURL"].startswith(f"{oidc_provider.url}/oauth2/authorize?")
    assert info["authURL"].endswith("redirect_uri=")
    assert info["state"] and info["codeVerifier"]


async def test_oauth2_creates_then_finds_the_user(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider, pocketbase_version: tuple[int, ...]
) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    email = f"{sub}@example.test"
    oidc_provider.set_user(sub, email, "Ada Lovelace")
    pb = AsyncPocketBase(oauth_server.url)

    first = await oauth2_login(pb, oidc_provider, sub)
    assert first.meta.get("isNew", pocketbase_version < OAUTH2_IS_NEW) is True
    assert first.meta["email"] == email
    assert first.record["email"] == email and first.record["verified"] is True
    assert pb.auth_store.token == first.token

    second = AsyncPocketBase(oauth_server.url)
    again = await oauth2_login(second, oidc_provider, sub)
    assert again.meta.get("isNew", False) is False
    assert again.record.id == first.record.id
    assert second.auth_store.is_valid


async def test_oauth2_reused_code_is_a_400(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider
) -> None:
    sub = f"sub-{secrets.token_hex(4)}"
    oidc_provider.set_user(sub, f"{sub}@example.test", "Eve")
    pb = AsyncPocketBase(oauth_server.url)
    (info,) = (await pb.collection("users").list_auth_methods())["oauth2"]["providers"]
    code, _ = await authorize(oidc_provider, info, sub)
    await pb.collection("users").auth_with_oauth2_code(
        "oidc", code, info["codeVerifier"], REDIRECT_URL
    )

    other = AsyncPocketBase(oauth_server.url)
    with pytest.raises(ClientResponseError) as exc_info:
        await other.collection("users").auth_with_oauth2_code(
            "oidc", code, info["codeVerifier"], REDIRECT_URL
        )
    assert exc_info.value.status == 400
    assert other.auth_store.token == ""


# -- rate limiter ------------------------------------------------------------------


async def test_rate_limited_login_says_so(
    pocketbase_server_factory: Callable[..., PocketBaseServer],
) -> None:
    server = pocketbase_server_factory()
    user = server.create_user()
    rule = {"label": "*:auth", "maxRequests": 2, "duration": 60}
    server.update_settings({"rateLimits": {"enabled": True, "rules": [rule]}})
    pb = AsyncPocketBase(server.url)

    errors = []
    for _ in range(3):
        with pytest.raises(ClientResponseError) as info:
            await pb.collection("users").auth_with_password(user.email, "wrong-password")
        errors.append(info.value)

    assert [e.status for e in errors] == [400, 400, 429]
    assert [e.is_rate_limited for e in errors] == [False, False, True]
