"""A one-route Flask app for ``bench/shared_store.py``: who is signed in, through pb-ssr.

``GET /me`` reads the signed-in user (validated through pb-ssr's session store) and
returns the id. Each worker writes its count of ``auth-refresh`` calls to
``$STATS_DIR/<pid>`` after every request that changed it, so the benchmark can add
up the code's own count across workers and hosts.

Serve: ``PB_URL=... PB_STORE=memory|redis://... gunicorn 'bench.store_app:app'``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Flask, Response

from pb_ssr_flask import PocketBaseSSR, current_user
from pb_ssr_flask.extension import PocketBaseState

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("FLASK_SECRET_KEY", "bench-store-secret-" + "k" * 24),
    POCKETBASE_URL=os.environ.get("PB_URL", "http://127.0.0.1:8090"),
    POCKETBASE_STORE=os.environ.get("PB_STORE", "memory"),
    POCKETBASE_VALIDATE_TTL=float(os.environ.get("PB_VALIDATE_TTL", "60")),
    POCKETBASE_COOKIE_SECURE=False,
)
PocketBaseSSR(app)
STATS = Path(os.environ.get("STATS_DIR") or tempfile.gettempdir())
_reported = [-1]


@app.get("/me")
def me() -> str:
    return str(current_user.get("id") or "-")


@app.after_request
def _report(response: Response) -> Response:
    state: PocketBaseState = app.extensions["pocketbase"]
    calls = state.manager.validator.upstream_calls
    if calls != _reported[0]:
        _reported[0] = calls
        (STATS / str(os.getpid())).write_text(str(calls))
    return response
