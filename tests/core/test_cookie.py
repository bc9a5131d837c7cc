"""The auth cookie: signing, rotation, trimming, the 4 KB bound, hostile input, JS-SDK format."""

from __future__ import annotations

import json
import logging
import random
import string
import zlib
from typing import Any
from urllib.parse import quote

import flask
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer
from itsdangerous.encoding import base64_encode

from pb_ssr import CookieCodec, CookieUpdate, Settings
from pb_ssr._cookie import MAX_COOKIE_BYTES, parse_cookie_header

KEY = "test-secret-key-0123456789abcdef"
OTHER_KEY = "another-secret-key-fedcba9876543210"

# A PocketBase-shaped token; the codec never looks inside a signed cookie's token.
TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJjb2xsZWN0aW9uSWQiOiJfcGJfdXNlcnNfYXV0aF8iLCJleHAi"
    "OjE5MDg3ODQ4MDAsImlkIjoidTEyMzQ1Njc4OTAxMjM0IiwicmVmcmVzaGFibGUiOnRydWUsInR5cGUiOiJhdXRoIn0"
    ".c2lnbmF0dXJlLW5vdC1jaGVja2VkLWhlcmU"
)
RECORD: dict[str, Any] = {
    "id": "u1234567890123",
    "collectionId": "_pb_users_auth_",
    "collectionName": "users",
    "email": "ada@example.test",
    "emailVisibility": False,
    "name": "Ada Lovelace",
    "verified": True,
    "avatar": "",
    "created": "2026-01-01 00:00:00.000Z",
    "updated": "2026-01-01 00:00:00.000Z",
    "tokenKey": "SECRET-token-key-must-never-be-stored",
    "password": "SECRET-password-hash-must-never-be-stored",
}

# The JS SDK's own test vector (js-sdk tests/stores/LocalAuthStore.spec.ts, exportToCookie()
# "with default options"); its exp is Thu, 27 Jun 2030 10:00:00 GMT.
SDK_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0ZXN0IjoxMjMsImV4cCI6MTkwODc4NDgwMH0"
    ".vVbRVx-Bs7pusxfU8TTTOEtNcUEYSzmJUboC68PB5iE"
)
SDK_VALUE = "%7B%22token%22%3A%22" + SDK_TOKEN + "%22%2C%22record%22%3A%7B%22id%22%3A%221%22%7D%7D"
SDK_SET_COOKIE = (
    f"pb_auth={SDK_VALUE}; Path=/; Expires=Thu, 27 Jun 2030 10:00:00 GMT; HttpOnly; Secure; "
    "SameSite=Strict"
)
# The same, as written by SDKs before 0.22 (``model`` instead of ``record``).
SDK_LEGACY_VALUE = SDK_VALUE.replace("record", "model")


def make_settings(**conf: Any) -> Settings:
    # Secrets pinned to None so a developer's PB_* environment cannot interfere.
    base = {"SUPERUSER_EMAIL": None, "SUPERUSER_PASSWORD": None, "SERVICE_TOKEN": None}
    return Settings.from_mapping({"URL": "http://127.0.0.1:8090", **base, **conf})


def sdk_recipe(token: str, record: dict[str, Any] | None) -> str:
    """The notes' byte-exact Python equivalent of the JS SDK's cookie value."""
    payload = json.dumps(
        {"token": token, "record": record}, separators=(",", ":"), ensure_ascii=False
    )
    return quote(payload, safe="!'()*-._~")


SIGNED = CookieCodec(make_settings(), secret_key=KEY)
JS_SDK = CookieCodec(make_settings(COOKIE_FORMAT="js-sdk"), secret_key=None)
TRIMMED = {k: RECORD[k] for k in SIGNED.settings.RECORD_FIELDS if k in RECORD}


def signed_cookie(token: str = TOKEN, record: dict[str, Any] | None = RECORD) -> str:
    return SIGNED.dump(token, record, max_age=3600).value


def sign_raw(raw: bytes, *, key: str = KEY, salt: str = CookieCodec.salt, zip: bool = False) -> str:
    """Sign arbitrary payload bytes the way the codec's serializer does (optionally zlib'd)."""
    body = b"." + base64_encode(zlib.compress(raw)) if zip else base64_encode(raw)
    signer = URLSafeSerializer(key, salt=salt).make_signer(salt)
    return signer.sign(body).decode("ascii")


