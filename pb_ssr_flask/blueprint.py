"""Sign-in pages for Flask (``app.register_blueprint(auth_blueprint, url_prefix="/auth")``).

Each page reads its form fields, runs one step of a :mod:`pb_ssr.flows` flow and
:func:`answer` turns the step into a response. Every form is CSRF-checked (the
blueprint makes ``csrf_token()`` a Jinja global), every page ``no-store``; the
URLs and templates are listed in the docs' Flask page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from pb_ssr import OAUTH2_COOKIE_NAME, RequestSession, flows, safe_next
from pb_ssr.flows import Pages, Step

from .csrf import csrf_protect, init_csrf, rotate_csrf
from .decorators import login_required
from .globals import config, get_current_user, get_session

__all__ = ["answer", "auth_blueprint"]

#: The blueprint. Register it with ``app.register_blueprint(auth_blueprint, url_prefix="/auth")``.
auth_blueprint = Blueprint("pb_auth", __name__, template_folder="templates")

# Pages whose URL holds a token (or an OAuth2 code): never leak it in a Referer.
_TOKEN_ENDPOINTS = frozenset(
    {"password_reset_confirm", "verify_confirm", "oauth2_callback", "email_change_confirm"}
)


@auth_blueprint.record_once
def _on_register(state: BlueprintSetupState) -> None:
    init_csrf(cast("Flask", state.app))


@auth_blueprint.after_request
def _protect_response(response: Response) -> Response:
    # Auth pages carry CSRF tokens and personal state: no cache may keep them.
    response.cache_control.no_store = True
    response.cache_control.private = True
    if (request.endpoint or "").rpartition(".")[2] in _TOKEN_ENDPOINTS:
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


class _Pages(Pages):
    """The hooks of :class:`pb_ssr.flows.Pages`, in Flask's words."""

    def session(self) -> RequestSession:
        return get_session()

    def next_url(self, value: object = None) -> str:
        target = request.values.get("next") if value is None else value
        return safe_next(target, host=request.host, https=request.is_secure)

    def url(self, page: str, next_url: str | None = None) -> str:
        return url_for(f".{page}", next=next_url) if next_url else url_for(f".{page}")

    def redirect(self, url: str, status: int = 303) -> Response:
        return redirect(url, code=status)

    def rotate(self, *, signed_in: bool) -> None:
        rotate_csrf()

    def debug_request(self) -> tuple[bool, str] | None:
        return (request.is_secure, request.host) if current_app.debug else None

    def render(self, page: str, context: dict[str, Any], step: Step) -> Response:
        context.update(form=step.values, errors=step.field_errors)
        return make_response(render_template(f"pb_ssr/{page}.html", **context), step.status)


def _field(name: str) -> str:
    return request.form.get(name, "")


def answer(outcome: Step | flows.Flow, next_url: str | None = None) -> Response:
    """Run *outcome* if it is a flow, and turn its step into the response."""
    response: Response = _Pages().answer(outcome, next_url)
    return response


def _form(
    rule: str,
    page: str,
    post: Callable[..., Step | flows.Flow],
    get: Callable[[], Step | flows.Flow] | None = None,
    *,
    signed_in: bool = False,
) -> None:
    """Register the form page *page* at *rule*, CSRF-checked (and for *signed_in* users).

    GET answers *get* (or shows the empty page); POST answers *post*, called with a
    reader of the form's fields and the URL's arguments.
    """

    def view(**kwargs: str) -> Response:
        if request.method == "POST":
            return answer(post(_field, **kwargs))
        return answer(get() if get is not None else Step.show(page, values=kwargs))

    view = csrf_protect(login_required(view) if signed_in else view)
    auth_blueprint.add_url_rule(rule, page, view, methods=["GET", "POST"])


def _login_page() -> Step:
    email, notice = flows.login_page(session)
    return Step.show("login", notice=notice, values={"email": email})


def _own_email() -> str:
    return str(get_current_user().get("email") or "")


_form("/login", "login", lambda f: flows.password(session, f("email"), f("password")), _login_page)
_form(
    "/signup",
    "signup",
    lambda f: flows.sign_up(session, f("email"), f("password"), f("password_confirm"), f("name")),
)
_form("/otp", "otp_request", lambda f: flows.request_otp(session, f("email")))
_form(
    "/otp/verify",
    "otp_verify",
    lambda f: flows.otp_verify(session, f("code")),
    lambda: flows.otp_page(session),
)
_form(
    "/mfa",
    "mfa",
    lambda f: (
        flows.mfa_resend(session)
        if "resend" in request.form
        else flows.mfa_verify(session, f("code"))
    ),
    lambda: flows.mfa_page(session),
)
_form("/password-reset", "password_reset", lambda f: flows.request_password_reset(f("email")))
_form(
    "/password-reset/<token>",
    "password_reset_confirm",
    lambda f, token: flows.confirm_password_reset(token, f("password"), f("password_confirm")),
)
_form(
    "/verify",
    "verify_request",
    lambda f: flows.request_verification(f("email"), own_email=_own_email()),
)
_form("/verify/<token>", "verify_confirm", lambda f, token: flows.confirm_verification(token))
_form(
    "/email-change",
    "email_change",
    lambda f: flows.request_email_change(f("email")),
    signed_in=True,
)
_form(
    "/email-change/<token>",
    "email_change_confirm",
    lambda f, token: flows.confirm_email_change(token, f("password")),
)


@auth_blueprint.route("/logout", methods=["POST"])
@csrf_protect
def logout() -> ResponseReturnValue:
    """Sign out (POST only, CSRF-checked): the auth cookie is deleted."""
    return answer(flows.sign_out(session))


@auth_blueprint.route("/logout/everywhere", methods=["POST"])
@csrf_protect
def logout_everywhere() -> ResponseReturnValue:
    """Sign out of every device (POST, CSRF-checked); needs the service client."""
    return answer(flows.sign_out_everywhere(session, get_session(), lambda: config().service))


@auth_blueprint.route("/oauth2/start/<provider>")
def oauth2_start(provider: str) -> ResponseReturnValue:
    """Send the browser to *provider*'s sign-in page (an unknown provider is a 404)."""
    callback = url_for(".oauth2_callback")
    redirect_url = url_for(".oauth2_callback", _external=True)
    pages = _Pages()
    step, kept = flows.run(
        flows.oauth2_start(provider, redirect_url, pages.next_url()), pages.users()
    )
    response = answer(step)
    if kept is not None:
        response.set_cookie(**config().oauth2_cookie(kept, path=callback).set_cookie_kwargs())
    return response


@auth_blueprint.route("/oauth2/callback")
def oauth2_callback() -> ResponseReturnValue:
    """Finish the OAuth2 sign-in: check ``state``, exchange the code, go to ``next``."""
    kept = config().read_oauth2_cookie(request.cookies.get(OAUTH2_COOKIE_NAME))
    redirect_url = url_for(".oauth2_callback", _external=True)
    flow = flows.oauth2_callback(session, kept, request.args, redirect_url)
    response = answer(flow, _Pages().next_url((kept or {}).get("next") or ""))
    cookie = config().oauth2_cookie(None, path=url_for(".oauth2_callback"))
    response.set_cookie(**cookie.set_cookie_kwargs())
    return response
