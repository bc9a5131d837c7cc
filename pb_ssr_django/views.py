"""Sign-in pages for Django: the flows of :mod:`pb_ssr.flows`, translated.

Opt-in: ``path("auth/", include("pb_ssr_django.urls"))`` and ``LOGIN_URL =
"pb_ssr:login"``. Each view reads its form, runs one step of a core flow on the
auth collection (``POCKETBASE["AUTH_COLLECTION"]``) through the request's own
client, and turns the :class:`~pb_ssr.flows.Step` into a response in one place
(:meth:`AuthView.answer`). The URLs, templates and security properties are listed
in the Django reference page of the docs.

Every view checks CSRF (``csrf_protect``), hides its POST fields and locals from
error reports, is ``never_cache``, and sends ``Referrer-Policy: no-referrer`` where
its URL holds a token. The multi-step flows keep their ids in ``request.session``.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseRedirect
from django.http.response import HttpResponseRedirectBase
from django.middleware.csrf import rotate_token
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from pb_ssr import OAUTH2_COOKIE_NAME, RequestSession, flows, safe_next
from pb_ssr.flows import Pages, Step

from . import forms
from .conf import get_config
from .decorators import login_required
from .middleware import browser_host, get_session, get_user

__all__ = [
    "AuthView",
    "EmailChangeConfirmView",
    "EmailChangeView",
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


class SeeOther(HttpResponseRedirectBase):
    """``303 See Other``: the browser follows a form POST with a GET."""

    status_code = 303


# Every field these pages post is a password, a code, an email or a token, and their
# locals hold tokens: none of it may reach a DEBUG page or a mailed error report.
# csrf_protect: the views check CSRF even where CsrfViewMiddleware is missing.
@method_decorator(sensitive_post_parameters(), name="dispatch")
@method_decorator(sensitive_variables(), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class AuthView(Pages, View):
    """One sign-in page: :meth:`show` answers GET, :meth:`act` a valid POST."""

    #: The bound form of a POST.
    form: Any = None
    http_method_names: ClassVar[list[str]] = ["get", "post", "head", "options"]
    #: The page (template ``pb_ssr/<page>.html``, URL name ``pb_ssr:<page>``).
    page: ClassVar[str] = ""
    #: The page's form class, if it has one.
    form_class: ClassVar[type[Any] | None] = None
    #: Send ``Referrer-Policy: no-referrer`` (pages whose URL holds a token or code).
    no_referrer: ClassVar[bool] = False

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().dispatch(request, *args, **kwargs)
        # Auth pages carry CSRF tokens and personal state: no cache may keep them.
        add_never_cache_headers(response)
        if self.no_referrer:
            response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def show(self, **kwargs: Any) -> Any:
        """The GET step (a :class:`~pb_ssr.flows.Step` or a flow): the empty page."""
        return Step.show(self.page, values=kwargs)

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """The POST step for the form's cleaned *data*."""
        raise NotImplementedError

    def get(self, request: Any, **kwargs: Any) -> Any:
        return self.answer(self.show(**kwargs))

    def post(self, request: Any, **kwargs: Any) -> Any:
        form = self.form = self.form_class(request.POST) if self.form_class else None
        if form is not None and not form.is_valid():
            return self.answer(Step.show(self.page, 400, values=kwargs))
        return self.answer(self.act(form.cleaned_data if form else {}, **kwargs))

    # -- the hooks of pb_ssr.flows.Pages ---------------------------------------------------

    @property
    def state(self) -> Any:
        """Django's ``request.session``: the flows keep their MFA and OTP ids there."""
        session = getattr(self.request, "session", None)
        if session is None:
            raise ImproperlyConfigured(
                "The pb_ssr sign-in views keep MFA and OTP state in request.session: add "
                "'django.contrib.sessions.middleware.SessionMiddleware' to MIDDLEWARE."
            )
        return session

    def session(self) -> RequestSession:
        return get_session(self.request)

    def url(self, page: str, next_url: str | None = None, **kwargs: Any) -> str:
        """Reverse *page* in this URL namespace, with ``?next=`` when given."""
        match = getattr(self.request, "resolver_match", None)
        current_app = match.namespace if match is not None else None
        url = str(reverse(f"pb_ssr:{page}", kwargs=kwargs or None, current_app=current_app))
        return url + "?" + urlencode({"next": next_url}, safe="/") if next_url else url

    def next_url(self, value: object = None) -> str:
        """``next`` (from *value*, the form or the query) when it stays on this site."""
        request = self.request
        if value is None:
            value = request.POST.get("next") or request.GET.get("next")
        default = str(resolve_url(get_config().options["REDIRECT_URL"]))
        host, https = request.get_host(), request.is_secure()
        return safe_next(value, host=host, https=https, default=default)

    def redirect(self, url: str, status: int = 303) -> Any:
        return SeeOther(url) if status == 303 else HttpResponseRedirect(url)

    def rotate(self, *, signed_in: bool) -> None:
        if signed_in:
            # Like django.contrib.auth.login(): nothing planted before survives it.
            self.state.cycle_key()
        rotate_token(self.request)

    def debug_request(self) -> tuple[bool, str] | None:
        if not django_settings.DEBUG:
            return None
        return self.request.is_secure(), browser_host(self.request)

    def render(self, page: str, context: dict[str, Any], step: Step) -> Any:
        form = self.form
        if form is None and self.form_class is not None and page != "message":
            form = self.form_class(initial=step.values)
        if form is not None and form.is_bound:
            for name, message in step.field_errors.items():
                form.add_error(name if name in form.fields else None, message)
        if page == "verify_request":
            context["pb_user"] = get_user(self.request)
        context["form"] = form
        return render(self.request, f"pb_ssr/{page}.html", context, status=step.status)


