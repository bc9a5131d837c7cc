"""Django settings for pb-ssr's own tests (``DJANGO_SETTINGS_MODULE=tests.django.settings``).

Importable without a running PocketBase: ``POCKETBASE["URL"]`` is a placeholder
that ``tests/django/conftest.py`` replaces with the test server's URL for every
test. No database: sessions live in signed cookies.
"""

from __future__ import annotations

import os
from pathlib import Path

SECRET_KEY = "pb-ssr-django-test-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "tests.django.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "pb_ssr_django",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "pb_ssr_django.middleware.PocketBaseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "pb_ssr_django.context_processors.pocketbase",
            ],
        },
    }
]

DATABASES: dict[str, dict[str, str]] = {}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

LOGIN_URL = "pb_ssr:login"

POCKETBASE = {"URL": os.environ.get("PB_SSR_TEST_URL", "http://127.0.0.1:9")}
