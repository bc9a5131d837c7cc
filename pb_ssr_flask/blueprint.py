"""Sign-in pages for Flask: password, sign-up, OTP, MFA, OAuth2, reset, verification.

Opt-in: register the blueprint next to the extension::

    from pb_ssr_flask import PocketBaseSSR, auth_blueprint

    PocketBaseSSR(app)
    app.register_blueprint(auth_blueprint, url_prefix="/auth")

Registering it also makes ``csrf_token()`` a Jinja global (see
:mod:`pb_ssr_flask.csrf`). The views work on the auth collection named by
``POCKETBASE_AUTH_COLLECTION`` (``"users"``) through the request's own client, so
a successful sign-in is written to the auth cookie by the extension.

==================================  ============================================
URL (with ``url_prefix="/auth"``)   endpoint (``pb_auth.`` + ...)
==================================  ============================================
``/auth/login``                     ``login``
``/auth/signup``                    ``signup``
``/auth/logout`` (POST only)        ``logout``
``/auth/logout/everywhere`` (POST)  ``logout_everywhere`` (needs the service client)
``/auth/otp``                       ``otp_request``
``/auth/otp/verify``                ``otp_verify``
``/auth/mfa``                       ``mfa``
``/auth/oauth2/start/<provider>``   ``oauth2_start``
``/auth/oauth2/callback``           ``oauth2_callback``
``/auth/password-reset``            ``password_reset``
``/auth/password-reset/<token>``    ``password_reset_confirm``
``/auth/verify``                    ``verify_request``
``/auth/verify/<token>``            ``verify_confirm``
==================================  ============================================

Security properties:

- every form is CSRF-protected; ``logout`` is POST only;
- ``next`` is followed only when it is a path on this site
  (:func:`~pb_ssr_flask.is_safe_next`), else the user lands on ``/``;
- messages never say whether an account exists (wrong email and wrong password
  read the same, reset and verification mails are "sent" to anyone, a taken
  email at sign-up gets a generic answer);
- PocketBase's rate limiter answers "Too many attempts...", and PocketBase being
  down answers a 503 message instead of an error page;
- the OAuth2 ``state`` and PKCE verifier travel in a signed, HttpOnly,
  ``SameSite=Lax`` cookie that lives 10 minutes and is only sent to the callback.

Sign-out is a POST, so put a small form in the site's layout:

.. code-block:: html+jinja

    <form method="post" action="{{ url_for('pb_auth.logout') }}">
      <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
      <button type="submit">Sign out</button>
    </form>

The multi-step flows (MFA, OTP) keep their ids in ``flask.session``, the app's
signed session cookie; set ``SESSION_COOKIE_SECURE`` and
``SESSION_COOKIE_SAMESITE = "Lax"`` in production, like the auth cookie.

The mails PocketBase sends link to its own pages by default. To use these pages,
edit the collection's mail templates (*Collections > users > Options*) so that the
links read ``{APP_URL}/auth/password-reset/{TOKEN}`` and
``{APP_URL}/auth/verify/{TOKEN}``.

Templates live in ``templates/pb_ssr/``; each extends ``pb_ssr/base.html`` and
fills ``{% block content %}`` (and ``{% block title %}``). Give the app its own
``pb_ssr/base.html`` to put the pages in the site's layout, or override any page.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    abort,
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
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from pb_ssr import ClientResponseError, ConfigurationError, insecure_cookie_hint
from pb_ssr.messages import (
    BAD_CODE,
    BAD_EMAIL,
    BAD_LINK,
    BAD_LOGIN,
    BAD_STATE,
    CODE_SENT,
    NO_CODES,
    NO_SIGN_OUT_EVERYWHERE,
    NOTHING_CHOSEN,
    OAUTH2_FAILED,
    PASSWORDS_DIFFER,
    RESET_SENT,
    SIGNED_OUT_EVERYWHERE,
    SIGNUP_FAILED,
    VERIFY_SENT,
    auth_failure,
)

from .csrf import csrf_protect, init_csrf, rotate_csrf
from .decorators import is_safe_next
from .globals import get_current_user, get_session

if TYPE_CHECKING:
    from pb_ssr._sync._services import RecordService

__all__ = ["auth_blueprint"]

#: The blueprint. Register it with ``app.register_blueprint(auth_blueprint, url_prefix="/auth")``.
auth_blueprint = Blueprint("pb_auth", __name__, template_folder="templates")

#: Where users land when ``next`` is missing or points off-site.
DEFAULT_NEXT = "/"
#: The cookie that carries the OAuth2 state and PKCE verifier to the callback.
OAUTH2_COOKIE_NAME = "pb_oauth2_state"
#: Seconds the OAuth2 state cookie lives (the time to sign in at the provider).
OAUTH2_MAX_AGE = 600
#: The salt of the OAuth2 state cookie.
OAUTH2_SALT = "pb_ssr.oauth2-state"

# flask.session keys of the multi-step flows.
_MFA_KEY = "_pb_ssr_mfa"
_OTP_KEY = "_pb_ssr_otp"
# Pages whose URL holds a token (or an OAuth2 code): never leak it in a Referer.
_TOKEN_ENDPOINTS = frozenset({"password_reset_confirm", "verify_confirm", "oauth2_callback"})


@auth_blueprint.record_once
def _on_register(state: BlueprintSetupState) -> None:
    init_csrf(cast("Flask", state.app))


@auth_blueprint.after_request
def _protect_response(response: Response) -> Response:
    # Auth pages carry CSRF tokens and personal state: no cache may keep them.
    response.cache_control.no_store = True
    response.cache_control.private = True
    endpoint = (request.endpoint or "").rpartition(".")[2]
    if endpoint in _TOKEN_ENDPOINTS:
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- helpers ---------------------------------------------------------------------------


def _settings() -> Any:
    try:
        return current_app.extensions["pocketbase"].settings
    except KeyError:
        raise RuntimeError(
            "The pb_auth blueprint needs the extension: call PocketBaseSSR(app) "
            "or ext.init_app(app) before serving requests."
        ) from None


def _users() -> RecordService:
    """The auth collection's service on the request's own client."""
    return get_session().client().collection(_settings().AUTH_COLLECTION)


def _next_url(value: object = None) -> str:
    target = request.values.get("next") if value is None else value
    return target if isinstance(target, str) and is_safe_next(target) else DEFAULT_NEXT


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("next_url", _next_url())
    return render_template(f"pb_ssr/{template}", **context), status


def _flow(key: str) -> dict[str, str] | None:
    value = session.get(key)
    return cast("dict[str, str]", value) if isinstance(value, dict) else None


def _same_email(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and str(a).casefold() == str(b).casefold()


def _see_other(location: str) -> Response:
    # 303: the browser follows a form POST with a GET.
    return redirect(location, code=303)


def _signed_in(next_url: str) -> Response:
    """Finish a sign-in: drop the flow state, rotate the CSRF nonce, go to *next_url*."""
    session.pop(_MFA_KEY, None)
    session.pop(_OTP_KEY, None)
    rotate_csrf()
    return _see_other(next_url)


def _start_mfa(mfa_id: str, email: str, first: str, next_url: str) -> Response:
    """Remember an MFA session after a first factor and send the user to the second."""
    session[_MFA_KEY] = {"mfa_id": mfa_id, "email": email, "first": first}
    session.pop(_OTP_KEY, None)
    if first == "otp":
        # The code was the first factor: the password is the second.
        return _see_other(url_for(".login", next=next_url))
    return _see_other(url_for(".mfa", next=next_url))


def _password_login(email: str, password: str, next_url: str) -> ResponseReturnValue:
    flow = _flow(_MFA_KEY)
    mfa_id = None
    if flow is not None and flow.get("first") == "otp" and _same_email(flow.get("email"), email):
        mfa_id = flow.get("mfa_id")
    try:
        _users().auth_with_password(email, password, mfa_id=mfa_id)
    except ClientResponseError as exc:
        if exc.mfa_id:
            return _start_mfa(exc.mfa_id, email, "password", next_url)
        message, status = auth_failure(exc, BAD_LOGIN)
        return _render_login(status, error=message, email=email)
    return _signed_in(next_url)


def _render_login(status: int = 200, **context: Any) -> ResponseReturnValue:
    """The login page, with the other ways in (skipped when PocketBase is down)."""
    if status != 503:
        context = {**_login_options(), **context}
    if current_app.debug:
        # In debug only: the page names the setting, which is no secret in development.
        secure = current_app.extensions["pocketbase"].settings.COOKIE_SECURE
        hint = insecure_cookie_hint(secure=secure, is_https=request.is_secure, host=request.host)
        context.setdefault("cookie_hint", hint)
    return _render("login.html", status, **context)


def _login_options() -> dict[str, Any]:
    """What the login page offers besides the password: OAuth2 providers, OTP."""
    try:
        methods: dict[str, Any] = _users().list_auth_methods()
    except ClientResponseError:
        return {"providers": [], "otp_enabled": False}
    oauth2 = methods.get("oauth2") or {}
    providers = [
        {"name": p.get("name", ""), "display_name": p.get("displayName") or p.get("name", "")}
        for p in (oauth2.get("providers") or [])
        if oauth2.get("enabled") and p.get("name")
    ]
    otp_enabled = bool((methods.get("otp") or {}).get("enabled"))
    return {"providers": providers, "otp_enabled": otp_enabled}


def _verify_code(
    code: str, otp: dict[str, str], next_url: str, template: str
) -> ResponseReturnValue:
    email = otp.get("email", "")
    if not code:
        return _render(template, 400, error="Enter the code from the email.", email=email)
    mfa = _flow(_MFA_KEY)
    mfa_id = None
    if mfa is not None and mfa.get("first") == "password" and _same_email(mfa.get("email"), email):
        mfa_id = mfa.get("mfa_id")
    try:
        _users().auth_with_otp(otp.get("otp_id", ""), code, mfa_id)
    except ClientResponseError as exc:
        if exc.mfa_id:
            return _start_mfa(exc.mfa_id, email, "otp", next_url)
        message, status = auth_failure(exc, BAD_CODE)
        return _render(template, status, error=message, email=email)
    return _signed_in(next_url)


def _oauth2_serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=OAUTH2_SALT)


def _delete_oauth2_cookie(response: Response) -> Response:
    response.delete_cookie(
        OAUTH2_COOKIE_NAME,
        path=url_for(".oauth2_callback"),
        secure=bool(_settings().COOKIE_SECURE),
        httponly=True,
        samesite="Lax",
    )
    return response


def _field_errors(data: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
    """PocketBase's field errors, renamed to the form's fields (``passwordConfirm``...)."""
    errors: dict[str, str] = {}
    for remote, local in fields.items():
        item = data.get(remote)
        if isinstance(item, dict) and item.get("message"):
            errors[local] = str(item["message"])
    return errors


# -- password sign-in ----------------------------------------------------------------


@auth_blueprint.route("/login", methods=["GET", "POST"])
@csrf_protect
def login() -> ResponseReturnValue:
    """Sign in with email and password; a 401 asking for a second factor leads to ``mfa``."""
    next_url = _next_url()
    flow = _flow(_MFA_KEY)
    finishing = flow is not None and flow.get("first") == "otp"
    notice = "Enter your password to finish signing in." if finishing else None
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        if not email or not password:
            return _render_login(400, error="Enter your email and password.", email=email)
        return _password_login(email, password, next_url)
    email = flow.get("email", "") if flow is not None and finishing else ""
    return _render_login(notice=notice, email=email)


@auth_blueprint.route("/signup", methods=["GET", "POST"])
@csrf_protect
def signup() -> ResponseReturnValue:
    """Create an account (email, password, confirmation, optional name), then sign in."""
    next_url = _next_url()
    if request.method == "GET":
        return _render("signup.html", errors={}, form={})
    form = {
        "email": request.form.get("email", "").strip(),
        "name": request.form.get("name", "").strip(),
    }
    password = request.form.get("password", "")
    confirm = request.form.get("password_confirm", "")
    errors: dict[str, str] = {}
    if not form["email"]:
        errors["email"] = "Enter your email address."
    if not password:
        errors["password"] = NOTHING_CHOSEN
    elif password != confirm:
        errors["password_confirm"] = PASSWORDS_DIFFER
    if errors:
        return _render("signup.html", 400, errors=errors, form=form)
    body = {"email": form["email"], "password": password, "passwordConfirm": confirm}
    if form["name"]:
        body["name"] = form["name"]
    try:
        _users().create(body)
    except ClientResponseError as exc:
        message, status = auth_failure(exc, SIGNUP_FAILED)
        data = exc.data if status == 400 else {}
        errors = _field_errors(
            data, {"password": "password", "passwordConfirm": "password_confirm", "name": "name"}
        )
        email_error = data.get("email")
        # A taken address is never named: with no other field to blame, the answer
        # is the generic refusal.
        if isinstance(email_error, dict) and email_error.get("code") != "validation_not_unique":
            errors["email"] = BAD_EMAIL
        error = None if errors else message
        return _render("signup.html", status, errors=errors, form=form, error=error)
    try:
        _users().auth_with_password(form["email"], password)
    except ClientResponseError as exc:
        if exc.mfa_id:
            return _start_mfa(exc.mfa_id, form["email"], "password", next_url)
        # Created, but this collection wants more (e.g. a verified email) first.
        return _see_other(url_for(".login", next=next_url))
    return _signed_in(next_url)


@auth_blueprint.route("/logout", methods=["POST"])
@csrf_protect
def logout() -> ResponseReturnValue:
    """Sign out (POST only, CSRF-checked): the auth cookie is deleted."""
    get_session().logout()
    session.pop(_MFA_KEY, None)
    session.pop(_OTP_KEY, None)
    rotate_csrf()
    return _see_other(_next_url())


@auth_blueprint.route("/logout/everywhere", methods=["POST"])
@csrf_protect
def logout_everywhere() -> ResponseReturnValue:
    """Sign out of every device (POST, CSRF-checked): every token of the user is revoked.

    Needs the service client (superuser credentials or a service token); without it
    the page says so and nothing changes. When PocketBase is down the user stays
    signed in and may try again.
    """
    title = "Sign out everywhere"
    try:
        service = current_app.extensions["pocketbase"].service
    except (ValueError, ConfigurationError):
        return _render("message.html", 501, title=title, message=NO_SIGN_OUT_EVERYWHERE)
    try:
        signed_in = get_session().logout_everywhere(service)
    except ClientResponseError as exc:
        message, status = auth_failure(exc, NO_SIGN_OUT_EVERYWHERE)
        return _render("message.html", status, title=title, message=message)
    session.pop(_MFA_KEY, None)
    session.pop(_OTP_KEY, None)
    rotate_csrf()
    if not signed_in:
        return _see_other(url_for(".login"))
    return _render("message.html", title=title, message=SIGNED_OUT_EVERYWHERE, login_link=True)


# -- one-time codes and MFA -------------------------------------------------------


@auth_blueprint.route("/otp", methods=["GET", "POST"])
@csrf_protect
def otp_request() -> ResponseReturnValue:
    """Mail a one-time sign-in code; the answer is the same whether the account exists."""
    next_url = _next_url()
    if request.method == "GET":
        return _render("otp_request.html", email="")
    email = request.form.get("email", "").strip()
    if not email:
        return _render("otp_request.html", 400, error="Enter your email address.", email=email)
    try:
        # PocketBase answers an unknown email with a fake id: nothing to tell apart here.
        otp_id = _users().request_otp(email)
    except ClientResponseError as exc:
        message, status = auth_failure(exc, NO_CODES if exc.is_forbidden else BAD_EMAIL)
        return _render("otp_request.html", status, error=message, email=email)
    session[_OTP_KEY] = {"otp_id": otp_id, "email": email}
    return _see_other(url_for(".otp_verify", next=next_url))


@auth_blueprint.route("/otp/verify", methods=["GET", "POST"])
@csrf_protect
def otp_verify() -> ResponseReturnValue:
    """Sign in with the mailed code (completing an MFA session when one is under way)."""
    next_url = _next_url()
    otp = _flow(_OTP_KEY)
    if otp is None:
        return _see_other(url_for(".otp_request", next=next_url))
    if request.method == "POST":
        code = request.form.get("code", "").strip()
        return _verify_code(code, otp, next_url, "otp_verify.html")
    sent = CODE_SENT.format(email=otp.get("email", ""))
    return _render("otp_verify.html", notice=sent, email=otp.get("email", ""))


@auth_blueprint.route("/mfa", methods=["GET", "POST"])
@csrf_protect
def mfa() -> ResponseReturnValue:
    """Second step after a password that PocketBase answered with an MFA 401.

    A code is mailed to the remembered email (once, or again on "resend"); the
    code is then checked together with the MFA session id.
    """
    next_url = _next_url()
    flow = _flow(_MFA_KEY)
    if flow is None or flow.get("first") != "password":
        return _see_other(url_for(".login", next=next_url))
    email = flow.get("email", "")
    otp = _flow(_OTP_KEY)
    resend = request.method == "POST" and "resend" in request.form
    if request.method == "POST" and not resend:
        if otp is None or not _same_email(otp.get("email"), email):
            return _see_other(url_for(".mfa", next=next_url))
        return _verify_code(request.form.get("code", "").strip(), otp, next_url, "mfa.html")
    if resend or otp is None or not _same_email(otp.get("email"), email):
        try:
            otp_id = _users().request_otp(email)
        except ClientResponseError as exc:
            generic = (
                "This account needs a second sign-in step that is not available here."
                if exc.is_forbidden
                else BAD_CODE
            )
            message, status = auth_failure(exc, generic)
            return _render("mfa.html", status, error=message, email=email, send_failed=True)
        session[_OTP_KEY] = {"otp_id": otp_id, "email": email}
        if resend:
            return _see_other(url_for(".mfa", next=next_url))
    return _render("mfa.html", email=email)


# -- OAuth2 --------------------------------------------------------------------------


@auth_blueprint.route("/oauth2/start/<provider>")
def oauth2_start(provider: str) -> ResponseReturnValue:
    """Send the browser to *provider*'s sign-in page (an unknown provider is a 404)."""
    next_url = _next_url()
    try:
        methods: dict[str, Any] = _users().list_auth_methods()
    except ClientResponseError as exc:
        message, status = auth_failure(exc, OAUTH2_FAILED)
        return _render("login.html", status, error=message, email="")
    oauth2 = methods.get("oauth2") or {}
    providers = (oauth2.get("providers") or []) if oauth2.get("enabled") else []
    info = next((p for p in providers if p.get("name") == provider), None)
    if info is None:
        abort(404)
    # state and codeVerifier are new on every auth-methods call: this browser's pair
    # rides in a signed cookie to the callback, which checks state and sends the verifier.
    value = _oauth2_serializer().dumps(
        {
            "state": info["state"],
            "verifier": info["codeVerifier"],
            "provider": provider,
            "next": next_url,
        }
    )
    redirect_url = url_for(".oauth2_callback", _external=True)
    # authURL ends with "redirect_uri=": append ours, URL-encoded.
    response = redirect(info["authURL"] + quote(redirect_url, safe=""))
    response.set_cookie(
        OAUTH2_COOKIE_NAME,
        value,
        max_age=OAUTH2_MAX_AGE,
        path=url_for(".oauth2_callback"),
        secure=bool(_settings().COOKIE_SECURE),
        httponly=True,
        # Lax: the cookie must ride on the provider's top-level redirect back.
        samesite="Lax",
    )
    return response


