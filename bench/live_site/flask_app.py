"""The Flask side: ``PocketBaseSSR(app)`` and ``live_view`` (gunicorn gthread)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from pb_ssr_flask import PocketBaseSSR, live_view
from pb_ssr_flask.globals import config

from . import FEEDS, stats

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ["LIVE_SECRET"],
    POCKETBASE_URL=os.environ.get("PB_URL", "http://127.0.0.1:8090"),
    POCKETBASE_COOKIE_SECURE=False,
    POCKETBASE_REALTIME_MAX_STREAMS=int(os.environ.get("LIVE_MAX_STREAMS", "100")),
)
PocketBaseSSR(app)
app.add_url_rule("/live", view_func=live_view(FEEDS))


@app.get("/stats")
def live_stats() -> dict[str, Any]:
    return stats(config().relay(FEEDS))