def attributes(header: str) -> tuple[str, set[str]]:
    first, *rest = header.split("; ")
    return first, set(rest)


def assert_shape(result: object) -> None:
    """What ``load`` may answer: None, or (non-empty str token, dict or None)."""
    if result is None:
        return
    assert type(result) is tuple and len(result) == 2
    token, record = result
    assert isinstance(token, str) and token
    assert record is None or isinstance(record, dict)


def random_text(n: int, seed: int = 0) -> str:
    # Incompressible: the signed format zlib-compresses, so "a" * 5000 would fit.
    rng = random.Random(seed)
    return "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=n))


# -- the signed format ----------------------------------------------------------------------


def test_round_trip() -> None:
    assert SIGNED.load(signed_cookie()) == (TOKEN, TRIMMED)
    assert SIGNED.load(signed_cookie(record={"id": "u1"})) == (TOKEN, {"id": "u1"})


@pytest.mark.parametrize("codec", [SIGNED, JS_SDK], ids=["signed", "js-sdk"])
def test_round_trip_without_a_record(codec: CookieCodec) -> None:
    # "No record" must come back as None, not as an empty record ({} is a record with
    # no fields; the JS SDK writes "record":null for it).
    update = codec.dump(TOKEN, None, max_age=60)
    assert codec.load(update.value) == (TOKEN, None)


def test_round_trip_unicode_record() -> None:
    record = {"id": "u1", "name": 'Zoë Ørsted 🚀 \u00a0"quoted" ; semi, comma'}
    update = SIGNED.dump(TOKEN, record, max_age=60)
    assert update.value.isascii()
    assert ";" not in update.value and "," not in update.value and " " not in update.value
    assert SIGNED.load(update.value) == (TOKEN, record)


def test_record_is_trimmed_to_record_fields() -> None:
    value = signed_cookie()
    token, record = SIGNED.load(value)  # type: ignore[misc]
    assert token == TOKEN
    assert record == TRIMMED
    assert set(record) <= set(SIGNED.settings.RECORD_FIELDS)
    # Look at the raw signed payload too, not just what load() hands back.
    raw = URLSafeSerializer(KEY, salt=CookieCodec.salt).loads(value)
    assert raw == {"token": TOKEN, "record": TRIMMED}
    for secret in ("tokenKey", "password", "SECRET", "emailVisibility", "created"):
        assert secret not in json.dumps(raw)


def test_custom_record_fields() -> None:
    codec = CookieCodec(make_settings(RECORD_FIELDS=["id", "name"]), secret_key=KEY)
    update = codec.dump(TOKEN, RECORD, max_age=60)
    assert codec.load(update.value) == (TOKEN, {"id": RECORD["id"], "name": RECORD["name"]})


def test_dump_does_not_touch_the_record() -> None:
    record = dict(RECORD)
    SIGNED.dump(TOKEN, record, max_age=60)
    assert record == RECORD


