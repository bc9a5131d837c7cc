"""Sign-in pages for Django: password, sign-up, OTP, MFA, OAuth2, reset, verification.

Opt-in: include the URLs (app namespace ``pb_ssr``) and point ``LOGIN_URL`` at them::

    # urls.py
    path("auth/", include("pb_ssr_django.urls")),

    # settings.py
    LOGIN_URL = "pb_ssr:login"

The views work on the auth collection named by ``POCKETBASE["AUTH_COLLECTION"]``
(``"users"``) through the request's own client (``request.pb_session``), so a
successful sign-in is written to the auth cookie by ``PocketBaseMiddleware``.

==================================  =============================================
URL (under ``auth/``)               name (``pb_ssr:`` + ...)
==================================  =============================================
``login/``                          ``login``
``signup/``                         ``signup``
``logout/`` (POST only)             ``logout``
``otp/``                            ``otp_request``
``otp/verify/``                     ``otp_verify``
``mfa/``                            ``mfa``
``oauth2/start/<provider>/``        ``oauth2_start``
``oauth2/callback/``                ``oauth2_callback``
``password-reset/``                 ``password_reset``
``password-reset/<token>/``         ``password_reset_confirm``
``verify/``                         ``verify_request``
``verify/<token>/``                 ``verify_confirm``
==================================  =============================================

Security properties:

- every form goes through Django's ``CsrfViewMiddleware``; ``logout`` is POST only,
  and the CSRF token is rotated on sign-in and sign-out (``rotate_token``);
- ``next`` is followed only when ``url_has_allowed_host_and_scheme`` accepts it for
  this host, else the user lands on ``POCKETBASE["REDIRECT_URL"]`` (``"/"``);
- messages never say whether an account exists (wrong email and wrong password
  read the same, reset and verification mails are "sent" to anyone, a taken
  email at sign-up gets a generic answer);
- PocketBase's rate limiter answers "Too many attempts..." (429), and PocketBase
  being down answers a 503 message instead of an error page;
- the OAuth2 ``state`` and PKCE verifier travel in a cookie signed with
  ``django.core.signing`` (its own salt), HttpOnly, ``SameSite=Lax``, that lives
  10 minutes and is only sent to the callback;
- every page is ``never_cache``; pages whose URL holds a token send
  ``Referrer-Policy: no-referrer``.

Sign-out is a POST, so put a small form in the site's layout:

.. code-block:: html+django

    <form method="post" action="{% url 'pb_ssr:logout' %}">
      {% csrf_token %}
      <button type="submit">Sign out</button>
    </form>

The multi-step flows (MFA, OTP) keep their ids in ``request.session``, so
``SessionMiddleware`` is required.

The mails PocketBase sends link to its own pages by default. To use these pages,
edit the collection's mail templates (*Collections > users > Options*) so that the
links read ``{APP_URL}/auth/password-reset/{TOKEN}/`` and
``{APP_URL}/auth/verify/{TOKEN}/``.

Templates live in ``templates/pb_ssr/``; each extends ``pb_ssr/base.html`` and
fills ``{% block content %}`` (and ``{% block title %}``). Give the project its own
``pb_ssr/base.html`` (a ``DIRS`` template folder wins over app templates) to put
the pages in the site's layout, or override any page. Each view is a class with
``template_name`` and ``form_class`` attributes, for finer changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlencode

from django.conf import settings as django_settings  # type: ignore[import-untyped]
from django.core import signing  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.http import Http404, HttpResponseRedirect  # type: ignore[import-untyped]
from django.http.response import HttpResponseRedirectBase  # type: ignore[import-untyped]
from django.middleware.csrf import rotate_token  # type: ignore[import-untyped]
from django.shortcuts import render, resolve_url  # type: ignore[import-untyped]
from django.urls import reverse  # type: ignore[import-untyped]
from django.utils.cache import add_never_cache_headers  # type: ignore[import-untyped]
from django.utils.crypto import constant_time_compare  # type: ignore[import-untyped]
from django.utils.decorators import method_decorator  # type: ignore[import-untyped]
from django.utils.http import url_has_allowed_host_and_scheme  # type: ignore[import-untyped]
from django.views import View  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_protect  # type: ignore[import-untyped]
from django.views.decorators.debug import (  # type: ignore[import-untyped]
    sensitive_post_parameters,
    sensitive_variables,
)

from pb_ssr import ClientResponseError, ConfigurationError, Settings, insecure_cookie_hint
from pb_ssr.messages import (
    BAD_CODE,
    BAD_EMAIL,
    BAD_LINK,
    BAD_LOGIN,
    BAD_STATE,
    CODE_SENT,
    FINISH_SIGN_IN,
    NO_CODES,
    NO_SECOND_FACTOR,
    NO_SIGN_OUT_EVERYWHERE,
    OAUTH2_FAILED,
    RESET_SENT,
    SIGNED_OUT_EVERYWHERE,
    SIGNUP_FAILED,
    VERIFY_SENT,
    auth_failure,
)

from . import forms
from .conf import get_config
from .middleware import browser_host, get_session, get_user

if TYPE_CHECKING:
    from pb_ssr._sync._services import RecordService

__all__ = [
    "LoginView",
    "LogoutEverywhereView",
    "LogoutView",
    "MFAView",
    "OAuth2CallbackView",
    "OAuth2StartView",
    "OTPRequestView",
    "OTPVerifyView",
    "PasswordResetConfirmView",
    "PasswordResetView",
    "SignupView",
    "VerifyConfirmView",
    "VerifyRequestView",
]

#: The cookie that carries the OAuth2 state and PKCE verifier to the callback.
OAUTH2_COOKIE_NAME = "pb_oauth2_state"
#: Seconds the OAuth2 state cookie lives (the time to sign in at the provider).
OAUTH2_MAX_AGE = 600
#: The ``django.core.signing`` salt of the OAuth2 state cookie.
OAUTH2_SALT = "pb_ssr_django.oauth2-state"

# request.session keys of the multi-step flows.
MFA_SESSION_KEY = "_pb_ssr_mfa"
OTP_SESSION_KEY = "_pb_ssr_otp"


class SeeOther(HttpResponseRedirectBase):  # type: ignore[misc]
    """``303 See Other``: the browser follows a form POST with a GET."""

    status_code = 303


def _same_email(a: object, b: object) -> bool:
    return bool(a) and bool(b) and str(a).casefold() == str(b).casefold()


def _field_errors(form: Any, data: dict[str, Any], fields: dict[str, str]) -> bool:
    """Put PocketBase's field errors on *form* (``passwordConfirm`` -> ``password_confirm``)."""
    found = False
    for remote, local in fields.items():
        item = data.get(remote)
        if isinstance(item, dict) and item.get("message"):
            form.add_error(local, str(item["message"]))
            found = True
    return found


