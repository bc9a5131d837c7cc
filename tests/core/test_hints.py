"""`insecure_cookie_hint`: the request on which a browser silently drops the cookie."""

from __future__ import annotations

import logging

import pytest

import pb_ssr._hints
from pb_ssr import insecure_cookie_hint, warn_insecure_cookie


@pytest.mark.parametrize(
    "host", ["192.168.1.20:5000", "example.test", "10.0.0.5", "[2001:db8::1]:8000"]
)
def test_plain_http_off_loopback_with_a_secure_cookie_is_named(host: str) -> None:
    hint = insecure_cookie_hint(secure=True, is_https=False, host=host)
    assert hint is not None
    assert repr(host) in hint and "COOKIE_SECURE" in hint


@pytest.mark.parametrize(
    "host", ["localhost:8000", "127.0.0.1:5000", "127.0.0.2", "[::1]:8000", "app.localhost"]
)
def test_loopback_is_a_secure_context(host: str) -> None:
    assert insecure_cookie_hint(secure=True, is_https=False, host=host) is None


def test_https_or_a_non_secure_cookie_is_fine() -> None:
    assert insecure_cookie_hint(secure=True, is_https=True, host="example.test") is None
    assert insecure_cookie_hint(secure=False, is_https=False, host="example.test") is None


def test_the_warning_is_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pb_ssr._hints, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="pb_ssr"):
        for _ in range(3):
            assert warn_insecure_cookie(secure=True, is_https=False, host="10.0.0.5")
    assert [r.getMessage() for r in caplog.records].count(
        insecure_cookie_hint(secure=True, is_https=False, host="10.0.0.5")
    ) == 1
