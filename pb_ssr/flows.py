"""The sign-in flows, written once for every framework.

Each step of a flow (password, sign-up, one-time code, MFA, OAuth2, password reset,
email verification, email change) is a generator, like httpx's auth flows: it yields
the PocketBase calls it needs on the auth collection (a :class:`Call`), receives each
answer (or has its :class:`~pb_ssr.ClientResponseError` thrown in), and returns a
:class:`Step`: what the adapter should answer. :func:`run` and :func:`arun` drive a
flow against a sync or an async record service; the decisions themselves do no I/O
and are tested once::

    step = run(flows.password(state, email, password), session.client().collection("users"))
    if step.kind == "signed_in":
        ...  # rotate the CSRF token and the framework session, redirect to next

*state* is a small mutable mapping the flow keeps between requests (the MFA and
one-time-code ids): the framework's own session (``request.session``,
``flask.session``). Nothing in it is a token.

Rules every step keeps: no answer says whether an account exists; a 429 says "too
many attempts" and an outage says "unavailable" (503) rather than blaming the user;
a second factor is only ever chained to the first one *of the same email*.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Generator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

from ._errors import ClientResponseError, ConfigurationError
from ._hints import insecure_cookie_hint
from .messages import (
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
    NOTHING_CHOSEN,
    OAUTH2_FAILED,
    PASSWORDS_DIFFER,
    RESET_SENT,
    SIGNED_OUT_EVERYWHERE,
    SIGNUP_FAILED,
    VERIFY_SENT,
    auth_failure,
)

if TYPE_CHECKING:
    from ._service import ServiceClient
    from ._session import RequestSession

__all__ = [
    "CHANGE_REFUSED",
    "CHANGE_SENT",
    "MFA_KEY",
    "OTP_KEY",
    "Call",
    "Flow",
    "Pages",
    "Step",
    "arun",
    "confirm_email_change",
    "confirm_password_reset",
    "confirm_verification",
    "field_errors",
    "finish",
    "login_options",
    "login_page",
    "mfa_page",
    "mfa_resend",
    "mfa_verify",
    "oauth2_callback",
    "oauth2_start",
    "otp_page",
    "otp_verify",
    "password",
    "request_email_change",
    "request_otp",
    "request_password_reset",
    "request_verification",
    "run",
    "same_email",
    "sign_out",
    "sign_out_everywhere",
    "sign_up",
    "start_mfa",
]

#: The *state* key of an MFA session under way: ``{"mfa_id", "email", "first"}``.
MFA_KEY = "_pb_ssr_mfa"
#: The *state* key of a one-time code under way: ``{"otp_id", "email"}``.
OTP_KEY = "_pb_ssr_otp"

#: The fields a sign-up form has, PocketBase's name -> the form's.
SIGNUP_FIELDS = {"password": "password", "passwordConfirm": "password_confirm", "name": "name"}
#: The fields of the new-password form.
PASSWORD_FIELDS = {"password": "password", "passwordConfirm": "password_confirm"}

StepKind = Literal["signed_in", "signed_out", "redirect", "page", "message", "external"]


@dataclass(frozen=True, slots=True)
class Call:
    """A call a flow needs: ``getattr(record_service, method)(*args, **kwargs)``."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    """What the adapter answers after a step of a flow.

    - ``signed_in``: the request's auth store holds the new session; rotate the CSRF
      token and the framework session key, then redirect (303) to ``next``.
    - ``signed_out``: end the request's session (``RequestSession.logout()``) and
      rotate the CSRF token; then show the message if there is one, else redirect
      (303) to :attr:`page` when set, else to ``next``.
    - ``redirect``: go (303) to the page named :attr:`page` (``"login"``, ``"mfa"``,
      ``"otp_request"``, ``"otp_verify"``), keeping ``next``.
    - ``page``: render the page :attr:`page` with :attr:`status`, :attr:`error`,
      :attr:`notice`, the field errors and :attr:`values`.
    - ``message``: render the message page (:attr:`title`, :attr:`message`,
      :attr:`login_link`) with :attr:`status`.
    - ``external``: redirect to :attr:`url` (an OAuth2 provider).
    """

    kind: StepKind
    page: str = ""
    status: int = 200
    error: str | None = None
    notice: str | None = None
    #: Messages per form field (the form's names, e.g. ``password_confirm``).
    field_errors: Mapping[str, str] = field(default_factory=dict)
    #: What the page shows back (``email``...).
    values: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""
    message: str = ""
    login_link: bool = False
    #: ``external`` only: where to send the browser.
    url: str = ""

    @classmethod
    def show(cls, page: str, status: int = 200, **kw: Any) -> Step:
        """A ``page`` step."""
        return cls(kind="page", page=page, status=status, **kw)

    @classmethod
    def go(cls, page: str) -> Step:
        """A ``redirect`` step."""
        return cls(kind="redirect", page=page)

    @classmethod
    def say(cls, title: str, message: str, status: int = 200, *, login_link: bool = False) -> Step:
        """A ``message`` step."""
        return cls(
            kind="message", title=title, message=message, status=status, login_link=login_link
        )


#: A flow: yields calls, receives their answers, returns the step.
Flow = Generator[Call, Any, Step]
T = TypeVar("T")


def run(flow: Generator[Call, Any, T], users: Any) -> T:
    """Drive *flow* with a sync ``RecordService`` of the auth collection; its result."""
    try:
        call = next(flow)
        while True:
            try:
                result = getattr(users, call.method)(*call.args, **call.kwargs)
            except ClientResponseError as exc:
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as stop:
        done: T = stop.value
        return done


async def arun(flow: Generator[Call, Any, T], users: Any) -> T:
    """Drive *flow* with an async ``AsyncRecordService`` of the auth collection."""
    try:
        call = next(flow)
        while True:
            try:
                result = await getattr(users, call.method)(*call.args, **call.kwargs)
            except ClientResponseError as exc:
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as stop:
        done: T = stop.value
        return done


# -- the pure helpers -----------------------------------------------------------------


def same_email(a: object, b: object) -> bool:
    """True when *a* and *b* are the same, non-empty address (case-insensitive)."""
    return bool(a) and bool(b) and str(a).casefold() == str(b).casefold()


def field_errors(data: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, str]:
    """PocketBase's field errors, renamed to the form's fields."""
    out: dict[str, str] = {}
    for remote, local in fields.items():
        item = data.get(remote)
        if isinstance(item, Mapping) and item.get("message"):
            out[local] = str(item["message"])
    return out


def _flow(state: Mapping[str, Any], key: str) -> dict[str, str] | None:
    value = state.get(key)
    return dict(value) if isinstance(value, Mapping) else None


def finish(state: MutableMapping[str, Any]) -> Step:
    """A sign-in succeeded: drop the flow state."""
    state.pop(MFA_KEY, None)
    state.pop(OTP_KEY, None)
    return Step(kind="signed_in")


def start_mfa(state: MutableMapping[str, Any], mfa_id: str, email: str, first: str) -> Step:
    """A first factor was accepted and PocketBase wants a second one."""
    state[MFA_KEY] = {"mfa_id": mfa_id, "email": email, "first": first}
    state.pop(OTP_KEY, None)
    # After a code, the password is the second factor (the login page); after a
    # password, a code (the MFA page).
    return Step.go("login" if first == "otp" else "mfa")


def login_page(state: Mapping[str, Any]) -> tuple[str, str | None]:
    """The login page's email and notice (finishing an MFA session begun with a code)."""
    flow = _flow(state, MFA_KEY)
    if flow is not None and flow.get("first") == "otp":
        return flow.get("email", ""), FINISH_SIGN_IN
    return "", None