@auth_blueprint.route("/oauth2/callback")
def oauth2_callback() -> ResponseReturnValue:
    """Finish the OAuth2 sign-in: check ``state``, exchange the code, go to ``next``."""

    def fail(message: str, status: int = 400, next_url: str = DEFAULT_NEXT) -> Response:
        body = _render("login.html", status, error=message, email="", next_url=next_url)
        return _delete_oauth2_cookie(make_response(body))

    try:
        data = _oauth2_serializer().loads(
            request.cookies.get(OAUTH2_COOKIE_NAME, ""), max_age=OAUTH2_MAX_AGE
        )
    except BadData:
        return fail(BAD_STATE)
    if not isinstance(data, dict):
        return fail(BAD_STATE)
    next_url = _next_url(data.get("next"))
    state = request.args.get("state", "")
    expected = str(data.get("state", ""))
    # Bytes: compare_digest refuses non-ASCII str, which a query string may hold.
    if not state or not expected or not hmac.compare_digest(state.encode(), expected.encode()):
        return fail(BAD_STATE, 400, next_url)
    code = request.args.get("code", "")
    if request.args.get("error") or not code:
        return fail(OAUTH2_FAILED, 400, next_url)
    try:
        _users().auth_with_oauth2_code(
            str(data.get("provider", "")),
            code,
            str(data.get("verifier", "")),
            url_for(".oauth2_callback", _external=True),
        )
    except ClientResponseError as exc:
        message, status = auth_failure(exc, OAUTH2_FAILED)
        return fail(message, status, next_url)
    return _delete_oauth2_cookie(_signed_in(next_url))


