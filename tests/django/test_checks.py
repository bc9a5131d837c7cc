"""The system checks, by id, directly and through ``manage.py check``."""

from __future__ import annotations

import re
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.checks import Error, Warning, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from pb_ssr.testing import PocketBaseServer
from pb_ssr_django import checks
from pb_ssr_django.conf import get_config
from pb_ssr_django.middleware import PocketBaseMiddleware

from .conftest import Configure

MIDDLEWARE = "pb_ssr_django.middleware.PocketBaseMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"


def advice(check_id: str) -> list[Any]:
    """The deploy-only settings advice with *check_id*."""
    return [m for m in checks.check_deploy() if m.id == check_id]


def live(check_id: str) -> list[Any]:
    """The live (deploy) checks' findings with *check_id*."""
    return [m for m in checks.check_deploy() if m.id == check_id]


class MyMiddleware(PocketBaseMiddleware):
    """A project's own subclass counts as the middleware."""


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def pb_ids(messages: list[Any]) -> list[str]:
    return [i for i in ids(messages) if i.startswith("pb_ssr.")]


# -- E001 -------------------------------------------------------------------------------


def test_valid_settings_pass() -> None:
    assert checks.check_settings() == []
    assert checks.check_middleware() == []
    assert pb_ids(run_checks()) == []


@pytest.mark.parametrize(
    ("pocketbase", "needle"),
    [
        (None, "settings.POCKETBASE is missing"),
        ("http://127.0.0.1:8090", "must be a dict"),
        ({}, "POCKETBASE['URL'] is required"),
        ({"URL": "ftp://x"}, "POCKETBASE['URL'] must be an http(s) URL"),
        ({"URL": "http://127.0.0.1:8090", "COKIE_NAME": "x"}, "POCKETBASE['COKIE_NAME']"),
        ({"URL": "http://127.0.0.1:8090", "TIMEOUT": -1}, "POCKETBASE['TIMEOUT']"),
        ({"URL": "http://127.0.0.1:8090", "REDIRECT_URL": ""}, "POCKETBASE['REDIRECT_URL']"),
    ],
)
def test_e001_names_the_problem(settings: Any, pocketbase: Any, needle: str) -> None:
    if pocketbase is None:
        del settings.POCKETBASE
    else:
        settings.POCKETBASE = pocketbase
    errors = checks.check_settings()
    assert ids(errors) == ["pb_ssr.E001"]
    assert isinstance(errors[0], Error) and needle in errors[0].msg
    with pytest.raises(ImproperlyConfigured, match=re.escape(needle)):
        get_config()
    # The deploy checks leave a broken configuration to E001.
    assert advice("pb_ssr.W001") == [] and live("pb_ssr.W003") == []


def test_adapter_keys_never_reach_the_core(configure: Configure) -> None:
    configure(REDIRECT_URL="pb_ssr:login")
    config = get_config()
    assert config.options["REDIRECT_URL"] == "pb_ssr:login"
    assert not hasattr(config.settings, "REDIRECT_URL")


def test_settings_changes_are_picked_up(configure: Configure) -> None:
    first = get_config()
    assert get_config() is first
    configure(COOKIE_NAME="other")
    assert get_config() is not first and get_config().settings.COOKIE_NAME == "other"
    with override_settings(SECRET_KEY="rotated"):
        assert get_config().manager is not first.manager


def test_e001_through_manage_py_check(settings: Any) -> None:
    settings.POCKETBASE = {"URL": "http://127.0.0.1:8090", "COOKIE_SAMESITE": "Loose"}
    with pytest.raises(SystemCheckError, match=r"pb_ssr\.E001"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


# -- E002 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("middleware", "count"),
    [
        ([SESSION, CSRF, MIDDLEWARE], 0),
        ([MIDDLEWARE], 0),  # no sessions, no CSRF: nothing to be after
        ([SESSION, CSRF, "pb_ssr_django.PocketBaseMiddleware"], 0),  # the re-export
        ([SESSION, CSRF], 1),
        ([MIDDLEWARE, SESSION, CSRF], 2),
        ([SESSION, MIDDLEWARE, CSRF], 1),
        ([CSRF, MIDDLEWARE, SESSION], 1),
    ],
)
def test_e002_middleware_order(settings: Any, middleware: list[str], count: int) -> None:
    settings.MIDDLEWARE = middleware
    errors = checks.check_middleware()
    assert ids(errors) == ["pb_ssr.E002"] * count