def sign_out(state: MutableMapping[str, Any]) -> Step:
    """Sign out (the adapter ends the session: deny-listed token, deleted cookie)."""
    state.pop(MFA_KEY, None)
    state.pop(OTP_KEY, None)
    return Step(kind="signed_out")


def sign_out_everywhere(
    state: MutableMapping[str, Any],
    session: RequestSession,
    service: Callable[[], ServiceClient],
) -> Step:
    """Sign out of every device: every token of the user is revoked at PocketBase.

    :param service: returns the app's service client; a :class:`ConfigurationError`
        (no superuser credentials) is a 501 page and nothing changes. An outage keeps
        the user signed in (503).
    """
    title = "Sign out everywhere"
    try:
        client = service()
    except ConfigurationError:
        return Step.say(title, NO_SIGN_OUT_EVERYWHERE, 501)
    try:
        signed_in = session.logout_everywhere(client)
    except ClientResponseError as exc:
        message, status = auth_failure(exc, NO_SIGN_OUT_EVERYWHERE)
        return Step.say(title, message, status)
    state.pop(MFA_KEY, None)
    state.pop(OTP_KEY, None)
    if not signed_in:
        return Step(kind="signed_out", page="login")
    return Step(kind="signed_out", title=title, message=SIGNED_OUT_EVERYWHERE, login_link=True)