def test_header_attributes_default() -> None:
    update = SIGNED.dump(TOKEN, RECORD, max_age=3600)
    first, attrs = attributes(update.header())
    assert first == f"pb_auth={update.value}"
    assert attrs == {"Max-Age=3600", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"}
    assert not update.is_delete
    assert (update.name, update.max_age, update.path, update.domain) == ("pb_auth", 3600, "/", None)
    assert update.httponly and update.secure and update.samesite == "Lax"


def test_header_attributes_configured() -> None:
    codec = CookieCodec(
        make_settings(
            COOKIE_NAME="session",
            COOKIE_DOMAIN="example.com",
            COOKIE_PATH="/app",
            COOKIE_SAMESITE="Strict",
            COOKIE_SECURE=False,
        ),
        secret_key=KEY,
    )
    update = codec.dump(TOKEN, RECORD, max_age=120)
    first, attrs = attributes(update.header())
    assert first == f"session={update.value}"
    assert attrs == {
        "Max-Age=120",
        "Domain=example.com",
        "Path=/app",
        "HttpOnly",
        "SameSite=Strict",
    }
    codec_none = CookieCodec(make_settings(COOKIE_SAMESITE="None"), secret_key=KEY)
    _, attrs = attributes(codec_none.dump(TOKEN, None, max_age=1).header())
    assert {"SameSite=None", "Secure"} <= attrs


def test_negative_max_age_is_clamped() -> None:
    assert SIGNED.dump(TOKEN, None, max_age=-5).max_age == 0


@pytest.mark.parametrize("domain", [None, "example.com"])
def test_delete(domain: str | None) -> None:
    codec = CookieCodec(make_settings(COOKIE_DOMAIN=domain, COOKIE_PATH="/app"), secret_key=KEY)
    update = codec.delete()
    assert update.is_delete
    first, attrs = attributes(update.header())
    assert first == "pb_auth="
    assert "Max-Age=0" in attrs
    assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in attrs
    # Same Path and Domain as the cookie it replaces, or browsers keep the old one.
    assert "Path=/app" in attrs
    assert ("Domain=example.com" in attrs) == (domain is not None)
    assert {"HttpOnly", "Secure", "SameSite=Lax"} <= attrs


def test_missing_secret_key_is_refused() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        CookieCodec(make_settings(), secret_key=None)
    with pytest.raises(ValueError, match="SECRET_KEY"):
        CookieCodec(make_settings(), secret_key="")
    # The unsigned JS-SDK format needs none.
    CookieCodec(make_settings(COOKIE_FORMAT="js-sdk"), secret_key=None)


def test_str_and_bytes_keys_are_the_same_key() -> None:
    as_bytes = CookieCodec(make_settings(), secret_key=KEY.encode())
    assert as_bytes.load(signed_cookie()) == (TOKEN, TRIMMED)
    assert SIGNED.load(as_bytes.dump(TOKEN, RECORD, max_age=1).value) == (TOKEN, TRIMMED)


# -- key rotation and separation ----------------------------------------------------------


def test_key_rotation() -> None:
    old = CookieCodec(make_settings(), secret_key="old-key")
    new = CookieCodec(make_settings(), secret_key="new-key", fallbacks=["older-key", "old-key"])
    old_cookie = old.dump(TOKEN, RECORD, max_age=60).value
    # Rotating the key logs nobody out: the old key is still accepted...
    assert new.load(old_cookie) == (TOKEN, TRIMMED)
    # ...but new cookies are signed with the newest key only.
    new_cookie = new.dump(TOKEN, RECORD, max_age=60).value
    assert old.load(new_cookie) is None
    assert CookieCodec(make_settings(), secret_key="new-key").load(new_cookie) == (TOKEN, TRIMMED)
    # Once the old key leaves the fallbacks, its cookies stop working.
    assert CookieCodec(make_settings(), secret_key="new-key").load(old_cookie) is None


def test_other_salt_is_refused() -> None:
    payload = {"token": TOKEN, "record": TRIMMED}
    for salt in ("itsdangerous", "other-app", "cookie-session", CookieCodec.salt + "x"):
        assert SIGNED.load(URLSafeSerializer(KEY, salt=salt).dumps(payload)) is None
    assert SIGNED.load(URLSafeSerializer(KEY, salt=CookieCodec.salt).dumps(payload)) == (
        TOKEN,
        TRIMMED,
    )


def test_codec_subclass_salt_separates_cookies() -> None:
    class OtherCodec(CookieCodec):
        salt = "my-app.other-cookie"

    other = OtherCodec(make_settings(), secret_key=KEY)
    assert other.load(signed_cookie()) is None
    assert SIGNED.load(other.dump(TOKEN, RECORD, max_age=1).value) is None


def test_flask_session_cookie_with_the_same_key_is_refused() -> None:
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = KEY
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    session_cookie = serializer.dumps({"token": TOKEN, "record": TRIMMED})
    assert SIGNED.load(session_cookie) is None


# -- the 4096-byte bound ---------------------------------------------------------------------


def test_huge_record_is_trimmed_to_fit() -> None:
    record = dict(RECORD, name=random_text(6000, 1), avatar=random_text(3000, 2))
    update = SIGNED.dump(TOKEN, record, max_age=3600)
    assert len(update.header().encode()) <= MAX_COOKIE_BYTES
    loaded = SIGNED.load(update.value)
    assert loaded is not None
    assert loaded[0] == TOKEN
    assert loaded[1] is not None and loaded[1]["id"] == RECORD["id"]


def test_huge_multibyte_record_is_trimmed_to_fit() -> None:
    rng = random.Random(3)
    name = "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(3000))  # 3 bytes each
    update = SIGNED.dump(TOKEN, dict(RECORD, name=name), max_age=3600)
    assert len(update.header().encode()) <= MAX_COOKIE_BYTES
    assert SIGNED.load(update.value) == (TOKEN, {"id": RECORD["id"]})


def test_a_record_that_never_fits_leaves_the_token_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A token just small enough to fit alone, next to an id too long to fit with it.
    token = random_text(3700, 4)
    record = {"id": random_text(400, 5), "name": "Ada"}
    with caplog.at_level(logging.WARNING, logger="pb_ssr.cookie"):
        update = SIGNED.dump(token, record, max_age=3600)
    assert len(update.header().encode()) <= MAX_COOKIE_BYTES
    assert SIGNED.load(update.value) == (token, None)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "pb_auth" in caplog.text
    assert token not in caplog.text
    assert update.value not in caplog.text


@pytest.mark.parametrize("fmt", ["signed", "js-sdk"])
def test_a_token_that_cannot_fit_deletes_the_cookie(
    fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    codec = SIGNED if fmt == "signed" else JS_SDK
    token = random_text(5000, 6)
    with caplog.at_level(logging.DEBUG, logger="pb_ssr"):
        update = codec.dump(token, RECORD, max_age=3600)
    assert update.is_delete
    assert len(update.header().encode()) <= MAX_COOKIE_BYTES
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "4096" in warnings[0].getMessage()
    # The token is never logged, not even a piece of it.
    assert token[:40] not in caplog.text
    for r in caplog.records:
        assert token[:40] not in repr(r.args)


@pytest.mark.parametrize("fmt", ["signed", "js-sdk"])
@pytest.mark.parametrize("size", [0, 1000, 2500, 3500, 3800, 4000, 4200])
def test_never_over_4096_bytes(fmt: str, size: int) -> None:
    codec = SIGNED if fmt == "signed" else JS_SDK
    token = SDK_TOKEN + random_text(size // 2, size)
    record = dict(RECORD, name=random_text(size, size + 1), email=random_text(size // 3, 7))
    update = codec.dump(token, record, max_age=60)
    assert len(update.header().encode()) <= MAX_COOKIE_BYTES
    if not update.is_delete:
        loaded = codec.load(update.value)
        assert loaded is not None and loaded[0] == token


# -- no token in reprs ----------------------------------------------------------------------


def test_reprs_never_show_the_token() -> None:
    update = SIGNED.dump(TOKEN, RECORD, max_age=60)
    js_update = JS_SDK.dump(TOKEN, RECORD, max_age=60)
    for obj in (update, js_update, SIGNED, JS_SDK, SIGNED.delete()):
        for text in (repr(obj), str(obj), f"{obj!r}"):
            assert TOKEN not in text
            assert TOKEN[-20:] not in text
            assert update.value not in text
            assert js_update.value not in text
            assert KEY not in text
    assert "pb_auth" in repr(update)


# -- hostile cookies (hypothesis) -----------------------------------------------------------

CODECS = (SIGNED, JS_SDK)
MANY = hsettings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@MANY
@given(st.text())
@example("")
@example(" ")
@example('"')
@example("%")
@example("%FF%FE")
@example("\x00")
@example("\udcff")
@example("null")
@example("[]")
@example("{}")
@example(".")
@example("a.b")
@example("." + "A" * 50 + ".sig")
def test_random_text(value: str) -> None:
    for codec in CODECS:
        assert_shape(codec.load(value))


@MANY
@given(st.binary())
def test_random_bytes(raw: bytes) -> None:
    for value in (raw.decode("latin-1"), raw.decode("utf-8", "surrogateescape")):
        for codec in CODECS:
            assert_shape(codec.load(value))


@pytest.mark.parametrize("value", [None, b"bytes", 123, ["list"], {"token": TOKEN}])
def test_non_string_values(value: Any) -> None:
    for codec in CODECS:
        assert codec.load(value) is None


@pytest.mark.parametrize("codec", CODECS, ids=["signed", "js-sdk"])
def test_every_prefix_of_a_real_cookie(codec: CookieCodec) -> None:
    value = codec.dump(TOKEN, RECORD, max_age=60).value
    assert codec.load(value) == (TOKEN, TRIMMED)
    for n in range(len(value)):
        assert codec.load(value[:n]) is None, n


REAL = signed_cookie()


@MANY
@given(st.integers(0, len(REAL) - 1), st.characters())
def test_flipped_character(index: int, char: str) -> None:
    tampered = REAL[:index] + char + REAL[index + 1 :]
    # Base64 has spare bits in its last character, so some flips decode to the very
    # same bytes; what matters is that no flip ever yields a *different* session.
    assert SIGNED.load(tampered) in (None, (TOKEN, TRIMMED))
    assert_shape(JS_SDK.load(tampered))


@MANY
@given(st.integers(0, len(REAL) - 1), st.integers(1, 20), st.text(max_size=20))
def test_spliced_garbage(index: int, length: int, garbage: str) -> None:
    tampered = REAL[:index] + garbage + REAL[index + length :]
    assert SIGNED.load(tampered) in (None, (TOKEN, TRIMMED))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"token": json_values},
        optional={"record": json_values, "model": json_values, "extra": json_values},
    ),
    st.fixed_dictionaries(
        {"token": st.text(min_size=1)},
        optional={"record": st.none() | st.dictionaries(st.text(), json_values, max_size=4)},
    ),
)


@SOME
@given(st.binary(min_size=1, max_size=64), payloads)
def test_resigned_with_another_key(key: bytes, payload: Any) -> None:
    if key == KEY.encode():
        return
    forged = URLSafeSerializer(key, salt=CookieCodec.salt).dumps(payload)
    assert SIGNED.load(forged) is None


@MANY
@given(payloads)
def test_any_validly_signed_json(payload: Any) -> None:
    value = URLSafeSerializer(KEY, salt=CookieCodec.salt).dumps(payload)
    result = SIGNED.load(value)
    assert_shape(result)
    if result is not None:
        assert isinstance(payload, dict) and result[0] == payload["token"]
    # The same payloads in the JS SDK's format.
    assert_shape(JS_SDK.load(sdk_recipe_any(payload)))


def sdk_recipe_any(payload: Any) -> str:
    return quote(json.dumps(payload, separators=(",", ":"), ensure_ascii=False), safe="!'()*-._~")


def test_valid_payload_shapes() -> None:
    def signed(payload: Any) -> str:
        return URLSafeSerializer(KEY, salt=CookieCodec.salt).dumps(payload)

    assert SIGNED.load(signed({"token": "t"})) == ("t", None)
    assert SIGNED.load(signed({"token": "t", "record": None, "model": {"id": "m"}})) == (
        "t",
        {"id": "m"},
    )
    assert SIGNED.load(signed({"token": "t", "record": [1, 2]})) == ("t", None)
    assert SIGNED.load(signed({"token": "t", "record": "x"})) == ("t", None)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"garbage",
        b"{",
        b'{"token":',
        b"\xff\xfe\xfd",  # not UTF-8
        b'{"token":"\xff"}',
        b"\xef\xbb\xbf{}",  # BOM
        b"null",
        b"true",
        b"1",
        b"[1,2,3]",
        b'"a string"',
        b"{}",
        b'{"record":{"id":"u1"}}',
        b'{"token":null}',
        b'{"token":""}',
        b'{"token":1}',
        b'{"token":1.5}',
        b'{"token":true}',
        b'{"token":["t"]}',
        b'{"token":{"t":1}}',
        b"[" * 100_000,
        b"{" * 100_000,
        b'{"token":"t","record":' + b"[" * 100_000,
        b'{"token":"t","record":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001,
        b'{"token":"t","record":{"id":1' + b"1" * 5000 + b"}}",  # int over the digit limit
    ],
)
@pytest.mark.parametrize("zip", [False, True])
def test_valid_signature_around_garbage(raw: bytes, zip: bool) -> None:
    result = SIGNED.load(sign_raw(raw, zip=zip))
    assert result is None