def test_e002_accepts_subclasses(settings: Any) -> None:
    settings.MIDDLEWARE = [SESSION, CSRF, "tests.django.test_checks.MyMiddleware"]
    assert checks.check_middleware() == []
    settings.MIDDLEWARE = ["tests.django.test_checks.MyMiddleware", SESSION, "no.such.Thing"]
    assert ids(checks.check_middleware()) == ["pb_ssr.E002"]


def test_e002_through_manage_py_check(settings: Any) -> None:
    settings.MIDDLEWARE = [MIDDLEWARE, SESSION, CSRF]
    with pytest.raises(SystemCheckError, match=r"pb_ssr\.E002") as info:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert "after SessionMiddleware" in str(info.value)


# -- deploy checks ---------------------------------------------------------------------


def test_deploy_checks_pass_with_defaults() -> None:
    assert advice("pb_ssr.W001") == []
    assert advice("pb_ssr.W002") == []
    assert live("pb_ssr.W003") == []


def test_w001_cookie_not_secure(configure: Configure) -> None:
    configure(COOKIE_SECURE=False)
    warnings = advice("pb_ssr.W001")
    assert ids(warnings) == ["pb_ssr.W001"] and isinstance(warnings[0], Warning)
    # Only with --deploy: plain-http development is fine.
    assert "pb_ssr.W001" not in ids(run_checks())
    assert "pb_ssr.W001" in ids(run_checks(include_deployment_checks=True))


def test_w002_samesite_none(configure: Configure) -> None:
    configure(COOKIE_SAMESITE="None")
    assert ids(advice("pb_ssr.W002")) == ["pb_ssr.W002"]
    assert "pb_ssr.W002" in ids(run_checks(include_deployment_checks=True))


def test_w003_pocketbase_unreachable(
    configure: Configure, pocketbase_server_factory: Callable[..., PocketBaseServer]
) -> None:
    server = pocketbase_server_factory()
    configure(server.url)
    assert live("pb_ssr.W003") == []
    server.stop()
    warnings = live("pb_ssr.W003")
    assert ids(warnings) == ["pb_ssr.W003"]
    assert server.url in warnings[0].msg
    # Not on every runserver reload: only with --deploy.
    assert "pb_ssr.W003" not in ids(run_checks())
    assert "pb_ssr.W003" in ids(run_checks(include_deployment_checks=True))


def test_deploy_warnings_through_manage_py_check(configure: Configure) -> None:
    configure("http://127.0.0.1:9", COOKIE_SECURE=False, TIMEOUT=1)
    err = StringIO()
    call_command("check", "--deploy", "--tag", "pb_ssr", stdout=StringIO(), stderr=err)
    output = err.getvalue()
    assert "pb_ssr.W001" in output and "pb_ssr.W003" in output
    assert "pb_ssr.W002" not in output and "pb_ssr.E00" not in output
    plain = StringIO()
    call_command("check", "--tag", "pb_ssr", stdout=plain, stderr=StringIO())
    assert "no issues" in plain.getvalue()


def test_e003_unsupported_pocketbase(
    configure: Configure, unsupported_pocketbase_url: str, pocketbase_server: PocketBaseServer
) -> None:
    configure(pocketbase_server.url)
    assert live("pb_ssr.E003") == []
    configure(unsupported_pocketbase_url)
    errors = live("pb_ssr.E003")
    assert ids(errors) == ["pb_ssr.E003"]
    assert "older than 0.23" in errors[0].msg
    assert "pb_ssr.E003" not in ids(run_checks())
    assert "pb_ssr.E003" in ids(run_checks(include_deployment_checks=True))