# -- password and sign-up ----------------------------------------------------------


def password(state: MutableMapping[str, Any], email: str, secret: str) -> Flow:
    """Sign in with email and password (the second factor of an MFA begun with a code)."""
    email = email.strip()
    if not email or not secret:
        return Step.show(
            "login", 400, error="Enter your email and password.", values={"email": email}
        )
    flow = _flow(state, MFA_KEY)
    mfa_id = None
    if flow is not None and flow.get("first") == "otp" and same_email(flow.get("email"), email):
        mfa_id = flow.get("mfa_id")
    try:
        yield Call("auth_with_password", (email, secret), {"mfa_id": mfa_id})
    except ClientResponseError as exc:
        if exc.mfa_id:
            return start_mfa(state, exc.mfa_id, email, "password")
        message, status = auth_failure(exc, BAD_LOGIN)
        return Step.show("login", status, error=message, values={"email": email})
    return finish(state)


def sign_up(
    state: MutableMapping[str, Any],
    email: str,
    secret: str,
    confirm: str,
    name: str = "",
) -> Flow:
    """Create an account, then sign in. A taken email is never named."""
    email, name = email.strip(), name.strip()
    values = {"email": email, "name": name}
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address."
    if not secret:
        errors["password"] = NOTHING_CHOSEN
    elif secret != confirm:
        errors["password_confirm"] = PASSWORDS_DIFFER
    if errors:
        return Step.show("signup", 400, field_errors=errors, values=values)
    body = {"email": email, "password": secret, "passwordConfirm": confirm}
    if name:
        body["name"] = name
    try:
        yield Call("create", (body,))
    except ClientResponseError as exc:
        message, status = auth_failure(exc, SIGNUP_FAILED)
        data = exc.data if status == 400 else {}
        errors = field_errors(data, SIGNUP_FIELDS)
        email_error = data.get("email")
        # A taken address is never named: with no other field to blame, the answer is
        # the generic refusal.
        if isinstance(email_error, Mapping) and email_error.get("code") != "validation_not_unique":
            errors["email"] = BAD_EMAIL
        return Step.show(
            "signup", status, error=None if errors else message, field_errors=errors, values=values
        )
    try:
        yield Call("auth_with_password", (email, secret))
    except ClientResponseError as exc:
        if exc.mfa_id:
            return start_mfa(state, exc.mfa_id, email, "password")
        # Created, but the collection wants more first (a verified email, say).
        return Step.go("login")
    return finish(state)


# -- one-time codes and MFA ---------------------------------------------------------


def request_otp(state: MutableMapping[str, Any], email: str) -> Flow:
    """Mail a sign-in code; the answer is the same whether the account exists."""
    email = email.strip()
    if not email:
        return Step.show("otp_request", 400, error="Enter your email address.")
    try:
        # PocketBase answers an unknown email with a fake id: nothing to tell apart here.
        otp_id = yield Call("request_otp", (email,))
    except ClientResponseError as exc:
        message, status = auth_failure(exc, NO_CODES if exc.is_forbidden else BAD_EMAIL)
        return Step.show("otp_request", status, error=message, values={"email": email})
    state[OTP_KEY] = {"otp_id": str(otp_id), "email": email}
    return Step.go("otp_verify")


def otp_page(state: Mapping[str, Any]) -> Step:
    """The code page (no I/O): the code was sent to the remembered email."""
    otp = _flow(state, OTP_KEY)
    if otp is None:
        return Step.go("otp_request")
    email = otp.get("email", "")
    return Step.show("otp_verify", notice=CODE_SENT.format(email=email), values={"email": email})


def _verify(state: MutableMapping[str, Any], code: str, otp: dict[str, str], page: str) -> Flow:
    email = otp.get("email", "")
    code = code.strip()
    if not code:
        return Step.show(page, 400, error="Enter the code from the email.", values={"email": email})
    mfa = _flow(state, MFA_KEY)
    mfa_id = None
    if mfa is not None and mfa.get("first") == "password" and same_email(mfa.get("email"), email):
        mfa_id = mfa.get("mfa_id")
    try:
        yield Call("auth_with_otp", (otp.get("otp_id", ""), code, mfa_id))
    except ClientResponseError as exc:
        if exc.mfa_id:
            return start_mfa(state, exc.mfa_id, email, "otp")
        message, status = auth_failure(exc, BAD_CODE)
        return Step.show(page, status, error=message, values={"email": email})
    return finish(state)