# -- password reset -------------------------------------------------------------------


@auth_blueprint.route("/password-reset", methods=["GET", "POST"])
@csrf_protect
def password_reset() -> ResponseReturnValue:
    """Mail a password-reset link; the answer is the same whether the account exists."""
    if request.method == "GET":
        return _render("password_reset.html", email="")
    email = request.form.get("email", "").strip()
    if not email:
        return _render("password_reset.html", 400, error="Enter your email address.", email="")
    try:
        _users().request_password_reset(email)
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_EMAIL)
        return _render("password_reset.html", status, error=message, email=email)
    return _render("message.html", title="Check your email", message=RESET_SENT.format(email=email))


@auth_blueprint.route("/password-reset/<token>", methods=["GET", "POST"])
@csrf_protect
def password_reset_confirm(token: str) -> ResponseReturnValue:
    """Choose a new password with the token from the reset mail."""
    if request.method == "GET":
        return _render("password_reset_confirm.html", token=token, errors={})
    password = request.form.get("password", "")
    confirm = request.form.get("password_confirm", "")
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = NOTHING_CHOSEN
    elif password != confirm:
        errors["password_confirm"] = PASSWORDS_DIFFER
    if errors:
        return _render("password_reset_confirm.html", 400, token=token, errors=errors)
    try:
        _users().confirm_password_reset(token, password, confirm)
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_LINK)
        data = exc.data if status == 400 else {}
        fields = {"password": "password", "passwordConfirm": "password_confirm"}
        errors = _field_errors(data, fields)
        error = None if errors and "token" not in data else message
        return _render(
            "password_reset_confirm.html", status, token=token, errors=errors, error=error
        )
    return _render(
        "message.html",
        title="Password changed",
        message="Your password was changed. Sign in with the new one.",
        login_link=True,
    )


