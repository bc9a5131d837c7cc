"""The app of the fault benchmark (``bench/faults.py``): two pages, one without PocketBase.

``GET /`` renders a line of text and never touches PocketBase; ``GET /notes`` lists
the signed-in user's private notes. Configured from the environment:
``PB_URL`` and any ``POCKETBASE_<KEY>`` (numbers are read as numbers).

Run: ``gunicorn -k gthread --threads 16 'bench.fault_app:create_app()'``.
"""

from __future__ import annotations

import os

from flask import Flask

from pb_ssr_flask import PocketBaseSSR, current_user, pb

SECRET_KEY = "pb-ssr-bench-fault-secret"


def _value(raw: str) -> object:
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(raw.lower(), raw)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET_KEY, POCKETBASE_URL=os.environ["PB_URL"], POCKETBASE_COOKIE_SECURE=False
    )
    app.config.update({k: _value(v) for k, v in os.environ.items() if k.startswith("POCKETBASE_")})
    PocketBaseSSR(app)

    @app.get("/")
    def home() -> str:
        return "<p>About us: a page that never asks PocketBase.</p>"

    @app.get("/notes")
    def notes() -> str:
        items = pb.collection("private_notes").get_full_list()
        titles = ", ".join(sorted(item["title"] for item in items))
        return f"<p>{current_user.get('id') or '-'}: {titles}</p>"

    return app
