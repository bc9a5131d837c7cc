"""The Flask extension: ``PocketBaseSSR(app)`` or ``ext.init_app(app)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, render_template

from pb_ssr import PocketBase, PocketBaseUnavailable, ServiceClient, SessionManager, Settings

from .globals import current_user, get_pb, get_session

__all__ = ["PocketBaseSSR", "PocketBaseState"]

#: Flask-only settings (``POCKETBASE_<KEY>``) that the core does not know.
ADAPTER_DEFAULTS: dict[str, Any] = {
    #: Endpoint ``login_required`` redirects to.
    "LOGIN_VIEW": "pb_auth.login",
}


@dataclass
class PocketBaseState:
    """What the extension keeps per app, in ``app.extensions["pocketbase"]``."""

    settings: Settings
    manager: SessionManager
    login_view: str
    _service: ServiceClient | None = field(default=None, repr=False)

    @property
    def service(self) -> ServiceClient:
        """The app's superuser :class:`~pb_ssr.ServiceClient` (created on first use)."""
        if self._service is None:
            self._service = ServiceClient.from_settings(self.settings)
        return self._service


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

        :raises RuntimeError: when registered twice or ``SECRET_KEY`` is missing.
        :raises pb_ssr.ConfigurationError: on a missing ``POCKETBASE_URL`` or a bad value.
        """
        if "pocketbase" in app.extensions:
            raise RuntimeError("PocketBaseSSR is already registered on this app.")
        for key, value in ADAPTER_DEFAULTS.items():
            app.config.setdefault(f"POCKETBASE_{key}", value)
        raw = {
            key.removeprefix("POCKETBASE_"): value
            for key, value in app.config.items()
            if key.startswith("POCKETBASE_")
        }
        login_view = str(raw.pop("LOGIN_VIEW"))
        settings = Settings.from_mapping(raw, source="POCKETBASE_")
        secret = app.config.get("SECRET_KEY")
        if settings.COOKIE_FORMAT == "signed" and not secret:
            raise RuntimeError(
                "pb-ssr signs its auth cookie with SECRET_KEY: set app.config['SECRET_KEY']."
            )
        manager = SessionManager(
            settings,
            secret_key=secret,
            secret_key_fallbacks=list(app.config.get("SECRET_KEY_FALLBACKS") or []),
        )
        app.extensions["pocketbase"] = PocketBaseState(settings, manager, login_view)
        app.before_request(_before_request)
        app.after_request(_after_request)
        app.register_error_handler(PocketBaseUnavailable, _unavailable)
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
    headers = response.headers
    if result.user_dependent:
        # Plain header writes when the view set none (the common case): werkzeug's
        # parsed Vary / Cache-Control objects cost more than the rest of the session.
        if "Vary" not in headers:
            headers["Vary"] = "Cookie"
        else:
            response.vary.add("Cookie")
        if "Cache-Control" not in headers and not result.no_store:
            headers["Cache-Control"] = "private"
            return response
        response.cache_control.private = True
        response.cache_control.public = False
    if result.no_store:
        response.cache_control.no_store = True
    return response


def _unavailable(error: PocketBaseUnavailable) -> tuple[str, int]:
    return render_template("pb_ssr/unavailable.html"), 503


def _template_context() -> dict[str, Any]:
    # The user itself once the request has resolved it (``login_required`` does): a
    # template may read it once per row (the chat page: 50 times), and every read
    # through the LocalProxy costs a context lookup. Until then, the lazy proxy, so a
    # page that never shows the user never checks the cookie.
    user = g.get("_pb_ssr_user")
    return {"current_user": user if user is not None else current_user}


def pb_file_url(
    record: Any, filename: str, thumb: str | None = None, download: bool = False
) -> str:
    """Template helper: the URL of a record's file (``{{ pb_file_url(msg, msg.image) }}``).

    Protected files need a file token and are better served through a view.
    """
    settings = get_session().manager.settings
    files = PocketBase(settings.PUBLIC_URL or settings.URL).files
    return files.get_url(record, filename, thumb=thumb, download=download)