def test_valid_signature_with_a_valid_record_still_loads() -> None:
    # The control for the test above: sign_raw makes cookies the codec accepts.
    raw = json.dumps({"token": TOKEN, "record": TRIMMED}).encode()
    assert SIGNED.load(sign_raw(raw)) == (TOKEN, TRIMMED)
    assert SIGNED.load(sign_raw(raw, zip=True)) == (TOKEN, TRIMMED)


@pytest.mark.parametrize("codec", CODECS, ids=["signed", "js-sdk"])
def test_huge_values(codec: CookieCodec) -> None:
    valid = codec.dump(TOKEN, RECORD, max_age=60).value
    for value in (
        "A" * 40_000,
        valid + "A" * 40_000,
        "[" * 100_000,
        quote('{"token":"t","record":' + "[" * 20_000),
        random_text(1_000_000),
    ):
        assert codec.load(value) is None


def test_huge_but_validly_signed_cookie_is_refused() -> None:
    raw = json.dumps({"token": TOKEN, "record": {"id": "u1", "name": random_text(40_000)}})
    value = sign_raw(raw.encode())
    assert len(value) > 8 * MAX_COOKIE_BYTES
    assert SIGNED.load(value) is None


# -- the JS SDK's format ------------------------------------------------------------------


def test_js_sdk_value_is_byte_exact() -> None:
    update = JS_SDK.dump(SDK_TOKEN, {"id": "1"}, max_age=3600)
    assert update.value == SDK_VALUE
    assert update.value == sdk_recipe(SDK_TOKEN, {"id": "1"})
    first, attrs = attributes(update.header())
    assert first == f"pb_auth={SDK_VALUE}"
    # The SDK's attributes, plus Max-Age, with our SameSite.
    assert attrs == {
        "Max-Age=3600",
        "Path=/",
        "Expires=Thu, 27 Jun 2030 10:00:00 GMT",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
    }