def otp_verify(state: MutableMapping[str, Any], code: str) -> Flow:
    """Sign in with the mailed code (completing an MFA session begun with a password)."""
    otp = _flow(state, OTP_KEY)
    if otp is None:
        return Step.go("otp_request")
    return (yield from _verify(state, code, otp, "otp_verify"))


def _mfa_email(state: Mapping[str, Any]) -> str | None:
    flow = _flow(state, MFA_KEY)
    if flow is None or flow.get("first") != "password":
        return None
    return flow.get("email", "")


def _send_mfa_code(state: MutableMapping[str, Any], email: str) -> Flow:
    try:
        otp_id = yield Call("request_otp", (email,))
    except ClientResponseError as exc:
        message, status = auth_failure(exc, NO_SECOND_FACTOR if exc.is_forbidden else BAD_CODE)
        return Step.show("mfa", status, error=message, values={"email": email, "send_failed": True})
    state[OTP_KEY] = {"otp_id": str(otp_id), "email": email}
    return Step.show("mfa", values={"email": email})


def mfa_page(state: MutableMapping[str, Any]) -> Flow:
    """The second step after a password: mail a code once, then ask for it."""
    email = _mfa_email(state)
    if email is None:
        return Step.go("login")
    otp = _flow(state, OTP_KEY)
    if otp is None or not same_email(otp.get("email"), email):
        return (yield from _send_mfa_code(state, email))
    return Step.show("mfa", values={"email": email})


def mfa_resend(state: MutableMapping[str, Any]) -> Flow:
    """Mail another code for the MFA session under way."""
    email = _mfa_email(state)
    if email is None:
        return Step.go("login")
    step = yield from _send_mfa_code(state, email)
    return step if step.status != 200 else Step.go("mfa")


def mfa_verify(state: MutableMapping[str, Any], code: str) -> Flow:
    """Check the second factor's code together with the MFA session."""
    email = _mfa_email(state)
    if email is None:
        return Step.go("login")
    otp = _flow(state, OTP_KEY)
    if otp is None or not same_email(otp.get("email"), email):
        return Step.go("mfa")
    return (yield from _verify(state, code, otp, "mfa"))


# -- OAuth2 -------------------------------------------------------------------------------


def login_options() -> Generator[Call, Any, dict[str, Any]]:
    """What the login page offers besides the password: OAuth2 providers, codes."""
    try:
        methods = yield Call("list_auth_methods")
    except ClientResponseError:
        return {"providers": [], "otp_enabled": False}
    methods = methods if isinstance(methods, Mapping) else {}
    oauth2 = methods.get("oauth2") or {}
    providers = [
        {"name": p.get("name", ""), "display_name": p.get("displayName") or p.get("name", "")}
        for p in (oauth2.get("providers") or [])
        if oauth2.get("enabled") and p.get("name")
    ]
    return {"providers": providers, "otp_enabled": bool((methods.get("otp") or {}).get("enabled"))}


def oauth2_start(
    provider: str, redirect_url: str, next_url: str
) -> Generator[Call, Any, tuple[Step, dict[str, str] | None]]:
    """Begin an OAuth2 sign-in: the provider's URL, and the state to keep for the callback.

    The second item (``state``, PKCE ``verifier``, provider, ``next``) must travel to
    the callback in something only this browser holds and only the server can read
    or forge: a short-lived, signed, HttpOnly cookie scoped to the callback's path.
    ``None`` means "show the step" (an unknown provider is a 404 page, PocketBase
    down a 503).
    """
    try:
        methods = yield Call("list_auth_methods")
    except ClientResponseError as exc:
        message, status = auth_failure(exc, OAUTH2_FAILED)
        return Step.show("login", status, error=message), None
    oauth2 = (methods or {}).get("oauth2") or {}
    providers = (oauth2.get("providers") or []) if oauth2.get("enabled") else []
    info = next((p for p in providers if p.get("name") == provider), None)
    if info is None or not info.get("authURL") or not info.get("state"):
        return Step.show("login", 404, error=OAUTH2_FAILED), None
    keep = {
        "state": str(info["state"]),
        "verifier": str(info.get("codeVerifier") or ""),
        "provider": provider,
        "next": next_url,
    }
    # authURL ends with "redirect_uri=": append ours, URL-encoded.
    url = str(info["authURL"]) + quote(redirect_url, safe="")
    return Step(kind="external", url=url), keep


