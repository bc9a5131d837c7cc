"""The live endpoint of both adapters, as an app wires it: served by ``bench/live_relay.py``.

- Django (:mod:`.settings`, :mod:`.urls`): the Django chat example's project (its
  middleware stack with ``PocketBaseMiddleware``, its settings) with its own URLs:
  ``path("live", live_view(FEEDS))``. :mod:`.asgi` serves it under uvicorn (the view
  calls ``Relay.aopen``: a task per stream), :mod:`.wsgi` under gunicorn ``gthread``
  (``Relay.open``: a thread per stream).
- Flask (:mod:`.flask_app`): ``PocketBaseSSR(app)`` and
  ``app.add_url_rule("/live", view_func=live_view(FEEDS))``, under gunicorn ``gthread``.

The feed is the examples' ``messages`` with ``expand="user"``, sent as JSON (no
``render``), so what is measured is the relay and the framework, not a template.
Both apps also answer ``GET /stats``: the relay's open streams and the process's
threads, as JSON.

Environment: ``PB_URL``, ``LIVE_SECRET`` (the secret key that signs the cookie) and
``LIVE_MAX_STREAMS`` (``REALTIME_MAX_STREAMS``).
"""

from __future__ import annotations

import threading
from typing import Any

from pb_ssr import Feed
from pb_ssr.relay import Relay

#: What a page may follow: ``?feeds=messages``.
FEEDS = [Feed("messages", "messages", expand="user")]


def stats(relay: Relay) -> dict[str, Any]:
    return {"active": relay.active, "threads": threading.active_count()}
