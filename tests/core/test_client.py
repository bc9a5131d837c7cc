"""The sync client against a real PocketBase: every record, file, batch and hook feature."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pb_ssr import (
    DEFAULT_TIMEOUT,
    AuthStore,
    ClientResponseError,
    PocketBase,
    Record,
    RecordAuthResponse,
)
from pb_ssr._pool import sync_pool
from pb_ssr.testing import PocketBaseServer, TestUser

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def user(pb_user_factory: Callable[..., TestUser]) -> TestUser:
    return pb_user_factory(name="Ada")


@pytest.fixture
def pb(pocketbase_url: str, user: TestUser) -> PocketBase:
    client = PocketBase(pocketbase_url)
    client.collection("users").auth_with_password(user.email, user.password)
    return client


def test_auth_with_password_saves_into_the_store(pocketbase_url: str, user: TestUser) -> None:
    pb = PocketBase(pocketbase_url)
    changes: list[str] = []
    pb.auth_store.on_change(lambda token, record: changes.append(record.id if record else ""))
    auth = pb.collection("users").auth_with_password(user.email, user.password)
    assert isinstance(auth, RecordAuthResponse)
    assert auth.record.id == user.id
    assert pb.auth_store.token == auth.token
    assert pb.auth_store.record is not None and pb.auth_store.record["email"] == user.email
    assert pb.auth_store.is_valid and not pb.auth_store.is_superuser
    assert changes == [user.id]


def test_wrong_password_is_a_400_and_leaves_the_store_alone(
    pocketbase_url: str, user: TestUser
) -> None:
    pb = PocketBase(pocketbase_url)
    with pytest.raises(ClientResponseError) as info:
        pb.collection("users").auth_with_password(user.email, "wrong-password")
    assert info.value.status == 400
    assert pb.auth_store.token == ""


def test_auth_refresh_renews_and_returns_the_record(pb: PocketBase, user: TestUser) -> None:
    old = pb.auth_store.token
    # fields apply to the whole answer, as in PocketBase: token,record.*
    auth = pb.collection("users").auth_refresh(fields="token,record.id,record.email,record.name")
    assert auth.record.id == user.id
    assert set(auth.record) == {"id", "email", "name"}
    assert pb.auth_store.token == auth.token
    assert pb.auth_store.claims is not None
    assert old  # a new token with a later (or equal) exp
    claims_old = AuthStore(old).claims
    assert claims_old is not None and pb.auth_store.claims.exp is not None
    assert pb.auth_store.claims.exp >= (claims_old.exp or 0)


def test_auth_refresh_by_collection_id(pb: PocketBase, user: TestUser) -> None:
    assert pb.auth_store.claims is not None
    auth = pb.collection(pb.auth_store.claims.collection_id).auth_refresh()
    assert auth.record.id == user.id


def test_list_auth_methods(pb_client: PocketBase) -> None:
    methods = pb_client.collection("users").list_auth_methods()
    assert methods["password"]["enabled"] is True
    assert "email" in methods["password"]["identityFields"]
    assert "oauth2" in methods and "otp" in methods and "mfa" in methods


def test_superuser_login(pocketbase_server: PocketBaseServer) -> None:
    pb = PocketBase(pocketbase_server.url)
    pb.collection("_superusers").auth_with_password(
        pocketbase_server.superuser_email, pocketbase_server.superuser_password
    )
    assert pb.auth_store.is_superuser


def test_impersonate_returns_a_new_client(pb_superuser: PocketBase, user: TestUser) -> None:
    other = pb_superuser.collection("users").impersonate(user.id, 600)
    assert other is not pb_superuser
    assert pb_superuser.auth_store.is_superuser  # untouched
    assert other.auth_store.record is not None and other.auth_store.record.id == user.id
    claims = other.auth_store.claims
    assert claims is not None and not claims.refreshable
    assert 500 < claims.seconds_left() <= 600
    # It sees what the user sees: their own private notes, nobody else's.
    pb_superuser.collection("private_notes").create({"title": "mine", "owner": user.id})
    titles = [r["title"] for r in other.collection("private_notes").get_full_list()]
    assert titles == ["mine"]


def test_impersonate_needs_a_superuser(pb: PocketBase, user: TestUser) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb.collection("users").impersonate(user.id, 60)
    assert info.value.status == 403


def test_crud_round_trip(pb: PocketBase, user: TestUser) -> None:
    messages = pb.collection("messages")
    created = messages.create({"text": "hello", "user": user.id}, expand="user")
    assert isinstance(created, Record)
    assert created["text"] == "hello"
    assert created.expand["user"].id == user.id

    got = messages.get_one(created.id, expand="user", fields="id,text,expand.user.name")
    assert got == {"id": created.id, "text": "hello", "expand": {"user": {"name": "Ada"}}}

    updated = messages.update(created.id, {"text": "edited"})
    assert updated["text"] == "edited"
    assert messages.delete(created.id) is True
    with pytest.raises(ClientResponseError) as info:
        messages.get_one(created.id)
    assert info.value.is_not_found


def test_get_one_with_empty_id_is_a_404_without_a_request(pb: PocketBase) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb.collection("messages").get_one("")
    assert info.value.status == 404


def test_rules_apply(pb: PocketBase, pb_user_factory: Callable[..., TestUser]) -> None:
    other = pb_user_factory()
    with pytest.raises(ClientResponseError) as info:
        pb.collection("messages").create({"text": "spoof", "user": other.id})
    assert info.value.status == 400  # createRule failure is a 400 in PocketBase


def test_get_list_options(pb: PocketBase, user: TestUser) -> None:
    messages = pb.collection("messages")
    for i in range(5):
        messages.create({"text": f"list-{user.id}-{i}", "user": user.id})
    mine = pb.filter("user = {:u}", u=user.id)

    page = messages.get_list(2, 2, filter=mine, sort=["-text"], expand="user")
    assert (page.page, page.per_page, page.total_items, page.total_pages) == (2, 2, 5, 3)
    assert [m["text"][-1] for m in page.items] == ["2", "1"]
    assert page.items[0].expand["user"].id == user.id

    fast = messages.get_list(1, 2, filter=mine, skip_total=True, fields="id,text")
    assert (fast.total_items, fast.total_pages) == (-1, -1)
    assert set(fast.items[0]) == {"id", "text"}

    full = messages.get_full_list(batch=2, filter=mine, sort="text")
    assert [m["text"][-1] for m in full] == ["0", "1", "2", "3", "4"]

    first = messages.get_first_list_item(mine, sort="-text")
    assert first["text"].endswith("-4")
    with pytest.raises(ClientResponseError) as info:
        messages.get_first_list_item(pb.filter("text = {:t}", t="no such text"))
    assert info.value.is_not_found


def test_per_call_query_and_headers(pocketbase_url: str) -> None:
    seen: list[httpx.Request] = []
    pb = PocketBase(pocketbase_url, before_send=lambda r: seen.append(r) or None)
    pb.collection("notes").get_list(query={"custom": 1, "extra": None}, headers={"X-Trace": "t1"})
    request = seen[-1]
    assert request.headers["X-Trace"] == "t1"
    assert request.url.params["custom"] == "1"
    assert "extra" not in request.url.params
    assert request.headers["Accept-Language"] == "en-US"
    assert "Authorization" not in request.headers


def test_hooks_can_change_request_and_response(pocketbase_url: str) -> None:
    def before(request: httpx.Request) -> httpx.Request:
        request.headers["X-From-Hook"] = "1"
        return request

    def after(response: httpx.Response, data: Any) -> Any:
        return {"wrapped": data, "status": response.status_code}

    pb = PocketBase(pocketbase_url, before_send=before, after_send=after)
    result = pb.send("/api/health")
    assert result["status"] == 200
    assert result["wrapped"]["message"] == "API is healthy."


def test_shared_pool_requests_carry_the_pool_headers(pocketbase_url: str) -> None:
    seen: list[tuple[httpx.Request, httpx.Response]] = []

    def after(response: httpx.Response, data: Any) -> Any:
        seen.append((response.request, response))
        return data

    pb = PocketBase(pocketbase_url, after_send=after, timeout=7)
    pb.health.check()
    # A per-call header replaces a pool default whatever its case: never two.
    pb.send("/api/health", headers={"accept": "text/plain"})
    (first, answer), (second, _) = seen
    assert first.headers["User-Agent"] == "pb-ssr"
    assert first.headers["Accept"] == "application/json"
    assert first.extensions["timeout"]["read"] == 7
    assert answer.status_code == 200 and answer.json()["code"] == 200
    assert second.headers.get_list("accept") == ["text/plain"]


def test_own_http_client_keeps_its_own_defaults(pocketbase_url: str) -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(headers={"User-Agent": "my-app"}, timeout=4) as http:
        pb = PocketBase(pocketbase_url, http_client=http, before_send=seen.append)
        assert pb.health.check()["code"] == 200
    assert seen[0].headers["User-Agent"] == "my-app"
    # pb-ssr's own default timeout still applies per request.
    assert seen[0].extensions["timeout"]["read"] == DEFAULT_TIMEOUT.read


def test_send_and_health(pb_superuser: PocketBase) -> None:
    assert pb_superuser.health.check()["code"] == 200
    collections = pb_superuser.send("/api/collections", query={"perPage": 200})
    assert "messages" in {c["name"] for c in collections["items"]}


def test_per_call_timeout(pocketbase_url: str) -> None:
    seen: list[httpx.Request] = []
    pb = PocketBase(pocketbase_url, timeout=4, before_send=lambda r: seen.append(r) or None)
    pb.health.check(timeout=1.5)
    pb.health.check()
    assert seen[0].extensions["timeout"]["read"] == 1.5
    assert seen[1].extensions["timeout"]["read"] == 4


def test_update_of_the_signed_in_record_refreshes_the_store(pb: PocketBase, user: TestUser) -> None:
    pb.collection("users").update(user.id, {"name": "Grace"})
    assert pb.auth_store.record is not None and pb.auth_store.record["name"] == "Grace"


def test_delete_of_the_signed_in_record_clears_the_store(
    pocketbase_url: str, pb_user_factory: Callable[..., TestUser]
) -> None:
    gone = pb_user_factory()
    pb = PocketBase(pocketbase_url)
    pb.collection("users").auth_with_password(gone.email, gone.password)
    pb.collection("users").delete(gone.id)
    assert pb.auth_store.token == "" and pb.auth_store.record is None


def test_files_upload_url_and_protected_token(pb: PocketBase, user: TestUser) -> None:
    doc = pb.collection("docs").create(
        {"title": "with files", "owner": user.id},
        files={
            "attachment": ("pixel.png", PNG, "image/png"),
            "gallery": [("g1.png", PNG), ("g2.png", io.BytesIO(PNG))],
            "secret_file": ("secret.txt", b"top secret"),
        },
    )
    assert doc["attachment"].endswith(".png")
    assert len(doc["gallery"]) == 2

    plain = httpx.get(pb.files.get_url(doc, doc["attachment"]))
    assert plain.status_code == 200 and plain.content == PNG
    thumb = httpx.get(pb.files.get_url(doc, doc["attachment"], thumb="1x1"))
    assert thumb.status_code == 200
    download = httpx.get(pb.files.get_url(doc, doc["attachment"], download=True))
    assert download.headers["content-disposition"].startswith("attachment")

    # A protected file needs a *file* token; the auth token alone gets a 404.
    assert httpx.get(pb.files.get_url(doc, doc["secret_file"])).status_code == 404
    token = pb.files.get_token()
    claims = AuthStore(token).claims
    assert claims is not None and claims.type == "file"
    protected = httpx.get(pb.files.get_url(doc, doc["secret_file"], token=token))
    assert protected.status_code == 200 and protected.content == b"top secret"

    # Updating with files uses the same multipart path.
    updated = pb.collection("docs").update(doc.id, {"title": "renamed"}, files={"attachment": PNG})
    assert updated["title"] == "renamed" and updated["attachment"] != doc["attachment"]


def test_file_token_needs_auth(pb_client: PocketBase) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb_client.files.get_token()
    assert info.value.status == 401


@pytest.fixture(scope="module")
def batch_enabled(pocketbase_server: PocketBaseServer) -> None:
    pocketbase_server.update_settings({"batch": {"enabled": True, "maxRequests": 50}})


def test_batch(batch_enabled: None, pb: PocketBase, user: TestUser) -> None:
    keep = pb.collection("messages").create({"text": "to delete", "user": user.id})
    batch = pb.create_batch()
    batch.collection("messages").create({"text": "b1", "user": user.id})
    batch.collection("messages").update(keep.id, {"text": "b-updated"})
    batch.collection("notes").upsert({"id": "batchupsert0001", "title": "upserted"})
    batch.collection("docs").create({"title": "doc"}, files={"attachment": ("p.png", PNG)})
    results = batch.send()
    assert [r["status"] for r in results] == [200, 200, 200, 200]
    assert results[0]["body"]["text"] == "b1"
    assert results[2]["body"]["id"] == "batchupsert0001"
    assert results[3]["body"]["attachment"].endswith(".png")

    again = pb.create_batch()
    again.collection("messages").delete(keep.id)
    again.collection("messages").create({"text": "", "user": user.id})  # invalid: all rolled back
    with pytest.raises(ClientResponseError) as info:
        again.send()
    assert info.value.status == 400
    assert pb.collection("messages").get_one(keep.id)["text"] == "b-updated"


def test_empty_batch_is_refused(pb: PocketBase) -> None:
    with pytest.raises(ValueError, match="empty"):
        pb.create_batch().send()


def test_clients_share_one_pool_and_keep_auth_apart(
    pocketbase_url: str, pb_user_factory: Callable[..., TestUser]
) -> None:
    users = [pb_user_factory() for _ in range(8)]
    tokens = {u.id: u.token for u in users}
    pool = sync_pool()

    def one_request(i: int) -> tuple[str, str]:
        u = users[i % len(users)]
        pb = PocketBase(pocketbase_url, auth_store=AuthStore(tokens[u.id]))
        assert pb._http is None  # borrows the process pool
        auth = pb.collection("users").auth_refresh()
        return u.id, auth.record.id

    with ThreadPoolExecutor(16) as ex:
        results = list(ex.map(one_request, range(160)))
    assert all(expected == got for expected, got in results)
    assert sync_pool() is pool


def test_own_http_client(pocketbase_url: str) -> None:
    with httpx.Client() as http:
        pb = PocketBase(pocketbase_url, http_client=http)
        assert pb.health.check()["code"] == 200
    with pytest.raises(TypeError, match=r"httpx\.Client"):
        PocketBase(pocketbase_url, http_client=httpx.AsyncClient())  # type: ignore[arg-type]
