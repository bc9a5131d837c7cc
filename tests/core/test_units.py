"""Unit tests of the I/O-free pieces: token claims, the auth store, records."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest

from pb_ssr import AuthStore, ListResult, PocketBase, Record, RecordAuthResponse, decode_claims


def make_token(**claims: object) -> str:
    payload = {"type": "auth", "collectionId": "_pb_users_auth_", "id": "u1", "refreshable": True}
    payload.update(claims)
    return jwt.encode(payload, "not-the-real-key-" * 3, algorithm="HS256")


def test_claims_are_read_without_the_key() -> None:
    exp = int(time.time()) + 3600
    claims = decode_claims(make_token(exp=exp))
    assert claims is not None
    assert (claims.type, claims.collection_id, claims.record_id) == (
        "auth",
        "_pb_users_auth_",
        "u1",
    )
    assert claims.exp == exp
    assert claims.refreshable
    assert 3500 < claims.seconds_left() <= 3600
    assert not claims.is_superuser


def test_impersonation_tokens_are_not_refreshable() -> None:
    claims = decode_claims(make_token(exp=time.time() + 60, refreshable=False))
    assert claims is not None and not claims.refreshable


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "x" * 9000, make_token(exp="soon"), make_token(exp=True)],
)
def test_unreadable_tokens_give_none(token: str) -> None:
    assert decode_claims(token) is None


def test_store_validity_follows_exp() -> None:
    assert not AuthStore().is_valid
    assert AuthStore(make_token(exp=time.time() + 60)).is_valid
    assert not AuthStore(make_token(exp=time.time() - 1)).is_valid
    assert not AuthStore("garbage").is_valid
    # Like the JS SDK, a token without exp counts as valid.
    assert AuthStore(make_token()).is_valid


def test_store_superuser_detection() -> None:
    su = make_token(exp=time.time() + 60, collectionId="pbc_3142635823")
    assert AuthStore(su).is_superuser
    user = make_token(exp=time.time() + 60)
    assert not AuthStore(user).is_superuser
    assert AuthStore(user, {"id": "u1", "collectionName": "_superusers"}).is_superuser


def test_store_on_change_and_clear() -> None:
    store = AuthStore()
    seen: list[tuple[str, object]] = []
    remove = store.on_change(
        lambda token, record: seen.append((token, record)), fire_immediately=True
    )
    token = make_token(exp=time.time() + 60)
    store.save(token, {"id": "u1"})
    store.clear()
    remove()
    store.save(token, None)
    assert seen == [("", None), (token, Record({"id": "u1"})), ("", None)]
    assert store.token == token


def test_store_repr_hides_the_token() -> None:
    token = make_token(exp=time.time() + 60)
    store = AuthStore(token, {"id": "u1"})
    pb = PocketBase("http://127.0.0.1:8090", auth_store=store)
    for text in (repr(store), repr(pb), str(store)):
        assert token not in text
        assert token.split(".")[1] not in text
    assert "u1" in repr(store)
    auth = RecordAuthResponse(token=token, record=Record({"id": "u1"}))
    assert token not in repr(auth)


def test_record_is_a_json_dict_with_nested_expand() -> None:
    raw = {
        "id": "m1",
        "collectionId": "c1",
        "collectionName": "messages",
        "text": "hi",
        "expand": {"user": {"id": "u1", "name": "Ada"}, "tags": [{"id": "t1"}, {"id": "t2"}]},
    }
    rec = Record(raw)
    assert rec.id == "m1" and rec.collection_id == "c1" and rec.collection_name == "messages"
    assert isinstance(rec.expand["user"], Record)
    assert rec.expand["user"]["name"] == "Ada"
    assert [t.id for t in rec.expand["tags"]] == ["t1", "t2"]
    assert json.loads(json.dumps(rec)) == raw
    assert dict(rec)["text"] == "hi"


def test_list_result_from_json() -> None:
    result = ListResult.from_json(
        {"page": 2, "perPage": 10, "totalItems": 11, "totalPages": 2, "items": [{"id": "a"}]}
    )
    assert (result.page, result.per_page, result.total_items, result.total_pages) == (2, 10, 11, 2)
    assert result.items == [Record({"id": "a"})]


@pytest.mark.parametrize("url", ["", "127.0.0.1:8090", "ftp://x", "http://", "http://h/?q=1"])
def test_bad_base_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        PocketBase(url)


@pytest.mark.parametrize("timeout", [0, -1, True, "5"])
def test_bad_timeout_is_refused(timeout: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        PocketBase("http://127.0.0.1:8090", timeout=timeout)  # type: ignore[arg-type]


def test_file_urls() -> None:
    pb = PocketBase("http://127.0.0.1:8090/")
    rec = {"id": "r1", "collectionId": "c1", "collectionName": "docs"}
    assert pb.files.get_url(rec, "a b.png") == "http://127.0.0.1:8090/api/files/c1/r1/a%20b.png"
    assert (
        pb.files.get_url(rec, "a.png", thumb="100x100", token="tok", download=True)
        == "http://127.0.0.1:8090/api/files/c1/r1/a.png?thumb=100x100&token=tok&download=1"
    )
    assert pb.files.get_url({"id": "r1"}, "a.png") == ""
    assert pb.files.get_url(rec, "") == ""


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("http://x/api/collections/m/records", ()),
        ("http://x/api/a", (("filter", "name = 'é & ?#'"), ("page", "1"), ("sort", "-created"))),
        ("http://x/api/files/c/r/a%20b.png", (("thumb", "10x10"),)),
    ],
)
def test_the_pooled_url_cache_builds_what_httpx_builds(
    url: str, params: tuple[tuple[str, str], ...]
) -> None:
    from pb_ssr._base import _pool_url

    expected = httpx.Request("GET", url, params=dict(params)).url
    assert _pool_url(url, params) == expected
    assert str(httpx.Request("GET", _pool_url(url, params)).url) == str(expected)
