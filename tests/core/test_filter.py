from __future__ import annotations

import datetime as dt

import pytest

from pb_ssr import ClientResponseError, PocketBase, build_filter
from pb_ssr._filter import filter_literal
from pb_ssr.testing import PocketBaseServer

from ..versions import BACKSLASH_ESCAPES


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-12, "-12"),
        (1.5, "1.5"),
        ("abc", "'abc'"),
        ("it's", "'it\\'s'"),
        ("back\\slash", "'back\\\\slash'"),
        ("", "''"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 678900, tzinfo=dt.UTC), "'2024-01-02 03:04:05.678Z'"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "'2024-01-02 03:04:05.000Z'"),
        (
            dt.datetime(2024, 1, 2, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "'2024-01-02 03:00:00.000Z'",
        ),
        (dt.date(2024, 1, 2), "'2024-01-02 00:00:00.000Z'"),
        ({"a": "b'c"}, '\'{"a":"b\\\'c"}\''),
        ([1, 2], "'[1,2]'"),
    ],
)
def test_literal(value: object, expected: str) -> None:
    assert filter_literal(value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="Cannot use"):
        filter_literal(value)


def test_placeholders_are_replaced_once() -> None:
    expr = build_filter("a = {:a} && b = {:b} && c = {:missing}", {"a": "{:b}", "b": 1})
    # A value that looks like a placeholder is never expanded again.
    assert expr == "a = '{:b}' && b = 1 && c = {:missing}"


def test_without_params_the_expression_is_unchanged() -> None:
    assert build_filter("id != ''") == "id != ''"
    assert PocketBase("http://127.0.0.1:1").filter("x = {:x}") == "x = {:x}"


def test_expression_must_be_text() -> None:
    with pytest.raises(TypeError):
        build_filter(b"x", {"x": 1})  # type: ignore[arg-type]


# -- against the real server: escaping holds and injection fails ---------------------


@pytest.fixture(scope="module")
def notes(pocketbase_server: PocketBaseServer) -> PocketBaseServer:
    titles = ["plain", "it's", "back\\slash", "tail\\", "x' || title != '", "\\'"]
    for title in titles:
        pocketbase_server.api(
            "POST", "/api/collections/notes/records", json={"title": title, "secret": "s3cret"}
        )
    return pocketbase_server


@pytest.mark.parametrize(
    "title", ["plain", "it's", "back\\slash", "tail\\", "x' || title != '", "\\'"]
)
def test_bound_value_matches_exactly_one_record(
    notes: PocketBaseServer, title: str, pocketbase_version: tuple[int, ...]
) -> None:
    pb = PocketBase(notes.url)
    expr = pb.filter("title = {:t}", t=title)
    if "\\" in title and pocketbase_version < BACKSLASH_ESCAPES:
        # The older lexer takes "\\" as two characters and any "\'" as a quote, so a
        # value with a backslash cannot be matched, and one ending in a backslash
        # leaves its string open: a 400, never a match.
        if title.endswith("\\"):
            with pytest.raises(ClientResponseError) as info:
                pb.collection("notes").get_full_list(filter=expr)
            assert info.value.status == 400
        else:
            assert pb.collection("notes").get_full_list(filter=expr) == []
        return
    found = pb.collection("notes").get_full_list(filter=expr)
    assert [r["title"] for r in found] == [title]


@pytest.mark.parametrize(
    "params",
    [
        {"a": "nothing' || id != '", "b": "x"},
        # The JS SDK's rules (escape ' only) let a trailing backslash eat the quote:
        # title = 'tail\' && secret = ' || id != ''  -> matches everything.
        {"a": "tail\\", "b": " || id != "},
        {"a": "\\", "b": "' || id != '"},
        {"a": "nothing\\' || id != '", "b": "x"},
    ],
)
def test_injection_attempts_match_nothing(
    notes: PocketBaseServer, params: dict[str, str], pocketbase_version: tuple[int, ...]
) -> None:
    pb = PocketBase(notes.url)
    expr = pb.filter("title = {:a} && secret = {:b}", **params)
    if pocketbase_version < BACKSLASH_ESCAPES and params["a"].endswith("\\"):
        # Older lexer: the trailing backslash leaves the string open, so the
        # expression is refused (400); it still never matches anything.
        with pytest.raises(ClientResponseError) as info:
            pb.collection("notes").get_full_list(filter=expr)
        assert info.value.status == 400
        return
    assert pb.collection("notes").get_full_list(filter=expr) == []


def test_js_sdk_escaping_would_have_been_injectable(notes: PocketBaseServer) -> None:
    # Documents why pb-ssr escapes backslashes: the JS SDK's output for the same
    # params matches every record.
    pb = PocketBase(notes.url)
    js_sdk = "title = 'tail\\' && secret = ' || id != ''"
    assert len(pb.collection("notes").get_full_list(filter=js_sdk)) >= 6


def test_datetime_binding_against_server(pocketbase_server: PocketBaseServer) -> None:
    pb = PocketBase(pocketbase_server.url)
    rec = pb.collection("notes").create({"title": "dated", "when": "2030-05-06 07:08:09.000Z"})
    when = dt.datetime(2030, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    found = pb.collection("notes").get_full_list(
        filter=pb.filter("when = {:w} && id = {:id}", w=when, id=rec.id)
    )
    assert [r.id for r in found] == [rec.id]
    found = pb.collection("notes").get_full_list(
        filter=pb.filter("when > {:d} && id = {:id}", d=dt.date(2030, 5, 6), id=rec.id)
    )
    assert [r.id for r in found] == [rec.id]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e308, "1" + "0" * 308),
        (1e16, "10000000000000000"),
        (1e-7, "0.0000001"),
        (-2.5e-5, "-0.000025"),
        (0.1, "0.1"),
        (123456789.125, "123456789.125"),
    ],
)
def test_floats_are_written_without_an_exponent(value: float, expected: str) -> None:
    # repr(1e308) is '1e+308', which PocketBase's filter lexer rejects (a 400).
    assert filter_literal(value) == expected
    assert float(filter_literal(value)) == value


@pytest.mark.parametrize("value", [1e308, 1e16, 1e-7, -2.5e-5])
def test_extreme_floats_are_accepted_by_the_server(
    pocketbase_server: PocketBaseServer, value: float
) -> None:
    pb = PocketBase(pocketbase_server.url)
    rec = pb.collection("notes").create({"title": f"ranked {value}", "rank": -7})
    notes = pb.collection("notes")
    below = notes.get_full_list(filter=pb.filter("rank < {:v} && id = {:id}", v=value, id=rec.id))
    above = notes.get_full_list(filter=pb.filter("rank > {:v} && id = {:id}", v=value, id=rec.id))
    assert ([r.id for r in below], above) == ([rec.id], [])
