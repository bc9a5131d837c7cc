import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]  # also signs the auth cookie
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["django.contrib.messages", "pb_ssr_django"]

# No database: Django's sessions and messages live in signed cookies, users in
# PocketBase. (With database sessions, run `python manage.py migrate` first.)
DATABASES = {}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "pb_ssr_django.middleware.PocketBaseMiddleware",  # after sessions and CSRF
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "chat.urls"
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

LOGIN_URL = "pb_ssr:login"
USE_TZ = True

POCKETBASE = {"URL": os.environ.get("PB_URL", "http://127.0.0.1:8090")}