# Every field these pages post is a password, a code, an email or a token, and their
# locals hold tokens: none of it may reach a DEBUG page or a mailed error report.
# csrf_protect: the views check CSRF even where CsrfViewMiddleware is missing.
@method_decorator(sensitive_post_parameters(), name="dispatch")
@method_decorator(sensitive_variables(), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class AuthView(View):  # type: ignore[misc]
    """Shared plumbing of the sign-in views: settings, ``next``, flows, rendering."""

    #: Form pages answer GET and POST; views that differ say so.
    http_method_names: ClassVar[list[str]] = ["get", "post", "head", "options"]

    #: The page's template (``pb_ssr/<page>.html``).
    template_name: ClassVar[str] = ""
    #: The page's form class, if it has one.
    form_class: ClassVar[type[Any] | None] = None
    #: Send ``Referrer-Policy: no-referrer`` (pages whose URL holds a token or code).
    no_referrer: ClassVar[bool] = False

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Show the page's empty form (views with more to show override this)."""
        return self.render_page(form=self.get_form())

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().dispatch(request, *args, **kwargs)
        # Auth pages carry CSRF tokens and personal state: no cache may keep them.
        add_never_cache_headers(response)
        if self.no_referrer:
            response.headers["Referrer-Policy"] = "no-referrer"
        return response

    # -- helpers --------------------------------------------------------------------------

    @property
    def pb_settings(self) -> Settings:
        """The core settings (``settings.POCKETBASE``)."""
        return get_config().settings

    def users(self) -> RecordService:
        """The auth collection's service on the request's own client."""
        client = get_session(self.request).client()
        return client.collection(self.pb_settings.AUTH_COLLECTION)

    @property
    def session(self) -> Any:
        """Django's ``request.session``, which the MFA and OTP flows need."""
        session = getattr(self.request, "session", None)
        if session is None:
            raise ImproperlyConfigured(
                "The pb_ssr sign-in views keep MFA and OTP state in request.session: add "
                "'django.contrib.sessions.middleware.SessionMiddleware' to MIDDLEWARE."
            )
        return session

    def url(self, name: str, *, next_url: str | None = None, **kwargs: Any) -> str:
        """Reverse *name* in this URL namespace, with ``?next=`` when given."""
        match = getattr(self.request, "resolver_match", None)
        current_app = match.namespace if match is not None else None
        url = str(reverse(f"pb_ssr:{name}", kwargs=kwargs or None, current_app=current_app))
        if next_url is not None:
            url += "?" + urlencode({"next": next_url}, safe="/")
        return url

    def default_next(self) -> str:
        """Where users land without a usable ``next`` (``POCKETBASE["REDIRECT_URL"]``)."""
        return str(resolve_url(get_config().redirect_url))

    def next_url(self, value: object = None) -> str:
        """``next`` from the form or query (or *value*) when it stays on this site."""
        request = self.request
        if value is None:
            value = request.POST.get("next") or request.GET.get("next")
        if isinstance(value, str) and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return value
        return self.default_next()

    def flow(self, key: str) -> dict[str, str] | None:
        """A multi-step flow's state from ``request.session``, or ``None``."""
        value = self.session.get(key)
        return value if isinstance(value, dict) else None

    def get_form(self, data: Any = None, **kwargs: Any) -> Any:
        """Instantiate :attr:`form_class` (bound to *data* when given)."""
        assert self.form_class is not None
        return self.form_class(data, **kwargs)

    def render_page(self, status: int = 200, *, template: str | None = None, **context: Any) -> Any:
        """Render :attr:`template_name` (or *template*) with ``next_url`` and *context*."""
        context.setdefault("next_url", self.next_url())
        return render(self.request, template or self.template_name, context, status=status)

    def see_other(self, location: str) -> Any:
        """A ``303`` to *location*."""
        return SeeOther(location)

    # -- sign-in steps ---------------------------------------------------------------------

    def signed_in(self, next_url: str) -> Any:
        """Finish a sign-in: drop the flow state, new session key and CSRF token, redirect."""
        session = self.session
        session.pop(MFA_SESSION_KEY, None)
        session.pop(OTP_SESSION_KEY, None)
        # Like django.contrib.auth.login(): nothing planted before the sign-in survives it.
        session.cycle_key()
        rotate_token(self.request)
        return self.see_other(next_url)

    def start_mfa(self, mfa_id: str, email: str, first: str, next_url: str) -> Any:
        """Remember an MFA session after a first factor and send the user to the second."""
        self.session[MFA_SESSION_KEY] = {"mfa_id": mfa_id, "email": email, "first": first}
        self.session.pop(OTP_SESSION_KEY, None)
        if first == "otp":
            # The code was the first factor: the password is the second.
            return self.see_other(self.url("login", next_url=next_url))
        return self.see_other(self.url("mfa", next_url=next_url))

    def login_options(self) -> dict[str, Any]:
        """What the login page offers besides the password: OAuth2 providers, OTP."""
        try:
            methods: dict[str, Any] = self.users().list_auth_methods()
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

    def render_login(self, form: Any, status: int = 200, **context: Any) -> Any:
        """The login page, with the other ways in (skipped when PocketBase is down)."""
        if status != 503:
            context = {**self.login_options(), **context}
        if django_settings.DEBUG:
            # In debug only: the page names the setting, which is no secret in development.
            context.setdefault(
                "cookie_hint",
                insecure_cookie_hint(
                    secure=self.pb_settings.COOKIE_SECURE,
                    is_https=self.request.is_secure(),
                    host=browser_host(self.request),
                ),
            )
        return self.render_page(status, template=LoginView.template_name, form=form, **context)

    def verify_code(self, form: Any, otp: dict[str, str], next_url: str, **context: Any) -> Any:
        """Check a one-time code (completing an MFA session when one is under way)."""
        email = otp.get("email", "")
        if not form.is_valid():
            return self.render_page(400, form=form, email=email, **context)
        mfa = self.flow(MFA_SESSION_KEY)
        mfa_id = None
        if (
            mfa is not None
            and mfa.get("first") == "password"
            and _same_email(mfa.get("email"), email)
        ):
            mfa_id = mfa.get("mfa_id")
        try:
            self.users().auth_with_otp(otp.get("otp_id", ""), form.cleaned_data["code"], mfa_id)
        except ClientResponseError as exc:
            if exc.mfa_id:
                return self.start_mfa(exc.mfa_id, email, "otp", next_url)
            message, status = auth_failure(exc, BAD_CODE)
            return self.render_page(
                status, form=self.get_form(), email=email, error=message, **context
            )
        return self.signed_in(next_url)


# -- password sign-in ----------------------------------------------------------------


class LoginView(AuthView):
    """Sign in with email and password; a 401 asking for a second factor leads to ``mfa``."""

    template_name = "pb_ssr/login.html"
    form_class = forms.LoginForm

    def get(self, request: Any) -> Any:
        flow = self.flow(MFA_SESSION_KEY)
        finishing = flow is not None and flow.get("first") == "otp"
        initial = {"email": flow.get("email", "")} if flow is not None and finishing else {}
        notice = FINISH_SIGN_IN if finishing else None
        return self.render_login(self.get_form(initial=initial), notice=notice)

    def post(self, request: Any) -> Any:
        next_url = self.next_url()
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_login(form, 400)
        email, password = form.cleaned_data["email"], form.cleaned_data["password"]
        flow = self.flow(MFA_SESSION_KEY)
        mfa_id = None
        if (
            flow is not None
            and flow.get("first") == "otp"
            and _same_email(flow.get("email"), email)
        ):
            mfa_id = flow.get("mfa_id")
        try:
            self.users().auth_with_password(email, password, mfa_id=mfa_id)
        except ClientResponseError as exc:
            if exc.mfa_id:
                return self.start_mfa(exc.mfa_id, email, "password", next_url)
            message, status = auth_failure(exc, BAD_LOGIN)
            return self.render_login(form, status, error=message)
        return self.signed_in(next_url)


class SignupView(AuthView):
    """Create an account (email, optional name, password twice), then sign in."""

    template_name = "pb_ssr/signup.html"
    form_class = forms.SignupForm

    def post(self, request: Any) -> Any:
        next_url = self.next_url()
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_page(400, form=form)
        data = form.cleaned_data
        body = {
            "email": data["email"],
            "password": data["password"],
            "passwordConfirm": data["password_confirm"],
        }
        if data.get("name"):
            body["name"] = data["name"]
        try:
            self.users().create(body)
        except ClientResponseError as exc:
            message, status = auth_failure(exc, SIGNUP_FAILED)
            errors = exc.data if status == 400 else {}
            found = _field_errors(
                form,
                errors,
                {"password": "password", "passwordConfirm": "password_confirm", "name": "name"},
            )
            email_error = errors.get("email")
            # A taken address is never named: with no other field to blame, the answer
            # is the generic refusal.
            if isinstance(email_error, dict) and email_error.get("code") != "validation_not_unique":
                form.add_error("email", BAD_EMAIL)
                found = True
            return self.render_page(status, form=form, error=None if found else message)
        try:
            self.users().auth_with_password(data["email"], data["password"])
        except ClientResponseError as exc:
            if exc.mfa_id:
                return self.start_mfa(exc.mfa_id, data["email"], "password", next_url)
            # Created, but this collection wants more (e.g. a verified email) first.
            return self.see_other(self.url("login", next_url=next_url))
        return self.signed_in(next_url)


class LogoutView(AuthView):
    """Sign out (POST only, CSRF-checked): the auth cookie is deleted. GET is a 405."""

    http_method_names: ClassVar[list[str]] = ["post", "options"]

    def post(self, request: Any) -> Any:
        get_session(request).logout()
        session = getattr(request, "session", None)
        if session is not None:
            session.pop(MFA_SESSION_KEY, None)
            session.pop(OTP_SESSION_KEY, None)
        rotate_token(request)
        return self.see_other(self.next_url())


class LogoutEverywhereView(AuthView):
    """Sign out of every device (POST only, CSRF-checked); needs the service client.

    Every token of the user is revoked at PocketBase (a new ``tokenKey``), so other
    devices are signed out at their next validation (``VALIDATE_TTL``), and this
    browser at once. Without superuser credentials the page says so and nothing
    changes; when PocketBase is down the user stays signed in and may try again.
    """

    http_method_names: ClassVar[list[str]] = ["post", "options"]

    def post(self, request: Any) -> Any:
        title = "Sign out everywhere"
        try:
            service = get_config().service
        except (ValueError, ConfigurationError):
            return self.render_page(
                501, template="pb_ssr/message.html", title=title, message=NO_SIGN_OUT_EVERYWHERE
            )
        try:
            signed_in = get_session(request).logout_everywhere(service)
        except ClientResponseError as exc:
            message, status = auth_failure(exc, NO_SIGN_OUT_EVERYWHERE)
            return self.render_page(
                status, template="pb_ssr/message.html", title=title, message=message
            )
        session = getattr(request, "session", None)
        if session is not None:
            session.pop(MFA_SESSION_KEY, None)
            session.pop(OTP_SESSION_KEY, None)
        rotate_token(request)
        if not signed_in:
            return self.see_other(self.url("login"))
        return self.render_page(
            template="pb_ssr/message.html",
            title=title,
            message=SIGNED_OUT_EVERYWHERE,
            login_link=True,
        )


# -- one-time codes and MFA -------------------------------------------------------


class OTPRequestView(AuthView):
    """Mail a one-time sign-in code; the answer is the same whether the account exists."""

    template_name = "pb_ssr/otp_request.html"
    form_class = forms.EmailForm

    def post(self, request: Any) -> Any:
        next_url = self.next_url()
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_page(400, form=form)
        email = form.cleaned_data["email"]
        try:
            # PocketBase answers an unknown email with a fake id: nothing to tell apart here.
            otp_id = self.users().request_otp(email)
        except ClientResponseError as exc:
            message, status = auth_failure(exc, NO_CODES if exc.is_forbidden else BAD_EMAIL)
            return self.render_page(status, form=form, error=message)
        self.session[OTP_SESSION_KEY] = {"otp_id": otp_id, "email": email}
        return self.see_other(self.url("otp_verify", next_url=next_url))


class OTPVerifyView(AuthView):
    """Sign in with the mailed code (completing an MFA session when one is under way)."""

    template_name = "pb_ssr/otp_verify.html"
    form_class = forms.CodeForm

    def get(self, request: Any) -> Any:
        otp = self.flow(OTP_SESSION_KEY)
        if otp is None:
            return self.see_other(self.url("otp_request", next_url=self.next_url()))
        email = otp.get("email", "")
        notice = CODE_SENT.format(email=email)
        return self.render_page(form=self.get_form(), email=email, notice=notice)

    def post(self, request: Any) -> Any:
        next_url = self.next_url()
        otp = self.flow(OTP_SESSION_KEY)
        if otp is None:
            return self.see_other(self.url("otp_request", next_url=next_url))
        return self.verify_code(self.get_form(request.POST), otp, next_url)


class MFAView(AuthView):
    """Second step after a password that PocketBase answered with an MFA 401.

    A code is mailed to the remembered email (once, or again on "resend"); the
    code is then checked together with the MFA session id.
    """

    template_name = "pb_ssr/mfa.html"
    form_class = forms.CodeForm

    def _mfa_email(self) -> str | None:
        """The email of the MFA session under way after a password, else ``None``."""
        flow = self.flow(MFA_SESSION_KEY)
        if flow is None or flow.get("first") != "password":
            return None
        return flow.get("email", "")

    def _send_code(self, email: str) -> Any:
        """Mail a code for the MFA session; return an error page, or ``None`` when sent."""
        try:
            otp_id = self.users().request_otp(email)
        except ClientResponseError as exc:
            generic = NO_SECOND_FACTOR if exc.is_forbidden else BAD_CODE
            message, status = auth_failure(exc, generic)
            return self.render_page(status, form=None, email=email, error=message, send_failed=True)
        self.session[OTP_SESSION_KEY] = {"otp_id": otp_id, "email": email}
        return None

    def get(self, request: Any) -> Any:
        email = self._mfa_email()
        if email is None:
            return self.see_other(self.url("login", next_url=self.next_url()))
        otp = self.flow(OTP_SESSION_KEY)
        if otp is None or not _same_email(otp.get("email"), email):
            failed = self._send_code(email)
            if failed is not None:
                return failed
        return self.render_page(form=self.get_form(), email=email)

    def post(self, request: Any) -> Any:
        next_url = self.next_url()
        email = self._mfa_email()
        if email is None:
            return self.see_other(self.url("login", next_url=next_url))
        if "resend" in request.POST:
            failed = self._send_code(email)
            if failed is not None:
                return failed
            return self.see_other(self.url("mfa", next_url=next_url))
        otp = self.flow(OTP_SESSION_KEY)
        if otp is None or not _same_email(otp.get("email"), email):
            return self.see_other(self.url("mfa", next_url=next_url))
        return self.verify_code(self.get_form(request.POST), otp, next_url)


# -- OAuth2 --------------------------------------------------------------------------


class OAuth2StartView(AuthView):
    """Send the browser to *provider*'s sign-in page (an unknown provider is a 404)."""

    template_name = "pb_ssr/login.html"
    http_method_names: ClassVar[list[str]] = ["get", "head", "options"]

    def get(self, request: Any, provider: str) -> Any:
        next_url = self.next_url()
        try:
            methods: dict[str, Any] = self.users().list_auth_methods()
        except ClientResponseError as exc:
            message, status = auth_failure(exc, OAUTH2_FAILED)
            return self.render_login(forms.LoginForm(), status, error=message)
        oauth2 = methods.get("oauth2") or {}
        providers = (oauth2.get("providers") or []) if oauth2.get("enabled") else []
        info = next((p for p in providers if p.get("name") == provider), None)
        if info is None:
            raise Http404("No such sign-in provider.")
        # state and codeVerifier are new on every auth-methods call: this browser's pair
        # rides in a signed cookie to the callback, which checks state and sends the verifier.
        value = signing.dumps(
            {
                "state": info["state"],
                "verifier": info["codeVerifier"],
                "provider": provider,
                "next": next_url,
            },
            salt=OAUTH2_SALT,
        )
        redirect_url = request.build_absolute_uri(self.url("oauth2_callback"))
        # authURL ends with "redirect_uri=": append ours, URL-encoded.
        response = HttpResponseRedirect(info["authURL"] + quote(redirect_url, safe=""))
        response.set_cookie(
            OAUTH2_COOKIE_NAME,
            value,
            max_age=OAUTH2_MAX_AGE,
            path=self.url("oauth2_callback"),
            secure=self.pb_settings.COOKIE_SECURE,
            httponly=True,
            # Lax: the cookie must ride on the provider's top-level redirect back.
            samesite="Lax",
        )
        return response


class OAuth2CallbackView(AuthView):
    """Finish the OAuth2 sign-in: check ``state``, exchange the code, go to ``next``."""

    template_name = "pb_ssr/login.html"
    no_referrer = True
    http_method_names: ClassVar[list[str]] = ["get", "head", "options"]

    def _fail(self, message: str, status: int = 400, next_url: str | None = None) -> Any:
        response = self.render_login(
            forms.LoginForm(), status, error=message, next_url=next_url or self.default_next()
        )
        return self._delete_state_cookie(response)

    def _delete_state_cookie(self, response: Any) -> Any:
        response.set_cookie(
            OAUTH2_COOKIE_NAME,
            "",
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            path=self.url("oauth2_callback"),
            secure=self.pb_settings.COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response

    def get(self, request: Any) -> Any:
        try:
            data = signing.loads(
                request.COOKIES.get(OAUTH2_COOKIE_NAME, ""),
                salt=OAUTH2_SALT,
                max_age=OAUTH2_MAX_AGE,
            )
        except signing.BadSignature:  # also SignatureExpired
            return self._fail(BAD_STATE)
        if not isinstance(data, dict):
            return self._fail(BAD_STATE)
        next_url = self.next_url(data.get("next"))
        state = request.GET.get("state", "")
        expected = str(data.get("state", ""))
        if not state or not expected or not constant_time_compare(state, expected):
            return self._fail(BAD_STATE, 400, next_url)
        code = request.GET.get("code", "")
        if request.GET.get("error") or not code:
            return self._fail(OAUTH2_FAILED, 400, next_url)
        try:
            self.users().auth_with_oauth2_code(
                str(data.get("provider", "")),
                code,
                str(data.get("verifier", "")),
                request.build_absolute_uri(self.url("oauth2_callback")),
            )
        except ClientResponseError as exc:
            message, status = auth_failure(exc, OAUTH2_FAILED)
            return self._fail(message, status, next_url)
        return self._delete_state_cookie(self.signed_in(next_url))


# -- password reset -------------------------------------------------------------------


class PasswordResetView(AuthView):
    """Mail a password-reset link; the answer is the same whether the account exists."""

    template_name = "pb_ssr/password_reset.html"
    form_class = forms.EmailForm

    def post(self, request: Any) -> Any:
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_page(400, form=form)
        email = form.cleaned_data["email"]
        try:
            self.users().request_password_reset(email)
        except ClientResponseError as exc:
            message, status = auth_failure(exc, BAD_EMAIL)
            return self.render_page(status, form=form, error=message)
        return self.render_page(
            template="pb_ssr/message.html",
            title="Check your email",
            message=RESET_SENT.format(email=email),
        )


class PasswordResetConfirmView(AuthView):
    """Choose a new password with the token from the reset mail."""

    template_name = "pb_ssr/password_reset_confirm.html"
    form_class = forms.SetPasswordForm
    no_referrer = True

    def get(self, request: Any, token: str) -> Any:
        return self.render_page(form=self.get_form(), token=token)

    def post(self, request: Any, token: str) -> Any:
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_page(400, form=form, token=token)
        data = form.cleaned_data
        try:
            self.users().confirm_password_reset(token, data["password"], data["password_confirm"])
        except ClientResponseError as exc:
            message, status = auth_failure(exc, BAD_LINK)
            errors = exc.data if status == 400 else {}
            fields = {"password": "password", "passwordConfirm": "password_confirm"}
            found = _field_errors(form, errors, fields)
            error = None if found and "token" not in errors else message
            return self.render_page(status, form=form, token=token, error=error)
        return self.render_page(
            template="pb_ssr/message.html",
            title="Password changed",
            message="Your password was changed. Sign in with the new one.",
            login_link=True,
        )


# -- email verification ---------------------------------------------------------------


class VerifyRequestView(AuthView):
    """Mail a verification link to the signed-in user, or to the email given."""

    template_name = "pb_ssr/verify_request.html"
    form_class = forms.VerifyRequestForm

    def get(self, request: Any) -> Any:
        return self.render_page(form=self.get_form(), pb_user=get_user(request))

    def post(self, request: Any) -> Any:
        user = get_user(request)
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_page(400, form=form, pb_user=user)
        email = str(user.get("email") or "") if user.is_authenticated else ""
        email = email or form.cleaned_data.get("email") or ""
        if not email:
            form.add_error("email", "Enter your email address.")
            return self.render_page(400, form=form, pb_user=user)
        try:
            self.users().request_verification(email)
        except ClientResponseError as exc:
            message, status = auth_failure(exc, BAD_EMAIL)
            return self.render_page(status, form=form, pb_user=user, error=message)
        return self.render_page(
            template="pb_ssr/message.html",
            title="Check your email",
            message=VERIFY_SENT.format(email=email),
        )


class VerifyConfirmView(AuthView):
    """Confirm an email address with the token from the verification mail.

    GET shows a button and POST confirms, so a mail scanner that follows the link
    changes nothing.
    """

    template_name = "pb_ssr/verify_confirm.html"
    no_referrer = True

    def get(self, request: Any, token: str) -> Any:
        return self.render_page(token=token)

    def post(self, request: Any, token: str) -> Any:
        try:
            self.users().confirm_verification(token)
        except ClientResponseError as exc:
            message, status = auth_failure(exc, BAD_LINK)
            return self.render_page(status, token=token, error=message)
        return self.render_page(
            template="pb_ssr/message.html",
            title="Email verified",
            message="Your email address is verified.",
        )
