"""The chat page written by hand with no pb-ssr at all: the floor of a Flask SSR page.

Used by ``bench/ssr_load.py`` to tell what the SSR page costs because it is a Python
page (gunicorn, Flask, an httpx round trip, JSON, Jinja) from what pb-ssr adds. It
renders the example's own ``index.html`` from one pooled ``httpx.Client`` call, and
skips everything pb-ssr does for safety: the token comes from a plain cookie and is
never checked (no signature, no validation, no renewal), no client address is
forwarded, and ``csrf_token()`` is a constant. Never deploy anything like it.

Serve: ``PB_URL=... gunicorn 'bench.floor_app:app'``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from flask import Blueprint, Flask, redirect, render_template, request

ROOT = Path(__file__).resolve().parent.parent
PB_URL = os.environ.get("PB_URL", "http://127.0.0.1:8090")

app = Flask(__name__, template_folder=str(ROOT / "example_projects" / "flask_chat" / "templates"))
app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY", "floor")
http = httpx.Client(
    trust_env=False,
    limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
)


class User(dict[str, Any]):
    """Just enough of ``current_user`` for the template."""

    is_authenticated = True

    @property
    def id(self) -> str:
        return str(self.get("id", ""))


@app.context_processor
def _context() -> dict[str, Any]:
    return {
        "current_user": User(id=request.cookies.get("pb_user", ""), name="User 0"),
        "csrf_token": lambda: "floor-has-no-csrf",
    }


@app.get("/")
def index() -> Any:
    token = request.cookies.get("pb_token")
    if not token:
        return redirect("/auth/login")
    answer = http.get(
        f"{PB_URL}/api/collections/messages/records",
        params={"page": 1, "perPage": 50, "sort": "-created", "expand": "user"},
        headers={"Authorization": token},
    )
    answer.raise_for_status()
    data = answer.json()
    messages = list(reversed(data["items"]))
    return render_template("index.html", messages=messages, total=data["totalItems"])


# The endpoints the template links to; only their URLs matter here.
@app.get("/stats")
def stats() -> str:
    return ""


@app.post("/messages")
def post_message() -> str:
    return ""


@app.post("/messages/<message_id>/delete")
def delete_message(message_id: str) -> str:
    return ""


auth = Blueprint("pb_auth", __name__)


@auth.route("/login", methods=["GET", "POST"])
def login() -> str:
    return "floor: set the pb_token and pb_user cookies"


@auth.post("/logout")
def logout() -> str:
    return ""


@auth.get("/signup")
def signup() -> str:
    return ""


app.register_blueprint(auth, url_prefix="/auth")
