"""The package surface: lazy re-exports, the app config, misconfiguration at request time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.test import AsyncClient, Client

import pb_ssr_django
from pb_ssr_django.templatetags.pb_ssr import pb_file_url

from .conftest import text

ROOT = Path(__file__).resolve().parents[2]


def test_exported_members() -> None:
    assert pb_ssr_django.__all__ == sorted(pb_ssr_django.__all__)
    for name in pb_ssr_django.__all__:
        assert getattr(pb_ssr_django, name) is not None
    assert set(pb_ssr_django.__all__) <= set(dir(pb_ssr_django))
    with pytest.raises(AttributeError):
        pb_ssr_django.nothing_here  # noqa: B018


def test_import_needs_no_configured_settings() -> None:
    code = (
        "import os, sys\n"
        "os.environ.pop('DJANGO_SETTINGS_MODULE', None)\n"
        "import pb_ssr_django, pb_ssr_django.apps\n"
        "assert 'pb_ssr_django.views' not in sys.modules\n"
        "from pb_ssr_django import PocketBaseMiddleware, login_required, superuser_required\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "ok"


def test_app_config() -> None:
    config = apps.get_app_config("pb_ssr_django")
    assert type(config).__name__ == "PbSsrDjangoConfig"
    assert config.name == "pb_ssr_django"


def test_a_bad_configuration_is_loud_at_request_time(client: Client, settings: Any) -> None:
    settings.POCKETBASE = {"URL": "not a url"}
    with pytest.raises(ImproperlyConfigured, match=r"POCKETBASE\['URL'\]"):
        client.get("/whoami/")


def test_decorators_keep_the_view_name() -> None:
    from tests.django import views

    assert views.private.__name__ == "private"
    assert views.async_private.__name__ == "async_private"


def test_file_url_edge_cases() -> None:
    assert pb_file_url(None, "a.png") == ""
    assert pb_file_url({"id": "r1", "collectionId": "c1"}, "") == ""
    url = pb_file_url({"id": "r1", "collectionId": "c1"}, "a b.png", thumb="0x50", download=True)
    assert url.endswith("/api/files/c1/r1/a%20b.png?thumb=0x50&download=1")
    rendered = Template(
        '{% load pb_ssr %}<img src="{% pb_file_url rec rec.file thumb="1x1" download=True %}">'
    ).render(Context({"rec": {"id": "r1", "collectionId": "c1", "file": "x.png"}}))
    assert "x.png?thumb=1x1&amp;download=1" in rendered


@pytest.mark.anyio
async def test_sync_views_run_under_asgi(async_client: AsyncClient) -> None:
    response = await async_client.get("/whoami/")
    assert response.status_code == 200 and text(response).startswith("anonymous")
