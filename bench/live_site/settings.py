"""The Django chat example's settings (middleware, apps, cookies), with the bench's URLs."""

from __future__ import annotations

import os

from example_projects.django_chat.chat_site.settings import *  # noqa: F403
from example_projects.django_chat.chat_site.settings import POCKETBASE as _POCKETBASE

SECRET_KEY = os.environ["LIVE_SECRET"]
ROOT_URLCONF = "bench.live_site.urls"
WSGI_APPLICATION = "bench.live_site.wsgi.application"
ASGI_APPLICATION = "bench.live_site.asgi.application"
POCKETBASE = {
    **_POCKETBASE,
    "COOKIE_SECURE": False,
    "REALTIME_MAX_STREAMS": int(os.environ.get("LIVE_MAX_STREAMS", "100")),
}

if os.environ.get("LIVE_ASYNC_ONLY") == "1":
    # Information only (bench/live_relay.py's "async-only" row): no sync middleware,
    # and asgi.py drops django.db's sync request receivers, so that nothing makes
    # asgiref start the request's executor thread. Not advice: an app with a
    # database needs close_old_connections.
    MIDDLEWARE = ["pb_ssr_django.middleware.PocketBaseMiddleware"]
