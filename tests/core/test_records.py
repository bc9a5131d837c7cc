"""Records built from decoded JSON (the list fast path) are the records ``Record()`` builds."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest

from pb_ssr import ListResult, Record
from pb_ssr._records import to_record


def shape(value: Any) -> Any:
    """The value with every container's exact type spelled out."""
    if isinstance(value, dict):
        return (type(value).__name__, {k: shape(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("list", [shape(v) for v in value])
    return value


EXPANDS: list[Any] = [
    {},
    None,
    [],
    "not a relation",
    {"user": {"id": "u1", "name": "Ada"}},
    {"user": {"id": "u1", "expand": {"org": {"id": "o1"}}}},
    {"user": {"id": "u1", "expand": {}}},
    {"tags": [{"id": "t1"}, "raw", {"id": "t2", "expand": {"x": [{"id": "x1"}]}}]},
    {"user": None, "proxy": MappingProxyType({"id": "p1"})},
    OrderedDict(user={"id": "u1"}),
    MappingProxyType({"user": {"id": "u1"}}),
]


@pytest.mark.parametrize("expand", EXPANDS)
def test_fast_path_builds_what_the_constructor_builds(expand: Any) -> None:
    raw = {"id": "m1", "text": "hi", "expand": expand}
    built = to_record(raw)
    listed = ListResult.from_json({"items": [raw]}).items[0]
    assert type(built) is Record and type(listed) is Record
    assert shape(built) == shape(Record(raw)) == shape(listed)


def test_fast_path_copies_what_the_constructor_copies() -> None:
    user = {"id": "u1"}
    raw = {"id": "m1", "expand": {"user": user}}
    rec = to_record(raw)
    rec["id"] = "changed"
    rec.expand["user"]["id"] = "changed"
    assert raw == {"id": "m1", "expand": {"user": {"id": "u1"}}}
    assert rec.expand["user"] is not user