def oauth2_callback(
    state: MutableMapping[str, Any],
    kept: Mapping[str, Any] | None,
    query: Mapping[str, str],
    redirect_url: str,
) -> Flow:
    """Finish an OAuth2 sign-in: check ``state`` (constant time), exchange the code.

    :param kept: what :func:`oauth2_start` asked to keep, as read back from the
        signed cookie (``None`` when it is missing, expired or tampered with).
    :param query: the callback's query parameters.
    """
    if not isinstance(kept, Mapping):
        return Step.show("login", 400, error=BAD_STATE)
    got, expected = str(query.get("state") or ""), str(kept.get("state") or "")
    if not got or not expected or not hmac.compare_digest(got.encode(), expected.encode()):
        return Step.show("login", 400, error=BAD_STATE)
    code = str(query.get("code") or "")
    if query.get("error") or not code:
        return Step.show("login", 400, error=OAUTH2_FAILED)
    try:
        yield Call(
            "auth_with_oauth2_code",
            (str(kept.get("provider") or ""), code, str(kept.get("verifier") or ""), redirect_url),
        )
    except ClientResponseError as exc:
        message, status = auth_failure(exc, OAUTH2_FAILED)
        return Step.show("login", status, error=message)
    return finish(state)


# -- password reset, verification, email change ------------------------------------


def request_password_reset(email: str) -> Flow:
    """Mail a reset link; the answer is the same whether the account exists."""
    email = email.strip()
    if not email:
        return Step.show("password_reset", 400, error="Enter your email address.")
    try:
        yield Call("request_password_reset", (email,))
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_EMAIL)
        return Step.show("password_reset", status, error=message, values={"email": email})
    return Step.say("Check your email", RESET_SENT.format(email=email))


def confirm_password_reset(token: str, secret: str, confirm: str) -> Flow:
    """Set a new password with the token from the reset mail."""
    values = {"token": token}
    if not secret:
        return Step.show(
            "password_reset_confirm", 400, field_errors={"password": NOTHING_CHOSEN}, values=values
        )
    if secret != confirm:
        return Step.show(
            "password_reset_confirm",
            400,
            field_errors={"password_confirm": PASSWORDS_DIFFER},
            values=values,
        )
    try:
        yield Call("confirm_password_reset", (token, secret, confirm))
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_LINK)
        data = exc.data if status == 400 else {}
        errors = field_errors(data, PASSWORD_FIELDS)
        error = None if errors and "token" not in data else message
        return Step.show(
            "password_reset_confirm", status, error=error, field_errors=errors, values=values
        )
    return Step.say(
        "Password changed", "Your password was changed. Sign in with the new one.", login_link=True
    )


def request_verification(email: str, *, own_email: str = "") -> Flow:
    """Mail a verification link; the answer is the same whether the account exists.

    :param own_email: the signed-in user's address, which wins over *email*.
    """
    email = (own_email or email).strip()
    if not email:
        return Step.show("verify_request", 400, field_errors={"email": "Enter your email address."})
    try:
        yield Call("request_verification", (email,))
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_EMAIL)
        return Step.show("verify_request", status, error=message, values={"email": email})
    return Step.say("Check your email", VERIFY_SENT.format(email=email))


def confirm_verification(token: str) -> Flow:
    """Confirm an email address with the token from the verification mail."""
    try:
        yield Call("confirm_verification", (token,))
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_LINK)
        return Step.show("verify_confirm", status, error=message, values={"token": token})
    return Step.say("Email verified", "Your email address is verified.", login_link=True)


#: Shown after an email-change request (the address is the new one's to confirm).
CHANGE_SENT = "We sent a confirmation link to {email}. The change takes effect once you open it."
#: A new address PocketBase refused (taken or invalid): never says which.
CHANGE_REFUSED = "This address cannot be used. Check it, or choose another one."


