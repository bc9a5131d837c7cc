"""Sign-in pages for Flask: the flows of :mod:`pb_ssr.flows`, translated.

Opt-in, next to the extension::

    PocketBaseSSR(app)
    app.register_blueprint(auth_blueprint, url_prefix="/auth")

Each view reads its form fields, runs one step of a core flow on the auth
collection (``POCKETBASE_AUTH_COLLECTION``) through the request's own client, and
:func:`answer` turns the :class:`~pb_ssr.flows.Step` into a response. Registering
the blueprint makes ``csrf_token()`` a Jinja global; every form is CSRF-checked,
every page ``no-store``, and pages whose URL holds a token send
``Referrer-Policy: no-referrer``. The URLs, templates and security properties are
listed in the Flask reference page of the docs. The multi-step flows keep their
ids in ``flask.session``.
"""

from __future__ import annotations

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

from pb_ssr import (
    OAUTH2_COOKIE_NAME,
    RecordService,
    RequestSession,
    flows,
    insecure_cookie_hint,
    safe_next,
)
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

    def users(self) -> RecordService:
        return get_session().client().collection(config().settings.AUTH_COLLECTION)

    def next_url(self, value: object = None) -> str:
        target = request.values.get("next") if value is None else value
        return safe_next(target, host=request.host, https=request.is_secure)

    def url(self, page: str, next_url: str | None = None) -> str:
        return url_for(f".{page}", next=next_url) if next_url else url_for(f".{page}")

    def redirect(self, url: str, status: int = 303) -> Response:
        return redirect(url, code=status)

    def rotate(self, *, signed_in: bool) -> None:
        rotate_csrf()

    def cookie_hint(self) -> str | None:
        if not current_app.debug:
            return None
        secure = config().settings.COOKIE_SECURE
        return insecure_cookie_hint(secure=secure, is_https=request.is_secure, host=request.host)

    def render(self, page: str, context: dict[str, Any], step: Step) -> Response:
        context.update(form=step.values, errors=step.field_errors)
        return make_response(render_template(f"pb_ssr/{page}.html", **context), step.status)


def _field(name: str) -> str:
    return request.form.get(name, "")


def answer(outcome: Step | flows.Flow, next_url: str | None = None) -> Response:
    """Run *outcome* if it is a flow, and turn its step into the response."""
    response: Response = _Pages().answer(outcome, next_url)
    return response


def _page(page: str, post: Any, get: Any = None) -> Response:
    """GET shows *get* (or the empty page), POST answers *post*."""
    if request.method == "POST":
        return answer(post())
    return answer(
        get() if get is not None else Step.show(page, values=dict(request.view_args or {}))
    )


@auth_blueprint.route("/login", methods=["GET", "POST"])
@csrf_protect
def login() -> ResponseReturnValue:
    """Sign in with email and password; a 401 asking for a second factor leads to ``mfa``."""

    def show() -> Step:
        email, notice = flows.login_page(session)
        return Step.show("login", notice=notice, values={"email": email})

    return _page(
        "login", lambda: flows.password(session, _field("email"), _field("password")), show
    )


@auth_blueprint.route("/signup", methods=["GET", "POST"])
@csrf_protect
def signup() -> ResponseReturnValue:
    """Create an account (email, password, confirmation, optional name), then sign in."""
    return _page(
        "signup",
        lambda: flows.sign_up(
            session, _field("email"), _field("password"), _field("password_confirm"), _field("name")
        ),
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


@auth_blueprint.route("/otp", methods=["GET", "POST"])
@csrf_protect
def otp_request() -> ResponseReturnValue:
    """Mail a one-time sign-in code; the answer is the same whether the account exists."""
    return _page("otp_request", lambda: flows.request_otp(session, _field("email")))


@auth_blueprint.route("/otp/verify", methods=["GET", "POST"])
@csrf_protect
def otp_verify() -> ResponseReturnValue:
    """Sign in with the mailed code (completing an MFA session when one is under way)."""
    return _page(
        "otp_verify",
        lambda: flows.otp_verify(session, _field("code")),
        lambda: flows.otp_page(session),
    )


@auth_blueprint.route("/mfa", methods=["GET", "POST"])
@csrf_protect
def mfa() -> ResponseReturnValue:
    """The second step after a password: a mailed code ("resend" mails another)."""
    if "resend" in request.form:
        return answer(flows.mfa_resend(session))
    return _page(
        "mfa", lambda: flows.mfa_verify(session, _field("code")), lambda: flows.mfa_page(session)
    )


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


@auth_blueprint.route("/password-reset", methods=["GET", "POST"])
@csrf_protect
def password_reset() -> ResponseReturnValue:
    """Mail a password-reset link; the answer is the same whether the account exists."""
    return _page("password_reset", lambda: flows.request_password_reset(_field("email")))


@auth_blueprint.route("/password-reset/<token>", methods=["GET", "POST"])
@csrf_protect
def password_reset_confirm(token: str) -> ResponseReturnValue:
    """Choose a new password with the token from the reset mail."""
    return _page(
        "password_reset_confirm",
        lambda: flows.confirm_password_reset(token, _field("password"), _field("password_confirm")),
    )


@auth_blueprint.route("/verify", methods=["GET", "POST"])
@csrf_protect
def verify_request() -> ResponseReturnValue:
    """Mail a verification link to the signed-in user, or to the email given."""
    own = str(get_current_user().get("email") or "")
    return _page(
        "verify_request", lambda: flows.request_verification(_field("email"), own_email=own)
    )


@auth_blueprint.route("/verify/<token>", methods=["GET", "POST"])
@csrf_protect
def verify_confirm(token: str) -> ResponseReturnValue:
    """Confirm an email address with the mailed token (GET shows a button, POST confirms)."""
    return _page("verify_confirm", lambda: flows.confirm_verification(token))


@auth_blueprint.route("/email-change", methods=["GET", "POST"])
@csrf_protect
@login_required
def email_change() -> ResponseReturnValue:
    """The signed-in user asks to change their email: a link goes to the new address."""
    return _page("email_change", lambda: flows.request_email_change(_field("email")))


@auth_blueprint.route("/email-change/<token>", methods=["GET", "POST"])
@csrf_protect
def email_change_confirm(token: str) -> ResponseReturnValue:
    """Confirm an email change with the mailed token and the password; then sign in again."""
    return _page(
        "email_change_confirm", lambda: flows.confirm_email_change(token, _field("password"))
    )
