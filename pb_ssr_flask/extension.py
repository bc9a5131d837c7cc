"""The Flask extension: ``PocketBaseSSR(app)`` or ``ext.init_app(app)``."""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

from flask import (
    Flask,
    Response,
    g,
    render_template,
    render_template_string,
    request,
)
from jinja2 import TemplateNotFound

from pb_ssr import (
    UNAVAILABLE_JSON,
    ClientResponseError,
    OutageLog,
    PocketBaseConfig,
    PocketBaseUnavailable,
    warn_insecure_cookie,
)

from .globals import config, current_user, get_pb

__all__ = ["PocketBaseSSR", "PocketBaseState", "pb_file_url"]

logger = logging.getLogger("pb_ssr.flask")
#: One log line per minute about 503s, not one per request.
outages = OutageLog(logger)

#: Flask-only settings (``POCKETBASE_<KEY>``) that the core does not know.
ADAPTER_DEFAULTS: dict[str, Any] = {
    #: Endpoint ``login_required`` redirects to.
    "LOGIN_VIEW": "pb_auth.login",
}

#: What the extension keeps per app in ``app.extensions["pocketbase"]`` (the old name).
PocketBaseState = PocketBaseConfig


class PocketBaseSSR:
    """Server-side PocketBase for a Flask app.

    Reads ``POCKETBASE_<KEY>`` settings (the keys of the README table, plus
    ``POCKETBASE_LOGIN_VIEW``) and ``SECRET_KEY`` / ``SECRET_KEY_FALLBACKS``. Per
    request it offers ``pb_ssr_flask.pb`` (also ``g.pb``), ``current_user`` and
    ``await apb()``, and writes the auth cookie back after the view.

    :param app: the app, or ``None`` to call :meth:`init_app` later (app factories).

    Example::

        app.config.update(SECRET_KEY=..., POCKETBASE_URL="http://127.0.0.1:8090")
        PocketBaseSSR(app)

        @app.get("/")
        def index():
            return render_template("index.html", messages=pb.collection("messages").get_list())
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Validate the settings and install the request hooks on *app*.

        :raises RuntimeError: when registered twice.
        :raises pb_ssr.ConfigurationError: on a missing ``POCKETBASE_URL``, a bad value,
            or no ``SECRET_KEY`` to sign the cookie with.
        """
        if "pocketbase" in app.extensions:
            raise RuntimeError("PocketBaseSSR is already registered on this app.")
        prefix = "POCKETBASE_"
        raw = {k.removeprefix(prefix): v for k, v in app.config.items() if k.startswith(prefix)}
        app.extensions["pocketbase"] = PocketBaseConfig.from_mapping(
            raw,
            secret_key=app.config.get("SECRET_KEY"),
            secret_key_fallbacks=list(app.config.get("SECRET_KEY_FALLBACKS") or []),
            source=prefix,
            options=ADAPTER_DEFAULTS,
            # Flask runs each async view on a fresh event loop: a per-loop pool would
            # connect anew every request, the process's sync pool keeps connections.
            async_sync_pool=True,
        )
        app.before_request(_before_request)
        app.after_request(_after_request)
        app.register_error_handler(PocketBaseUnavailable, _unavailable)
        # A 5xx from PocketBase is an outage too; an app's own handler for
        # ClientResponseError (its 404s, say) is kept, and still gets no outages.
        if ClientResponseError not in app.error_handler_spec[None][None]:
            app.register_error_handler(ClientResponseError, _unavailable)
        app.context_processor(_template_context)
        app.add_template_global(pb_file_url)
        app.add_template_filter(pb_file_url)

        from .cli import pb_cli

        app.cli.add_command(pb_cli)


def _before_request() -> None:
    # Lazy: nothing is read or validated until a view touches pb or current_user.
    g.pb = _LazyClient()


class _LazyClient:
    """``g.pb``: resolves to the request's client on first attribute access."""

    def __getattr__(self, name: str) -> Any:
        return getattr(get_pb(), name)

    def __repr__(self) -> str:
        return "<lazy pb_ssr client>"


def _after_request(response: Response) -> Response:
    session = g.get("_pb_ssr")
    if session is None:
        return response
    result = session.finalize()
    if result.cookie is not None:
        response.set_cookie(**result.cookie.set_cookie_kwargs())
        if not result.cookie.is_delete:
            warn_insecure_cookie(
                secure=result.cookie.secure, is_https=request.is_secure, host=request.host
            )
    headers = response.headers
    for name, value in result.headers(headers.get("Vary"), headers.get("Cache-Control")).items():
        headers[name] = value
    return response


def _unavailable(error: ClientResponseError) -> Response:
    """The 503 for a view's PocketBase outage: JSON for clients preferring it, else the page."""
    headers = config().unavailable(error, request.path, outages)
    if headers is None:
        # Not ours (a 404, or the app handles outages itself): as if unhandled.
        raise error
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return Response(json.dumps(UNAVAILABLE_JSON), 503, headers, mimetype="application/json")
    return Response(_unavailable_page(), 503, headers, mimetype="text/html")


def _unavailable_page() -> str:
    # The app's own pb_ssr/unavailable.html wins; without it (and without the auth
    # blueprint, whose folder holds ours) the packaged page is used.
    try:
        return render_template("pb_ssr/unavailable.html")
    except TemplateNotFound:
        page = resources.files(__package__) / "templates" / "pb_ssr" / "unavailable.html"
        return render_template_string(page.read_text(encoding="utf-8"))


def _template_context() -> dict[str, Any]:
    # The user itself once the request has resolved it (``login_required`` does): a
    # template may read it once per row (the chat page: 50 times), and every read
    # through the LocalProxy costs a context lookup. Until then, the lazy proxy, so a
    # page that never shows the user never checks the cookie.
    user = g.get("_pb_ssr_user")
    return {"current_user": user if user is not None else current_user}


def pb_file_url(
    record: Any,
    filename: str,
    thumb: str | None = None,
    download: bool = False,
    token: str | None = None,
) -> str:
    """Template helper: the URL of a record's file (``{{ pb_file_url(msg, msg.image) }}``).

    ``""`` when either is missing; *token* is a file token for protected files.
    """
    return config().file_url(record, filename, thumb, download, token)