def request_email_change(new_email: str) -> Flow:
    """Mail a confirmation link to *new_email* (the signed-in user's own request)."""
    new_email = new_email.strip()
    if not new_email:
        return Step.show("email_change", 400, field_errors={"email": "Enter the new address."})
    try:
        yield Call("request_email_change", (new_email,))
    except ClientResponseError as exc:
        if exc.status == 401:
            return Step.go("login")
        message, status = auth_failure(exc, CHANGE_REFUSED)
        return Step.show("email_change", status, error=message, values={"email": new_email})
    return Step.say("Check your email", CHANGE_SENT.format(email=new_email))


def confirm_email_change(token: str, secret: str) -> Flow:
    """Confirm an email change with the mailed token and the account's password.

    PocketBase then revokes every session of the account (its ``tokenKey`` changes):
    the user signs in again with the new address.
    """
    if not secret:
        return Step.show(
            "email_change_confirm",
            400,
            field_errors={"password": "Enter your password."},
            values={"token": token},
        )
    try:
        yield Call("confirm_email_change", (token, secret))
    except ClientResponseError as exc:
        message, status = auth_failure(exc, BAD_LINK)
        data = exc.data if status == 400 else {}
        errors = field_errors(data, {"password": "password"})
        error = None if errors and "token" not in data else message
        return Step.show(
            "email_change_confirm",
            status,
            error=error,
            field_errors=errors,
            values={"token": token},
        )
    # PocketBase revoked every token of the account: this browser's session ends now.
    return Step(
        kind="signed_out",
        title="Email changed",
        message="Your email address was changed. Sign in with the new one.",
        login_link=True,
    )


# -- the one mapping from steps to responses ------------------------------------------------


class Pages:
    """Turns a :class:`Step` into a response: the adapters subclass it per request.

    The decisions (what each step kind means, which context a page gets, when the
    login page lists the other ways in) live here once; an adapter implements the
    hooks below in its framework's words, like authlib's per-framework shims.
    """

    def users(self) -> Any:
        """The auth collection's record service on the request's own client."""
        session = self.session()
        return session.client().collection(session.manager.settings.AUTH_COLLECTION)

    def session(self) -> RequestSession:
        """The request's :class:`~pb_ssr.RequestSession`."""
        raise NotImplementedError

    def next_url(self) -> str:
        """The request's ``next``, checked (:func:`pb_ssr.safe_next`)."""
        raise NotImplementedError

    def url(self, page: str, next_url: str | None = None) -> str:
        """The URL of the sign-in page *page*, with ``?next=`` when given."""
        raise NotImplementedError

    def redirect(self, url: str, status: int = 303) -> Any:
        """A redirect response."""
        raise NotImplementedError

    def render(self, page: str, context: dict[str, Any], step: Step) -> Any:
        """Render the template ``pb_ssr/<page>.html`` with *context* and ``step.status``."""
        raise NotImplementedError

    def rotate(self, *, signed_in: bool) -> None:
        """New CSRF token (and, after a sign-in, a new framework session key)."""
        raise NotImplementedError

    def debug_request(self) -> tuple[bool, str] | None:
        """In debug mode only: whether the request came over HTTPS, and its ``Host``."""
        return None

    def cookie_hint(self) -> str | None:
        """Why the browser will drop the auth cookie here; ``None`` outside debug mode."""
        facts = self.debug_request()
        if facts is None:
            return None
        secure = self.session().manager.settings.COOKIE_SECURE
        return insecure_cookie_hint(secure=secure, is_https=facts[0], host=facts[1])

    def answer(self, outcome: Step | Flow, next_url: str | None = None) -> Any:
        """Run *outcome* if it is a flow, and turn its step into the response."""
        step = run(outcome, self.users()) if isinstance(outcome, Generator) else outcome
        next_url = next_url or self.next_url()
        if step.kind in ("signed_in", "signed_out"):
            if step.kind == "signed_out":
                self.session().logout()
            self.rotate(signed_in=step.kind == "signed_in")
            if not step.message:
                return self.redirect(self.url(step.page) if step.page else next_url)
        elif step.kind == "redirect":
            return self.redirect(self.url(step.page, next_url))
        elif step.kind == "external":
            return self.redirect(step.url, 302)
        context: dict[str, Any] = {"next_url": next_url, "error": step.error}
        if step.message:
            context.update(title=step.title, message=step.message, login_link=step.login_link)
            return self.render("message", context, step)
        context.update(step.values, notice=step.notice)
        if step.page == "login":
            if step.status != 503:  # PocketBase is down: no call to list the other ways in
                context.update(run(login_options(), self.users()))
            context["cookie_hint"] = self.cookie_hint()
        return self.render(step.page, context, step)
