from __future__ import annotations

import pickle

import httpx
import pytest

from pb_ssr import AsyncPocketBase, ClientResponseError, PocketBase

# -- real server: PocketBase's own refusals ----------------------------------------


def test_not_found(pb_client: PocketBase) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb_client.collection("notes").get_one("doesnotexist123")
    err = info.value
    assert err.status == 404
    assert err.is_not_found
    assert err.message == "The requested resource wasn't found."
    assert err.response["status"] == 404
    assert err.url.endswith("/api/collections/notes/records/doesnotexist123")
    assert err.original_error is None
    assert not err.is_abort


def test_validation_errors_carry_field_data(pb_superuser: PocketBase) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb_superuser.collection("messages").create({"text": ""})
    err = info.value
    assert err.status == 400
    assert {"text", "user"} <= set(err.data)
    assert err.data["text"]["code"] == "validation_required"


def test_forbidden_and_unauthorized(pb_client: PocketBase, pb_user_factory: object) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb_client.collection("_superusers").get_list()
    assert info.value.is_forbidden
    with pytest.raises(ClientResponseError) as info:
        pb_client.collection("users").auth_refresh()
    assert info.value.is_unauthorized


def test_bad_filter_is_a_400(pb_client: PocketBase) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb_client.collection("notes").get_list(filter="nosuchfield = 1")
    assert info.value.status == 400


def test_connection_refused_is_status_zero() -> None:
    pb = PocketBase("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ClientResponseError) as info:
        pb.health.check()
    err = info.value
    assert err.status == 0
    assert err.is_transport_error and err.is_server_error
    assert isinstance(err.original_error, httpx.ConnectError)
    assert "Could not reach PocketBase" in str(err)


@pytest.mark.anyio
async def test_connection_refused_async() -> None:
    pb = AsyncPocketBase("http://127.0.0.1:9")
    with pytest.raises(ClientResponseError) as info:
        await pb.health.check()
    assert info.value.status == 0


# -- failures a real server cannot produce on demand -------------------------------


def _client(handler: httpx.MockTransport) -> PocketBase:
    return PocketBase("http://pb.test", http_client=httpx.Client(transport=handler))


def test_timeout_is_an_abort() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ClientResponseError) as info:
        _client(httpx.MockTransport(handler)).collection("x").get_list()
    assert info.value.status == 0
    assert info.value.is_abort
    assert "timed out" in info.value.message


def test_non_json_5xx_keeps_status() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(ClientResponseError) as info:
        _client(transport).collection("x").get_one("a")
    assert info.value.status == 502
    assert info.value.response == {}
    assert info.value.is_server_error


def test_mfa_401_exposes_mfa_id() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(401, json={"mfaId": "abc123"}))
    with pytest.raises(ClientResponseError) as info:
        _client(transport).collection("users").auth_with_password("a@b.c", "pw")
    assert info.value.mfa_id == "abc123"
    assert info.value.is_unauthorized


def test_token_never_in_repr_or_url() -> None:
    err = ClientResponseError(
        url="http://pb/api/files/c/r/f.png?thumb=1x1&token=SECRET", status=404
    )
    assert "SECRET" not in repr(err)
    assert "SECRET" not in err.url
    assert "SECRET" not in str(err)


def test_pickles() -> None:
    err = ClientResponseError(url="http://pb/x", status=400, response={"message": "nope"})
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.status, clone.url, clone.message) == (400, "http://pb/x", "nope")
