"""Settings.from_mapping: defaults, validation naming the key, env vars, redaction."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import httpx
import pytest

from pb_ssr import ConfigurationError, Settings
from pb_ssr._config import DEFAULT_RECORD_FIELDS

URL = "http://127.0.0.1:8090"
ENV_VARS = ("PB_SUPERUSER_EMAIL", "PB_SUPERUSER_PASSWORD", "PB_SERVICE_TOKEN")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's shell may export these; the defaults must not depend on it.
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def load(source: str = "POCKETBASE", **values: Any) -> Settings:
    return Settings.from_mapping({"URL": URL, **values}, source=source)


def key_name(source: str, key: str) -> str:
    return f"{source}{key}" if source.endswith("_") else f"{source}[{key!r}]"


# -- defaults -----------------------------------------------------------------------


def test_defaults() -> None:
    s = load()
    assert s.URL == URL
    assert s.PUBLIC_URL is None
    assert s.COOKIE_NAME == "pb_auth"
    assert s.COOKIE_SECURE is True
    assert s.COOKIE_SAMESITE == "Lax"
    assert s.COOKIE_DOMAIN is None
    assert s.COOKIE_PATH == "/"
    assert s.COOKIE_FORMAT == "signed"
    assert s.RECORD_FIELDS == DEFAULT_RECORD_FIELDS
    assert "id" in s.RECORD_FIELDS
    assert not {"tokenKey", "password", "passwordConfirm"} & set(s.RECORD_FIELDS)
    assert s.VALIDATE_TTL == 60.0
    assert s.REFRESH_WITHIN == 2 * 86400.0
    assert s.ON_BACKEND_ERROR == "keep"
    assert s.CLIENT_IP_HEADER == "X-Forwarded-For"
    assert s.TRUSTED_PROXIES == ()
    assert s.TIMEOUT == 5.0
    assert s.CONNECT_TIMEOUT == 2.0
    assert s.http_timeout == httpx.Timeout(5.0, connect=2.0)
    assert s.BREAKER_FAILURES == 5
    assert s.BREAKER_COOLDOWN == 0.5
    assert s.BREAKER_STALL == 1.0
    assert s.retry_after == 1
    assert s.HANDLE_UNAVAILABLE is True
    assert s.AUTH_COLLECTION == "users"
    assert s.VALIDATE_CACHE_SIZE == 10_000
    assert s.SUPERUSER_EMAIL is None
    assert s.SUPERUSER_PASSWORD is None
    assert s.SERVICE_TOKEN is None
    assert s.relay_options == {
        "max_streams": 100,
        "heartbeat": 15.0,
        "retry": 3.0,
        "recheck": 5.0,
        "retry_after": 5,
        "queue_size": 256,
    }


def test_realtime_settings_become_relay_options() -> None:
    s = load(REALTIME_MAX_STREAMS=2, REALTIME_HEARTBEAT=1, REALTIME_RETRY=0, REALTIME_RECHECK=0.5)
    options = s.relay_options
    assert options["max_streams"] == 2
    assert options["heartbeat"] == 1.0 and isinstance(options["heartbeat"], float)
    assert options["retry"] == 0.0 and options["recheck"] == 0.5


def test_keys_lists_every_field() -> None:
    assert set(Settings.keys()) == {f.name for f in dataclasses.fields(Settings)}
    assert Settings.keys()[0] == "URL"


def test_settings_are_frozen_value_objects() -> None:
    s = load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.URL = "http://elsewhere"  # type: ignore[misc]
    assert s == load()
    assert s != load(TIMEOUT=3)


def test_good_values_are_accepted() -> None:
    s = load(
        URL="http://pocketbase.internal:8090/",
        PUBLIC_URL="https://pb.example.com",
        COOKIE_NAME="__Host-auth",
        COOKIE_SECURE=False,
        COOKIE_SAMESITE="Strict",
        COOKIE_DOMAIN="example.com",
        COOKIE_PATH="/app",
        COOKIE_FORMAT="js-sdk",
        RECORD_FIELDS=["id", "email"],
        VALIDATE_TTL=0,
        REFRESH_WITHIN=3600,
        ON_BACKEND_ERROR="raise",
        CLIENT_IP_HEADER=None,
        TRUSTED_PROXIES=["10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8"],
        TIMEOUT=0.5,
        CONNECT_TIMEOUT=1,
        BREAKER_FAILURES=0,
        BREAKER_COOLDOWN=30,
        BREAKER_STALL=0,
        HANDLE_UNAVAILABLE=False,
        AUTH_COLLECTION="members",
        VALIDATE_CACHE_SIZE=1,
    )
    # Lists become tuples, so the frozen settings stay hashable and immutable.
    assert s.RECORD_FIELDS == ("id", "email")
    assert s.TRUSTED_PROXIES == ("10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8")
    assert s.COOKIE_FORMAT == "js-sdk"
    assert hash(s) == hash(s)


# -- bad values name the key --------------------------------------------------------

BAD_VALUES: list[tuple[str, Any]] = [
    ("URL", "ftp://127.0.0.1:8090"),
    ("URL", "127.0.0.1:8090"),
    ("URL", "http://"),
    ("URL", "http://127.0.0.1:8090/?x=1"),
    ("URL", 8090),
    ("PUBLIC_URL", "ftp://pb.example.com"),
    ("PUBLIC_URL", "pb.example.com"),
    ("PUBLIC_URL", ""),
    ("PUBLIC_URL", 1),
    ("COOKIE_NAME", "pb auth"),
    ("COOKIE_NAME", "pb;auth"),
    ("COOKIE_NAME", "pb=auth"),
    ("COOKIE_NAME", ""),
    ("COOKIE_NAME", 1),
    ("COOKIE_SECURE", "yes"),
    ("COOKIE_SECURE", 1),
    ("COOKIE_SECURE", None),
    ("STORE", "memcached://x"),
    ("STORE", 7),
    ("STORE_PREFIX", "a b"),
    ("STORE_TIMEOUT", 0),
    ("STORE_TIMEOUT", "1"),
    ("COOKIE_HTTPONLY", "yes"),
    ("COOKIE_HTTPONLY", False),
    ("FORWARD_USER_AGENT", "yes"),
    ("FORWARD_USER_AGENT", None),
    ("HANDLE_UNAVAILABLE", "no"),
    ("HANDLE_UNAVAILABLE", None),
    ("CONNECT_TIMEOUT", 0),
    ("CONNECT_TIMEOUT", float("inf")),
    ("CONNECT_TIMEOUT", True),
    ("BREAKER_COOLDOWN", 0),
    ("BREAKER_COOLDOWN", -1),
    ("BREAKER_COOLDOWN", float("nan")),
    ("BREAKER_STALL", -0.5),
    ("BREAKER_STALL", float("inf")),
    ("BREAKER_STALL", "1"),
    ("BREAKER_FAILURES", -1),
    ("BREAKER_FAILURES", 2.5),
    ("BREAKER_FAILURES", True),
    ("COOKIE_SAMESITE", "lax"),
    ("COOKIE_SAMESITE", "none"),
    ("COOKIE_SAMESITE", ""),
    ("COOKIE_SAMESITE", None),
    ("COOKIE_DOMAIN", ""),
    ("COOKIE_DOMAIN", 1),
    ("COOKIE_PATH", ""),
    ("COOKIE_PATH", "app"),
    ("COOKIE_PATH", None),
    ("COOKIE_FORMAT", "json"),
    ("COOKIE_FORMAT", "JS-SDK"),
    ("COOKIE_FORMAT", None),
    ("RECORD_FIELDS", "id"),
    ("RECORD_FIELDS", ["email"]),
    ("RECORD_FIELDS", ["id", ""]),
    ("RECORD_FIELDS", ["id", 1]),
    ("RECORD_FIELDS", 5),
    ("RECORD_FIELDS", None),
    ("VALIDATE_TTL", -1),
    ("VALIDATE_TTL", "60"),
    ("VALIDATE_TTL", True),
    ("VALIDATE_TTL", None),
    ("VALIDATE_TTL", math.nan),
    ("REFRESH_WITHIN", -0.5),
    ("REFRESH_WITHIN", "3600"),
    ("REFRESH_WITHIN", math.nan),
    ("ON_BACKEND_ERROR", "ignore"),
    ("ON_BACKEND_ERROR", None),
    ("CLIENT_IP_HEADER", "X Forwarded For"),
    ("CLIENT_IP_HEADER", "X-Forwarded-For:"),
    ("CLIENT_IP_HEADER", ""),
    ("CLIENT_IP_HEADER", 1),
    ("TRUSTED_PROXIES", "10.0.0.1"),
    ("TRUSTED_PROXIES", ["proxy.internal"]),
    ("TRUSTED_PROXIES", ["10.0.0.0/33"]),
    ("TRUSTED_PROXIES", ["300.1.1.1"]),
    ("TRUSTED_PROXIES", [""]),
    ("TRUSTED_PROXIES", [10]),
    ("TIMEOUT", 0),
    ("TIMEOUT", -1),
    ("TIMEOUT", "10"),
    ("TIMEOUT", True),
    ("TIMEOUT", None),
    ("TIMEOUT", math.nan),
    ("AUTH_COLLECTION", ""),
    ("AUTH_COLLECTION", None),
    ("VALIDATE_CACHE_SIZE", 0),
    ("VALIDATE_CACHE_SIZE", -5),
    ("VALIDATE_CACHE_SIZE", 1.5),
    ("VALIDATE_CACHE_SIZE", True),
    ("VALIDATE_CACHE_SIZE", "100"),
    ("REALTIME_MAX_STREAMS", 0),
    ("REALTIME_MAX_STREAMS", 2.5),
    ("REALTIME_MAX_STREAMS", True),
    ("REALTIME_HEARTBEAT", 0),
    ("REALTIME_HEARTBEAT", math.inf),
    ("REALTIME_HEARTBEAT", "15"),
    ("REALTIME_RETRY", -1),
    ("REALTIME_RETRY", math.nan),
    ("REALTIME_RECHECK", 0),
    ("REALTIME_RECHECK", None),
    ("REALTIME_RETRY_AFTER", 0),
    ("REALTIME_RETRY_AFTER", 1.5),
    ("REALTIME_QUEUE_SIZE", 0),
    ("REALTIME_QUEUE_SIZE", "256"),
]


@pytest.mark.parametrize("source", ["POCKETBASE", "POCKETBASE_"])
@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_bad_value_names_the_key(source: str, key: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        load(source, **{key: value})
    assert key_name(source, key) in str(info.value)


def test_configuration_error_is_a_value_error() -> None:
    assert issubclass(ConfigurationError, ValueError)


def test_every_key_has_a_bad_value_case() -> None:
    # Keys with no constraint of their own (the secrets) are covered by the pair tests.
    covered = {key for key, _ in BAD_VALUES}
    unconstrained = {"SUPERUSER_EMAIL", "SUPERUSER_PASSWORD", "SERVICE_TOKEN"}
    assert covered | unconstrained == set(Settings.keys())


@pytest.mark.parametrize("url", [None, "", 0])
@pytest.mark.parametrize("source", ["POCKETBASE", "POCKETBASE_"])
def test_url_is_required(url: Any, source: str) -> None:
    with pytest.raises(ConfigurationError, match="required") as info:
        Settings.from_mapping({"URL": url}, source=source)
    assert key_name(source, "URL") in str(info.value)
    with pytest.raises(ConfigurationError, match="required"):
        Settings.from_mapping({}, source=source)


@pytest.mark.parametrize("source", ["POCKETBASE", "POCKETBASE_"])
def test_unknown_keys_are_listed(source: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_mapping(
            {"URL": URL, "COOKIE_NAM": "x", "TTL": 1, "COOKIE_NAME": "ok"}, source=source
        )
    message = str(info.value)
    assert key_name(source, "COOKIE_NAM") in message
    assert key_name(source, "TTL") in message
    # The message helps: it lists the keys that do exist.
    assert "COOKIE_NAME" in message and "VALIDATE_TTL" in message


def test_mapping_is_required() -> None:
    with pytest.raises(ConfigurationError, match="POCKETBASE"):
        Settings.from_mapping(["URL"])  # type: ignore[arg-type]


# -- cross-key rules ----------------------------------------------------------------


@pytest.mark.parametrize("source", ["POCKETBASE", "POCKETBASE_"])
def test_samesite_none_needs_secure(source: str) -> None:
    with pytest.raises(ConfigurationError, match="COOKIE_SECURE") as info:
        load(source, COOKIE_SAMESITE="None", COOKIE_SECURE=False)
    assert key_name(source, "COOKIE_SAMESITE") in str(info.value)
    assert load(source, COOKIE_SAMESITE="None").COOKIE_SAMESITE == "None"
    # Lax and Strict work over plain http (local development).
    assert load(source, COOKIE_SAMESITE="Lax", COOKIE_SECURE=False).COOKIE_SECURE is False


@pytest.mark.parametrize(
    "proxies",
    [
        ["10.0.0.1"],
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        ("::1", "fd00::/8", "2001:db8::1"),
        ["10.0.0.1/8"],  # host bits set: read as its network, like ipaddress(strict=False)
        frozenset({"127.0.0.1"}),
    ],
)
def test_trusted_proxies_take_ips_and_cidrs(proxies: Any) -> None:
    s = load(TRUSTED_PROXIES=proxies)
    assert isinstance(s.TRUSTED_PROXIES, tuple)
    assert set(s.TRUSTED_PROXIES) == set(proxies)


def test_trusted_proxies_error_names_the_bad_entry() -> None:
    with pytest.raises(ConfigurationError, match=r"'proxy\.internal'"):
        load(TRUSTED_PROXIES=["10.0.0.1", "proxy.internal"])


def test_replace_validates() -> None:
    s = load()
    assert s.replace(TIMEOUT=3).TIMEOUT == 3
    with pytest.raises(ConfigurationError, match=r"POCKETBASE\['TIMEOUT'\]"):
        s.replace(TIMEOUT=0)


# -- secrets from the environment -----------------------------------------------------


def test_superuser_credentials_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_SUPERUSER_EMAIL", "root@example.test")
    monkeypatch.setenv("PB_SUPERUSER_PASSWORD", "hunter2-hunter2")
    s = load()
    assert s.SUPERUSER_EMAIL == "root@example.test"
    assert s.SUPERUSER_PASSWORD == "hunter2-hunter2"
    assert s.SERVICE_TOKEN is None


def test_service_token_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_SERVICE_TOKEN", "service-token-value")
    assert load().SERVICE_TOKEN == "service-token-value"


def test_explicit_settings_win_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_SUPERUSER_EMAIL", "env@example.test")
    monkeypatch.setenv("PB_SUPERUSER_PASSWORD", "env-password")
    monkeypatch.setenv("PB_SERVICE_TOKEN", "env-token")
    s = load(
        SUPERUSER_EMAIL="conf@example.test",
        SUPERUSER_PASSWORD="conf-password",
        SERVICE_TOKEN="conf-token",
    )
    assert (s.SUPERUSER_EMAIL, s.SUPERUSER_PASSWORD, s.SERVICE_TOKEN) == (
        "conf@example.test",
        "conf-password",
        "conf-token",
    )


def test_empty_env_vars_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.setenv(name, "")
    s = load()
    assert (s.SUPERUSER_EMAIL, s.SUPERUSER_PASSWORD, s.SERVICE_TOKEN) == (None, None, None)


@pytest.mark.parametrize("source", ["POCKETBASE", "POCKETBASE_"])
def test_email_without_password_is_refused(source: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load(source, SUPERUSER_EMAIL="root@example.test")
    assert key_name(source, "SUPERUSER_PASSWORD") in str(info.value)


@pytest.mark.parametrize("source", ["POCKETBASE", "POCKETBASE_"])
def test_password_without_email_is_refused(source: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load(source, SUPERUSER_PASSWORD="hunter2-hunter2")
    assert key_name(source, "SUPERUSER_EMAIL") in str(info.value)
    # The message names the key, never the secret.
    assert "hunter2" not in str(info.value)


def test_env_email_without_env_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_SUPERUSER_EMAIL", "root@example.test")
    with pytest.raises(ConfigurationError, match="SUPERUSER_PASSWORD"):
        load()


def test_repr_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_SERVICE_TOKEN", "tok-SECRET-service")
    s = load(SUPERUSER_EMAIL="root@example.test", SUPERUSER_PASSWORD="pw-SECRET-password")
    for text in (repr(s), str(s), f"{s}", repr([s])):
        assert "SECRET" not in text
        assert "SUPERUSER_PASSWORD" not in text
        assert "SERVICE_TOKEN" not in text
    # The email is not a secret and helps debugging.
    assert "root@example.test" in repr(s)
