"""The service client notices a revoked token, and offers "sign out everywhere".

Regression: when its superuser token was revoked (password changed, ``tokenKey``
rotated), PocketBase answered list calls as a *guest* without an error, and
``ServiceClient`` returned empty lists until it happened to renew the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from pb_ssr import ClientResponseError, PocketBase, ServiceClient, SessionManager, Settings
from pb_ssr.testing import PocketBaseServer, TestUser

from .test_session import SECRET, cookie_for


@dataclass
class Superuser:
    id: str
    email: str
    password: str


@pytest.fixture
def superuser(pb_superuser: PocketBase) -> Iterator[Superuser]:
    """A throwaway superuser, so rotating its tokenKey disturbs no other test."""
    email = f"svc-{secrets.token_hex(4)}@example.test"
    password = secrets.token_urlsafe(16)
    record = pb_superuser.collection("_superusers").create(
        {"email": email, "password": password, "passwordConfirm": password}
    )
    yield Superuser(record.id, email, password)
    with contextlib.suppress(ClientResponseError):
        pb_superuser.collection("_superusers").delete(record.id)


@pytest.fixture
def member(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Grace")


def rotate(pb_superuser: PocketBase, collection: str, record_id: str) -> None:
    pb_superuser.collection(collection).update(record_id, {"tokenKey": secrets.token_hex(25)})


def test_a_revoked_superuser_token_is_noticed_not_served_as_a_guest(
    pocketbase_url: str, pb_superuser: PocketBase, superuser: Superuser, member: TestUser
) -> None:
    service = ServiceClient(
        pocketbase_url, email=superuser.email, password=superuser.password, confirm_every=0.2
    )
    first = service.token()
    assert service.collection("users").get_one(member.id)["id"] == member.id

    rotate(pb_superuser, "_superusers", superuser.id)
    # What the old token now sees: a guest's view, no error (the danger).
    guest_view = PocketBase(pocketbase_url)
    guest_view.auth_store.save(first, None)
    filter_ = guest_view.filter("id = {:id}", id=member.id)
    assert guest_view.collection("users").get_list(1, 1, filter=filter_).items == []

    time.sleep(0.25)  # confirm_every elapses
    found = service.collection("users").get_list(1, 1, filter=filter_).items
    assert [r.id for r in found] == [member.id]
    assert service.token() != first


def test_a_401_signs_in_again_and_retries_once(
    pocketbase_url: str, pb_superuser: PocketBase, superuser: Superuser
) -> None:
    service = ServiceClient(
        pocketbase_url, email=superuser.email, password=superuser.password, confirm_every=3600
    )
    pb = service.client()
    first = pb.auth_store.token
    rotate(pb_superuser, "_superusers", superuser.id)
    # A superuser-only endpoint answers the revoked token with 401: signed in again.
    collections = pb.send("/api/collections", query={"perPage": 1})
    assert collections["totalItems"] > 0
    assert pb.auth_store.token != first and service.token() == pb.auth_store.token


def test_impersonation_survives_a_rotated_superuser_token(
    pocketbase_url: str, pb_superuser: PocketBase, superuser: Superuser, member: TestUser
) -> None:
    service = ServiceClient(
        pocketbase_url, email=superuser.email, password=superuser.password, confirm_every=3600
    )
    service.token()
    rotate(pb_superuser, "_superusers", superuser.id)
    as_member = service.as_user(member.id, duration=60)
    assert as_member.auth_store.record is not None
    assert as_member.auth_store.record.id == member.id


def test_changed_credentials_are_a_clear_error(
    pocketbase_url: str, pb_superuser: PocketBase, superuser: Superuser
) -> None:
    service = ServiceClient(
        pocketbase_url, email=superuser.email, password=superuser.password, confirm_every=0
    )
    service.token()
    new = secrets.token_urlsafe(16)
    pb_superuser.collection("_superusers").update(
        superuser.id, {"password": new, "passwordConfirm": new}
    )
    with pytest.raises(ClientResponseError) as info:
        service.collection("users").get_list(1, 1)
    assert "service client" in str(info.value)
    assert "SUPERUSER_PASSWORD" in str(info.value)
    assert superuser.password not in str(info.value) and new not in str(info.value)


def test_a_revoked_pre_issued_token_is_a_clear_error(
    pocketbase_url: str, pb_superuser: PocketBase, superuser: Superuser
) -> None:
    own = PocketBase(pocketbase_url)
    own.collection("_superusers").auth_with_password(superuser.email, superuser.password)
    token = own.collection("_superusers").impersonate(superuser.id, 3600).auth_store.token
    service = ServiceClient(pocketbase_url, token=token, confirm_every=0)
    assert service.collection("_superusers").get_full_list()
    rotate(pb_superuser, "_superusers", superuser.id)
    with pytest.raises(ClientResponseError) as info:
        service.collection("_superusers").get_full_list()
    assert "service client" in str(info.value) and "SERVICE_TOKEN" in str(info.value)
    assert token not in str(info.value)

    # With credentials as well, it falls back to signing in.
    both = ServiceClient(
        pocketbase_url,
        token=token,
        email=superuser.email,
        password=superuser.password,
        confirm_every=0,
    )
    assert superuser.email in [a["email"] for a in both.collection("_superusers").get_full_list()]


@pytest.mark.anyio
async def test_the_async_client_notices_too(
    pocketbase_url: str, pb_superuser: PocketBase, superuser: Superuser
) -> None:
    service = ServiceClient(
        pocketbase_url, email=superuser.email, password=superuser.password, confirm_every=0
    )
    first = await service.atoken()
    await asyncio.to_thread(rotate, pb_superuser, "_superusers", superuser.id)
    pb = await service.aclient()
    admins = await pb.collection("_superusers").get_full_list()
    assert superuser.email in [a["email"] for a in admins]
    assert pb.auth_store.token != first


@pytest.mark.parametrize("duration", [0, -5, True, 1.5])
def test_as_user_needs_a_positive_duration(
    pocketbase_url: str, superuser: Superuser, member: TestUser, duration: object
) -> None:
    service = ServiceClient(pocketbase_url, email=superuser.email, password=superuser.password)
    with pytest.raises(ValueError, match="duration"):
        service.as_user(member.id, duration=duration)  # type: ignore[arg-type]


# -- sign out everywhere -----------------------------------------------------------------


def test_revoke_sessions_signs_a_user_out_of_every_device(
    pocketbase_server: PocketBaseServer, superuser: Superuser, member: TestUser
) -> None:
    settings = Settings.from_mapping({"URL": pocketbase_server.url, "VALIDATE_TTL": 0})
    manager = SessionManager(settings, secret_key=SECRET)
    phone = cookie_for(manager, member.token, member.record)
    laptop_login = PocketBase(pocketbase_server.url)
    laptop_login.collection("users").auth_with_password(member.email, member.password)
    laptop = cookie_for(manager, laptop_login.auth_store.token, member.record)
    assert manager.open(phone).user() is not None
    assert manager.open(laptop).user() is not None

    service = ServiceClient(
        pocketbase_server.url, email=superuser.email, password=superuser.password
    )
    service.revoke_sessions("users", member.id)

    for cookie in (phone, laptop):
        session = manager.open(cookie)
        assert session.user() is None
        assert session.finalize().cookie.is_delete  # type: ignore[union-attr]
    # The password still works: a new sign-in is a new session.
    again = PocketBase(pocketbase_server.url)
    again.collection("users").auth_with_password(member.email, member.password)
    assert manager.open(cookie_for(manager, again.auth_store.token, member.record)).user()


@pytest.mark.anyio
async def test_arevoke_sessions(
    pocketbase_url: str, superuser: Superuser, member: TestUser
) -> None:
    service = ServiceClient(pocketbase_url, email=superuser.email, password=superuser.password)
    await service.arevoke_sessions("users", member.id)
    stale = PocketBase(pocketbase_url)
    stale.auth_store.save(member.token, None)
    with pytest.raises(ClientResponseError) as info:
        stale.collection("users").auth_refresh()
    assert info.value.status == 401
