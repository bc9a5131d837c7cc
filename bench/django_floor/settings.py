"""The example's settings without pb-ssr (nothing else changes)."""

from __future__ import annotations

from example_projects.django_chat.chat_site.settings import *  # noqa: F403
from example_projects.django_chat.chat_site.settings import (
    INSTALLED_APPS as _APPS,
)
from example_projects.django_chat.chat_site.settings import (
    MIDDLEWARE as _MIDDLEWARE,
)
from example_projects.django_chat.chat_site.settings import (
    TEMPLATES as _TEMPLATES,
)


def _without_pb_ssr(names: list[str]) -> list[str]:
    return [name for name in names if not name.startswith("pb_ssr")]


INSTALLED_APPS = _without_pb_ssr(_APPS)
MIDDLEWARE = _without_pb_ssr(_MIDDLEWARE)
TEMPLATES = [
    {
        **_TEMPLATES[0],
        "OPTIONS": {
            **_TEMPLATES[0]["OPTIONS"],
            "context_processors": [
                *_without_pb_ssr(_TEMPLATES[0]["OPTIONS"]["context_processors"]),
                "bench.django_floor.views.pb_user",
            ],
        },
    }
]
ROOT_URLCONF = "bench.django_floor.urls"
WSGI_APPLICATION = "bench.django_floor.wsgi.application"
ASGI_APPLICATION = "bench.django_floor.asgi.application"
LOGIN_URL = "pb_ssr:login"
