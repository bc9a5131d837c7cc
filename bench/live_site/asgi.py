"""ASGI entry point (uvicorn): ``Relay.aopen``, a task per stream."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.live_site.settings")
application = get_asgi_application()

if os.environ.get("LIVE_ASYNC_ONLY") == "1":  # see settings.py
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    signals.request_started.disconnect(reset_queries)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