# -- password, sign-up, sign-out --------------------------------------------------------------


class LoginView(AuthView):
    """Sign in with email and password; a 401 asking for a second factor leads to ``mfa``."""

    page = "login"
    form_class = forms.LoginForm

    def show(self, **kwargs: Any) -> Step:
        email, notice = flows.login_page(self.state)
        return Step.show("login", notice=notice, values={"email": email})

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.password(self.state, data["email"], data["password"])


class SignupView(AuthView):
    """Create an account (email, optional name, password twice), then sign in."""

    page = "signup"
    form_class = forms.SignupForm

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.sign_up(
            self.state, data["email"], data["password"], data["password_confirm"], data["name"]
        )


class LogoutView(AuthView):
    """Sign out (POST only, CSRF-checked): the auth cookie is deleted. GET is a 405."""

    http_method_names: ClassVar[list[str]] = ["post", "options"]

    def post(self, request: Any, **kwargs: Any) -> Any:
        return self.answer(flows.sign_out(getattr(request, "session", {})))


class LogoutEverywhereView(AuthView):
    """Sign out of every device (POST only, CSRF-checked); needs the service client."""

    http_method_names: ClassVar[list[str]] = ["post", "options"]

    def post(self, request: Any, **kwargs: Any) -> Any:
        state = getattr(request, "session", {})
        return self.answer(
            flows.sign_out_everywhere(state, get_session(request), lambda: get_config().service)
        )


# -- one-time codes and MFA -------------------------------------------------------------------


class OTPRequestView(AuthView):
    """Mail a one-time sign-in code; the answer is the same whether the account exists."""

    page = "otp_request"
    form_class = forms.EmailForm

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.request_otp(self.state, data["email"])


class OTPVerifyView(AuthView):
    """Sign in with the mailed code (completing an MFA session when one is under way)."""

    page = "otp_verify"
    form_class = forms.CodeForm

    def show(self, **kwargs: Any) -> Step:
        return flows.otp_page(self.state)

    def post(self, request: Any, **kwargs: Any) -> Any:
        step = flows.otp_page(self.state)
        return self.answer(step) if step.kind == "redirect" else super().post(request, **kwargs)

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.otp_verify(self.state, data["code"])


