"""The breaker's state where operators look: ``flask pb check`` and Django's checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.checks import run_checks

from pb_ssr import breaker_for
from pb_ssr.testing import FaultProxy
from pb_ssr_django import checks

from .apps import FAULT_SETTINGS, flask_app


def live(check_id: str) -> list[Any]:
    """The live (deploy) checks' findings with *check_id*."""
    return [m for m in checks.check_deploy() if m.id == check_id]


def test_flask_pb_check_shows_the_breaker(proxy: FaultProxy) -> None:
    runner = flask_app(proxy.url).test_cli_runner()
    result = runner.invoke(args=["pb", "check"])
    threshold = FAULT_SETTINGS["BREAKER_FAILURES"]
    assert f"ok    circuit breaker closed (0 failure(s) in a row; opens after {threshold}" in (
        result.output
    ), result.output
    proxy.refuse = True
    for _ in range(threshold):
        runner.invoke(args=["pb", "check"])
    result = runner.invoke(args=["pb", "check"])
    assert result.exit_code == 1
    assert "FAIL  circuit breaker open" in result.output, result.output
    assert "circuit open" in result.output  # the fast-fail message itself


def test_django_w004_reports_an_open_breaker(
    django_app: Callable[..., None], proxy: FaultProxy
) -> None:
    django_app(proxy.url)
    assert live("pb_ssr.W009") == []
    from pb_ssr_django.conf import get_config

    get_config()  # applies BREAKER_* to the breaker
    breaker = breaker_for(proxy.url)
    for _ in range(FAULT_SETTINGS["BREAKER_FAILURES"]):
        breaker.record_failure("test")
    warnings = live("pb_ssr.W009")
    assert [w.id for w in warnings] == ["pb_ssr.W009"]
    assert proxy.url in warnings[0].msg and "open" in warnings[0].msg
    # A deployment check: not on every runserver reload.
    assert "pb_ssr.W009" not in [m.id for m in run_checks()]
    assert "pb_ssr.W009" in [m.id for m in run_checks(include_deployment_checks=True)]