def test_js_sdk_header_matches_the_sdk_vector() -> None:
    codec = CookieCodec(
        make_settings(COOKIE_FORMAT="js-sdk", COOKIE_SAMESITE="Strict"), secret_key=None
    )
    header = codec.dump(SDK_TOKEN, {"id": "1"}, max_age=3600).header()
    # Same attribute order as the SDK (Max-Age, Domain, Path, Expires, HttpOnly, Secure,
    # SameSite); without our extra Max-Age it is the SDK's string byte for byte.
    assert header.replace("; Max-Age=3600", "") == SDK_SET_COOKIE


@pytest.mark.parametrize(
    "record",
    [
        {"id": "1", "email": "test+tag@example.com", "verified": True},
        {"id": "abc", "name": 'Zoë O\'Brien (test)!*~ -_. 🚀 "q" \\ / ; , = % &'},
        {"id": "x", "collectionId": "pbc_1", "collectionName": "users", "avatar": None},
    ],
)
def test_js_sdk_value_follows_the_recipe(record: dict[str, Any]) -> None:
    update = JS_SDK.dump(SDK_TOKEN, record, max_age=60)
    trimmed = {k: record[k] for k in JS_SDK.settings.RECORD_FIELDS if k in record}
    assert update.value == sdk_recipe(SDK_TOKEN, trimmed)
    assert JS_SDK.load(update.value) == (SDK_TOKEN, trimmed)


