"""The Flask chat example: server-rendered pages on PocketBase through pb-ssr.

Pages: sign up / sign in (the pb-ssr auth blueprint), the last 50 messages with
their authors (newest first, updated live), post, edit and delete your own, and a
stats page built server-side by the superuser service client (the legitimate
server-side case: an aggregation that PocketBase's API rules would not let one user
compute).

Live updates: ``/live?feeds=messages`` relays each signed-in user's PocketBase
events (their own token and rules) as HTML fragments rendered with the page's own
partial, ``_message.html``; ``live.js`` applies them. Without JavaScript the pages
work with reloads.

Configuration comes from the environment: ``PB_URL``, ``FLASK_SECRET_KEY``,
``PB_SUPERUSER_EMAIL``/``PB_SUPERUSER_PASSWORD`` (for the stats page) and
``PB_COOKIE_SECURE`` (``0`` for plain-http local runs).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from example_projects import stats as shared_stats
from pb_ssr import ClientResponseError, Feed, Record
from pb_ssr_flask import (
    PocketBaseSSR,
    auth_blueprint,
    csrf_protect,
    current_user,
    live_script,
    live_view,
    login_required,
    pb,
    service,
)


def render_message(action: str, record: Record) -> str:
    """A live message: the page's own partial, rendered for the viewer of the stream."""
    return render_template("_message.html", m=record)


#: What the chat page may follow live (``?feeds=messages``), as the signed-in user.
FEEDS = [Feed("messages", "messages", expand="user", render=render_message)]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the chat app (application factory)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("FLASK_SECRET_KEY") or secrets.token_urlsafe(32),
        POCKETBASE_URL=os.environ.get("PB_URL", "http://127.0.0.1:8090"),
        POCKETBASE_COOKIE_SECURE=os.environ.get("PB_COOKIE_SECURE", "1") != "0",
        POCKETBASE_LOGIN_VIEW="pb_auth.login",
    )
    app.config.update(config or {})
    if os.environ.get("BEHIND_PROXY") == "1":
        # One reverse proxy in front: trust its X-Forwarded-For for remote_addr.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    PocketBaseSSR(app)
    app.register_blueprint(auth_blueprint, url_prefix="/auth")
    app.add_url_rule("/live", view_func=live_view(FEEDS))
    app.add_url_rule("/live.js", view_func=live_script)

    @app.get("/")
    @login_required
    def index() -> str:
        page = pb.collection("messages").get_list(1, 50, sort="-created", expand="user")
        return render_template("index.html", messages=page.items, total=page.total_items)

    @app.post("/messages")
    @login_required
    @csrf_protect
    def post_message() -> Any:
        text = (request.form.get("text") or "").strip()
        if not text:
            flash("Write something first.")
            return redirect(url_for("index"))
        try:
            pb.collection("messages").create({"text": text, "user": current_user.id})
        except ClientResponseError as exc:
            flash(exc.data.get("text", {}).get("message") or "Could not post the message.")
        return redirect(url_for("index"))

    @app.route("/messages/<message_id>/edit", methods=["GET", "POST"])
    @login_required
    @csrf_protect
    def edit_message(message_id: str) -> Any:
        messages = pb.collection("messages")
        try:
            message = messages.get_one(message_id)
            if message.get("user") != current_user.id:
                abort(404)  # PocketBase's updateRule would refuse it anyway
            if request.method == "POST":
                text = (request.form.get("text") or "").strip()
                if text:
                    messages.update(message_id, {"text": text})
                    return redirect(url_for("index"))
                flash("Write something first.")
        except ClientResponseError as exc:
            if exc.status in (403, 404):
                abort(404)
            if exc.status != 400:
                raise
            flash(exc.data.get("text", {}).get("message") or "Could not save the message.")
        return render_template("edit.html", message=message)

    @app.post("/messages/<message_id>/delete")
    @login_required
    @csrf_protect
    def delete_message(message_id: str) -> Any:
        try:
            pb.collection("messages").delete(message_id)
        except ClientResponseError as exc:
            if exc.status in (403, 404):
                abort(404)
            raise
        return redirect(url_for("index"))

    @app.get("/stats")
    @login_required
    def stats() -> str:
        return render_template("stats.html", **compute_stats(current_user.id))

    return app


def compute_stats(user_id: str) -> dict[str, Any]:
    """The stats page data, aggregated by the app's superuser service client."""
    return shared_stats.compute_stats(service(), user_id)


if __name__ == "__main__":  # pragma: no cover
    create_app().run(host="127.0.0.1", port=8000)
