"""Ids never escape their path segment: ``.``, ``..`` and empty ids are refused before I/O.

Regression: ``encode_segment`` left ``.`` and ``..`` alone and httpx collapsed them, so
with a superuser client ``collection("x").update("..", {"listRule": ""})`` patched the
*collection* ``x`` (made it public), ``.delete("..")`` deleted it and ``get_one(".")``
returned its list.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from pb_ssr import AsyncPocketBase, ClientResponseError, PocketBase
from pb_ssr.testing import PocketBaseServer

BAD = [".", "..", "%2e%2e/..", "../..", "./."]


@pytest.fixture
def scratch(pb_superuser: PocketBase) -> Iterator[str]:
    """A private base collection (superusers only), deleted after the test."""
    name = f"scratch_{secrets.token_hex(4)}"
    pb_superuser.send(
        "/api/collections",
        method="POST",
        body={
            "name": name,
            "type": "base",
            "fields": [{"name": "title", "type": "text"}],
            "listRule": None,
            "viewRule": None,
        },
    )
    pb_superuser.collection(name).create({"title": "kept"})
    yield name
    with contextlib.suppress(ClientResponseError):
        pb_superuser.send(f"/api/collections/{name}", method="DELETE")


def collection_state(pb: PocketBase, name: str) -> dict[str, Any]:
    data = pb.send(f"/api/collections/{name}")
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("record_id", [".", ".."])
def test_dot_ids_are_refused_before_any_request(
    pb_superuser: PocketBase, scratch: str, record_id: str
) -> None:
    records = pb_superuser.collection(scratch)
    before = collection_state(pb_superuser, scratch)
    calls: list[str] = []
    pb_superuser.before_send = lambda request: calls.append(str(request.url)) or request  # type: ignore[func-returns-value]

    for attempt in (
        lambda: records.update(record_id, {"listRule": ""}),
        lambda: records.delete(record_id),
        lambda: records.get_one(record_id),
        lambda: pb_superuser.collection("users").impersonate(record_id, 60),
    ):
        with pytest.raises(ValueError, match="record id"):
            attempt()
    assert calls == []

    pb_superuser.before_send = None
    after = collection_state(pb_superuser, scratch)
    # The collection is still private and still there, with its record.
    assert after["listRule"] is None and after["updated"] == before["updated"]
    assert records.get_full_list()[0]["title"] == "kept"


def test_before_the_fix_dot_dot_reached_the_collection(
    pocketbase_server: PocketBaseServer, pb_superuser: PocketBase, scratch: str
) -> None:
    # What the refused call would have done: the same URL, built by hand, patches the
    # collection itself. This keeps the test above honest about the danger.
    pb_superuser.send(f"/api/collections/{scratch}/records/..", method="PATCH", body={})
    assert collection_state(pb_superuser, scratch)["name"] == scratch


@pytest.mark.parametrize("name", ["", ".", ".."])
def test_dot_and_empty_collection_names_are_refused(pb_superuser: PocketBase, name: str) -> None:
    with pytest.raises(ValueError):
        pb_superuser.collection(name)


@pytest.mark.parametrize("record_id", BAD[2:])
def test_other_odd_ids_are_encoded_into_one_segment(
    pb_superuser: PocketBase, scratch: str, record_id: str
) -> None:
    with pytest.raises(ClientResponseError) as info:
        pb_superuser.collection(scratch).update(record_id, {"title": "x"})
    assert info.value.status == 404
    assert collection_state(pb_superuser, scratch)["listRule"] is None


def test_batch_and_file_urls_refuse_dot_segments(pb_superuser: PocketBase, scratch: str) -> None:
    batch = pb_superuser.create_batch()
    for bad in (".", ".."):
        with pytest.raises(ValueError, match="record id"):
            batch.collection(scratch).update(bad, {"title": "x"})
        with pytest.raises(ValueError, match="record id"):
            batch.collection(scratch).delete(bad)
        with pytest.raises(ValueError, match="file name"):
            pb_superuser.files.get_url({"id": "abc", "collectionId": "c1"}, bad)
        with pytest.raises(ValueError, match="record id"):
            pb_superuser.files.get_url({"id": bad, "collectionId": "c1"}, "a.png")


@pytest.mark.anyio
async def test_async_client_refuses_them_too(pocketbase_url: str) -> None:
    pb = AsyncPocketBase(pocketbase_url)
    for bad in (".", ".."):
        with pytest.raises(ValueError, match="record id"):
            await pb.collection("users").update(bad, {})
        with pytest.raises(ValueError, match="record id"):
            await pb.collection("users").delete(bad)