def test_js_sdk_cookie_over_4096_keeps_the_sdk_fields() -> None:
    # The SDK's "strip the model data if exceed 4096" vector.
    record = {
        "id": "1",
        "email": "test@example.com",
        "collectionId": "test_collection_id",
        "verified": True,
        "name": "a" * 4000,
    }
    update = JS_SDK.dump(SDK_TOKEN, record, max_age=60)
    assert len(update.header().encode()) <= MAX_COOKIE_BYTES
    assert update.value == (
        "%7B%22token%22%3A%22" + SDK_TOKEN + "%22%2C%22record%22%3A%7B%22id%22%3A%221%22%2C"
        "%22email%22%3A%22test%40example.com%22%2C%22collectionId%22%3A%22test_collection_id"
        "%22%2C%22verified%22%3Atrue%7D%7D"
    )


def test_js_sdk_delete_is_the_sdk_export_after_clear() -> None:
    first, attrs = attributes(JS_SDK.delete().header())
    assert first == "pb_auth="
    assert {"Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT", "Path=/"} <= attrs


def test_js_sdk_token_without_exp_has_no_expires() -> None:
    update = JS_SDK.dump("not-a-jwt", {"id": "1"}, max_age=60)
    assert not any(a.startswith("Expires=") for a in attributes(update.header())[1])


