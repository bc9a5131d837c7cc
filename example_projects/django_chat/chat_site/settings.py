"""Settings of the Django chat example. Secrets come from the environment only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40)
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.messages",
    "pb_ssr_django",
    "example_projects.django_chat.chat",
]

# No database: sessions and messages live in signed cookies, users in PocketBase.
DATABASES: dict[str, dict[str, str]] = {}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "pb_ssr_django.middleware.PocketBaseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_projects.django_chat.chat_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django.contrib.messages.context_processors.messages",
                "pb_ssr_django.context_processors.pocketbase",
            ],
        },
    },
]
WSGI_APPLICATION = "example_projects.django_chat.chat_site.wsgi.application"
ASGI_APPLICATION = "example_projects.django_chat.chat_site.asgi.application"

LOGIN_URL = "pb_ssr:login"
USE_TZ = True
TIME_ZONE = "UTC"

POCKETBASE = {
    "URL": os.environ.get("PB_URL", "http://127.0.0.1:8090"),
    # Plain http on loopback during development; keep the secure default in production.
    "COOKIE_SECURE": os.environ.get("PB_COOKIE_SECURE", "1") != "0",
    # SUPERUSER_EMAIL / SUPERUSER_PASSWORD come from $PB_SUPERUSER_EMAIL / _PASSWORD.
}
CSRF_COOKIE_SECURE = POCKETBASE["COOKIE_SECURE"]
SESSION_COOKIE_SECURE = POCKETBASE["COOKIE_SECURE"]