# -- email verification ---------------------------------------------------------------


@auth_blueprint.route("/verify", methods=["GET", "POST"])
@csrf_protect
def verify_request() -> ResponseReturnValue:
    """Mail a verification link to the signed-in user, or to the email given."""
    user = get_current_user()
    if request.method == "GET":
        return _render("verify_request.html", email="")
    email = str(user.get("email") or "") if user.is_authenticated else ""
    email = email or request.form.get("email", "").strip()
    if not email:
        return _render("verify_request.html", 400, error="Enter your email address.", email="")
    try:
        _users().request_verification(email)
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_EMAIL)
        return _render("verify_request.html", status, error=message, email=email)
    return _render(
        "message.html", title="Check your email", message=VERIFY_SENT.format(email=email)
    )


@auth_blueprint.route("/verify/<token>", methods=["GET", "POST"])
@csrf_protect
def verify_confirm(token: str) -> ResponseReturnValue:
    """Confirm an email address with the token from the verification mail.

    GET shows a button and POST confirms, so a mail scanner that follows the link
    changes nothing.
    """
    if request.method == "GET":
        return _render("verify_confirm.html", token=token)
    try:
        _users().confirm_verification(token)
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_LINK)
        return _render("verify_confirm.html", status, token=token, error=message)
    return _render(
        "message.html", title="Email verified", message="Your email address is verified."
    )