def test_load_reads_what_the_sdk_writes() -> None:
    assert JS_SDK.load(SDK_VALUE) == (SDK_TOKEN, {"id": "1"})
    # Quoted cookie values (RFC 6265 allows them; the SDK strips the quotes).
    assert JS_SDK.load(f'"{SDK_VALUE}"') == (SDK_TOKEN, {"id": "1"})
    # SDKs before 0.22 wrote "model".
    assert JS_SDK.load(SDK_LEGACY_VALUE) == (SDK_TOKEN, {"id": "1"})
    # The SDK's loadFromCookie test writes plain JSON, not URI-encoded.
    assert JS_SDK.load('{"token":"test_token","model":{"id":123}}') == ("test_token", {"id": 123})
    # The notes' recipe.
    assert JS_SDK.load(sdk_recipe(TOKEN, TRIMMED)) == (TOKEN, TRIMMED)


def test_load_reads_the_sdk_set_cookie_through_a_cookie_header() -> None:
    name_value = SDK_SET_COOKIE.split("; ")[0]
    header = f"theme=dark; {name_value}; pb_auth=%7B%22token%22%3A%22second%22%7D"
    value = parse_cookie_header(header, "pb_auth")
    assert value == SDK_VALUE  # the first occurrence wins, like the SDK's cookieParse
    assert JS_SDK.load(value) == (SDK_TOKEN, {"id": "1"})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("pb_auth=abc", "abc"),
        ("a=1;pb_auth=abc", "abc"),
        ("  pb_auth = abc ; other=2", "abc"),
        ("pb_auth=first; pb_auth=second", "first"),
        ("pb_auth_old=x; xpb_auth=y", None),
        ("pb_auth", None),
        ("pb_auth=a=b=c", "a=b=c"),
        ('pb_auth="quoted"', '"quoted"'),
        ("pb_auth=; pb_auth=later", ""),
        (";;;", None),
    ],
)
def test_parse_cookie_header(header: str | None, expected: str | None) -> None:
    assert parse_cookie_header(header, "pb_auth") == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        '""',
        "%",
        "%7B",
        "%ZZ",
        "%FF%FE",  # not UTF-8 once decoded
        "null",
        "[]",
        "{}",
        "1",
        '"token"',
        "%7B%22token%22%3A1%7D",
        "%7B%22token%22%3A%22%22%7D",
        '{"token":null,"record":{"id":"1"}}',
        '{"record":{"id":"1"}}',
        "[" * 20_000,
        '{"token":"t","record":' + "[" * 20_000 + "]" * 20_000 + "}",
        REAL,  # a signed cookie is not a JS-SDK cookie
    ],
)
def test_js_sdk_garbage(value: str) -> None:
    assert JS_SDK.load(value) is None


def test_signed_codec_refuses_js_sdk_cookies() -> None:
    assert SIGNED.load(SDK_VALUE) is None
    assert SIGNED.load(JS_SDK.dump(TOKEN, RECORD, max_age=60).value) is None


def test_cookie_update_is_a_value() -> None:
    a = SIGNED.dump(TOKEN, RECORD, max_age=60)
    b = CookieUpdate(
        name=a.name,
        value=a.value,
        max_age=a.max_age,
        path=a.path,
        domain=a.domain,
        secure=a.secure,
        httponly=a.httponly,
        samesite=a.samesite,
    )
    assert a == b
    assert a.header() == b.header()


def test_js_sdk_cookie_can_be_shared_with_browser_code() -> None:
    codec = CookieCodec(
        make_settings(COOKIE_FORMAT="js-sdk", COOKIE_HTTPONLY=False), secret_key=None
    )
    update = codec.dump(TOKEN, RECORD, max_age=3600)
    _, attrs = attributes(update.header())
    assert "HttpOnly" not in attrs and "Secure" in attrs
    assert update.set_cookie_kwargs()["httponly"] is False
    assert codec.delete().set_cookie_kwargs()["httponly"] is False


def test_the_signed_cookie_is_always_httponly() -> None:
    from pb_ssr import ConfigurationError

    with pytest.raises(ConfigurationError, match="COOKIE_HTTPONLY"):
        make_settings(COOKIE_HTTPONLY=False)
    with pytest.raises(ConfigurationError, match="COOKIE_HTTPONLY"):
        make_settings(COOKIE_FORMAT="js-sdk", COOKIE_HTTPONLY="no")
