"""The chat page written by hand with no pb-ssr at all: the floor of a Flask SSR page.

Used by ``bench/ssr_load.py`` to tell what the SSR page costs because it is a Python
page (gunicorn, Flask, an httpx round trip, JSON, Jinja) from what pb-ssr adds. It is
what a competent developer would write for the same page without pb-ssr, and renders
the example's own templates to the same HTML:

- sign-in keeps PocketBase's token and user record in Flask's own signed session
  cookie (``session["pb_token"]``, ``session["user"]``), the idiomatic place;
- the page reads them back (one signature check of that cookie), makes one call on
  a pooled ``httpx.Client`` (``expand=user``, 50 messages) and renders ``index.html``;
- the forms carry a real CSRF token made the way Flask-WTF's ``generate_csrf`` does
  it (a random nonce in the session, signed with ``itsdangerous`` per request), so the
  page pays the same session and CSRF work as pb-ssr's page does with
  ``pb_ssr_flask.csrf``.

What it skips, and pb-ssr's page pays for, is exactly pb-ssr: its own auth cookie
(signature and claims), the cached check of the token with PocketBase, renewal,
the client address forwarded to PocketBase and the ``Set-Cookie``/``Vary`` work
after the view. The token goes to PocketBase as is; a 401 sends the user back to
the sign-in form.

Serve: ``PB_URL=... FLASK_SECRET_KEY=... gunicorn 'bench.floor_app:app'``.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Any

import httpx
from flask import Blueprint, Flask, abort, g, redirect, render_template, request, session
from itsdangerous import BadData, URLSafeTimedSerializer

ROOT = Path(__file__).resolve().parent.parent
PB_URL = os.environ.get("PB_URL", "http://127.0.0.1:8090")
CSRF_SALT = "floor-csrf"
CSRF_MAX_AGE = 8 * 3600

app = Flask(__name__, template_folder=str(ROOT / "example_projects" / "flask_chat" / "templates"))
app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY", "floor")
http = httpx.Client(
    trust_env=False,
    limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
)


def csrf_token() -> str:
    """The form token of this session (Flask-WTF's ``generate_csrf``, in short)."""
    token: str | None = g.get("csrf_token")
    if token is None:
        nonce = session.get("csrf")
        if not isinstance(nonce, str):
            nonce = session["csrf"] = secrets.token_urlsafe(32)
        serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=CSRF_SALT)
        token = g.csrf_token = str(serializer.dumps(nonce))
    return token


def check_csrf() -> None:
    """Reject a POST whose form token is not this session's (Flask-WTF's ``protect``)."""
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=CSRF_SALT)
    try:
        nonce = serializer.loads(request.form.get("csrf_token", ""), max_age=CSRF_MAX_AGE)
    except BadData:
        abort(400)
    if not hmac.compare_digest(str(nonce), str(session.get("csrf", ""))):
        abort(400)


@app.context_processor
def _context() -> dict[str, Any]:
    return {"current_user": session.get("user"), "csrf_token": csrf_token}


@app.get("/")
def index() -> Any:
    token = session.get("pb_token")
    if not token:
        return redirect("/auth/login")
    answer = http.get(
        f"{PB_URL}/api/collections/messages/records",
        params={"page": 1, "perPage": 50, "sort": "-created", "expand": "user"},
        headers={"Authorization": token},
    )
    if answer.status_code == 401:
        session.pop("pb_token", None)
        return redirect("/auth/login")
    answer.raise_for_status()
    data = answer.json()
    return render_template("index.html", messages=data["items"], total=data["totalItems"])


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


@app.route("/messages/<message_id>/edit", methods=["GET", "POST"])
def edit_message(message_id: str) -> str:
    return ""


@app.get("/live")
def live() -> str:
    return ""


@app.get("/live.js")
def live_script() -> str:
    return ""


auth = Blueprint("pb_auth", __name__)

LOGIN_FORM = """<form method="post">
<input type="hidden" name="csrf_token" value="{token}">
<input type="email" name="email"><input type="password" name="password">
<button type="submit">Sign in</button></form>"""


@auth.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Password sign-in: the token and the user record go into Flask's session."""
    if request.method == "POST":
        check_csrf()
        answer = http.post(
            f"{PB_URL}/api/collections/users/auth-with-password",
            json={"identity": request.form["email"], "password": request.form["password"]},
        )
        if answer.status_code == 200:
            data = answer.json()
            session["pb_token"] = data["token"]
            session["user"] = data["record"]
            return redirect("/")
    return LOGIN_FORM.format(token=csrf_token())


@auth.post("/logout")
def logout() -> str:
    return ""


@auth.get("/signup")
def signup() -> str:
    return ""


app.register_blueprint(auth, url_prefix="/auth")