class MFAView(AuthView):
    """The second step after a password: a mailed code ("resend" mails another)."""

    page = "mfa"
    form_class = forms.CodeForm

    def show(self, **kwargs: Any) -> Any:
        return flows.mfa_page(self.state)

    def post(self, request: Any, **kwargs: Any) -> Any:
        if "resend" in request.POST:
            return self.answer(flows.mfa_resend(self.state))
        return super().post(request, **kwargs)

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.mfa_verify(self.state, data["code"])


# -- OAuth2 -----------------------------------------------------------------------------------


class OAuth2StartView(AuthView):
    """Send the browser to *provider*'s sign-in page (an unknown provider is a 404)."""

    page = "login"
    form_class = forms.LoginForm
    http_method_names: ClassVar[list[str]] = ["get", "head", "options"]

    def get(self, request: Any, provider: str = "", **kwargs: Any) -> Any:
        callback = self.url("oauth2_callback")
        step, kept = flows.run(
            flows.oauth2_start(provider, request.build_absolute_uri(callback), self.next_url()),
            self.users(),
        )
        response = self.answer(step)
        if kept is not None:
            cookie = get_config().oauth2_cookie(kept, path=callback)
            response.set_cookie(**cookie.set_cookie_kwargs())
        return response


class OAuth2CallbackView(AuthView):
    """Finish the OAuth2 sign-in: check ``state``, exchange the code, go to ``next``."""

    page = "login"
    form_class = forms.LoginForm
    no_referrer = True
    http_method_names: ClassVar[list[str]] = ["get", "head", "options"]

    def get(self, request: Any, **kwargs: Any) -> Any:
        config, callback = get_config(), self.url("oauth2_callback")
        kept = config.read_oauth2_cookie(request.COOKIES.get(OAUTH2_COOKIE_NAME))
        next_url = self.next_url((kept or {}).get("next") or "")
        flow = flows.oauth2_callback(
            self.state, kept, request.GET, request.build_absolute_uri(callback)
        )
        response = self.answer(flow, next_url)
        response.set_cookie(**config.oauth2_cookie(None, path=callback).set_cookie_kwargs())
        return response


# -- password reset, verification, email change -----------------------------------------------


class PasswordResetView(AuthView):
    """Mail a password-reset link; the answer is the same whether the account exists."""

    page = "password_reset"
    form_class = forms.EmailForm

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.request_password_reset(data["email"])


class PasswordResetConfirmView(AuthView):
    """Choose a new password with the token from the reset mail."""

    page = "password_reset_confirm"
    form_class = forms.SetPasswordForm
    no_referrer = True

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        token = kwargs["token"]
        return flows.confirm_password_reset(token, data["password"], data["password_confirm"])


class VerifyRequestView(AuthView):
    """Mail a verification link to the signed-in user, or to the email given."""

    page = "verify_request"
    form_class = forms.VerifyRequestForm

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        own = str(get_user(self.request).get("email") or "")
        return flows.request_verification(data.get("email") or "", own_email=own)


class VerifyConfirmView(AuthView):
    """Confirm an email address with the mailed token (GET shows a button, POST confirms)."""

    page = "verify_confirm"
    no_referrer = True

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.confirm_verification(kwargs["token"])


@method_decorator(login_required, name="dispatch")
class EmailChangeView(AuthView):
    """The signed-in user asks to change their email: a link goes to the new address."""

    page = "email_change"
    form_class = forms.EmailChangeForm

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.request_email_change(data["email"])


class EmailChangeConfirmView(AuthView):
    """Confirm an email change with the mailed token and the password; then sign in again."""

    page = "email_change_confirm"
    form_class = forms.PasswordForm
    no_referrer = True

    def act(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return flows.confirm_email_change(kwargs["token"], data["password"])
