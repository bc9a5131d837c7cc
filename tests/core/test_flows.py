"""The sign-in flows of ``pb_ssr.flows``: the decisions through ``next``/``send``/``throw``,
then every flow end to end, sync and async, against the real PocketBase, SMTP sink and
OIDC provider."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from pb_ssr import AsyncPocketBase, ClientResponseError, PocketBase, flows
from pb_ssr.flows import MFA_KEY, OTP_KEY, Call, Step, arun, run
from pb_ssr.testing import PocketBaseServer, TestUser

from ..peers import MailSink, OIDCProvider, extract_otp, extract_token
from .test_auth_flows import enable_otp

CALLBACK = "http://127.0.0.1:8000/auth/oauth2/callback"


def error(status: int, **body: Any) -> ClientResponseError:
    return ClientResponseError(status=status, response={"status": status, **body})


def stepped(flow: flows.Flow, *answers: Any) -> tuple[list[Call], Step]:
    """Drive *flow* by hand: each answer is sent back (an exception is thrown in)."""
    calls: list[Call] = []
    try:
        call = next(flow)
        for answer in answers:
            calls.append(call)
            call = flow.throw(answer) if isinstance(answer, BaseException) else flow.send(answer)
        raise AssertionError(f"the flow asked for more: {call}")
    except StopIteration as stop:
        return calls, stop.value


# -- the decisions, no I/O ---------------------------------------------------------------


def test_password_signs_in_and_drops_the_flow_state() -> None:
    state: dict[str, Any] = {OTP_KEY: {"otp_id": "x", "email": "a@b.test"}}
    calls, step = stepped(flows.password(state, " a@b.test ", "pw"), None)
    assert calls == [Call("auth_with_password", ("a@b.test", "pw"), {"mfa_id": None})]
    assert step.kind == "signed_in" and state == {}


@pytest.mark.parametrize(
    ("status", "message"),
    [(400, "Invalid email or password."), (429, "Too many attempts"), (503, "unavailable")],
)
def test_password_failures_never_say_which(status: int, message: str) -> None:
    _, step = stepped(flows.password({}, "a@b.test", "pw"), error(status))
    assert step.kind == "page" and step.page == "login" and step.status == status
    assert step.error is not None and message in step.error
    assert step.values == {"email": "a@b.test"}


def test_a_password_asked_for_a_second_factor_goes_to_mfa() -> None:
    state: dict[str, Any] = {}
    _, step = stepped(flows.password(state, "a@b.test", "pw"), error(401, mfaId="M1"))
    assert step == Step.go("mfa")
    assert state[MFA_KEY] == {"mfa_id": "M1", "email": "a@b.test", "first": "password"}


def test_an_mfa_id_is_only_chained_to_the_same_email() -> None:
    state: dict[str, Any] = {MFA_KEY: {"mfa_id": "M1", "email": "A@B.test", "first": "otp"}}
    calls, _ = stepped(flows.password(dict(state), "a@b.test", "pw"), None)
    assert calls[0].kwargs == {"mfa_id": "M1"}
    calls, _ = stepped(flows.password(dict(state), "eve@b.test", "pw"), None)
    assert calls[0].kwargs == {"mfa_id": None}


def test_empty_fields_are_refused_without_a_call() -> None:
    _, step = stepped(flows.password({}, "  ", "pw"))
    assert step.status == 400
    _, step = stepped(flows.sign_up({}, "a@b.test", "pw", "other"))
    assert step.field_errors == {"password_confirm": "The passwords do not match."}
    _, step = stepped(flows.request_otp({}, ""))
    assert step.status == 400


def test_sign_up_never_names_a_taken_email() -> None:
    taken = error(400, data={"email": {"code": "validation_not_unique", "message": "taken"}})
    _, step = stepped(flows.sign_up({}, "a@b.test", "pw12345678", "pw12345678"), taken)
    assert step.error == flows.SIGNUP_FAILED and step.field_errors == {}
    invalid = error(400, data={"email": {"code": "validation_is_email", "message": "bad"}})
    _, step = stepped(flows.sign_up({}, "a@b", "pw12345678", "pw12345678"), invalid)
    assert step.field_errors == {"email": "Enter a valid email address."} and step.error is None


def test_oauth2_state_is_checked_before_any_call() -> None:
    kept = {"state": "S", "verifier": "V", "provider": "oidc", "next": "/"}
    for query in ({"state": "T", "code": "C"}, {"code": "C"}, {"state": "", "code": "C"}):
        calls, step = stepped(flows.oauth2_callback({}, kept, query, CALLBACK))
        assert calls == [] and step.error == flows.BAD_STATE
    calls, step = stepped(flows.oauth2_callback({}, None, {"state": "S", "code": "C"}, CALLBACK))
    assert calls == [] and step.error == flows.BAD_STATE
    calls, step = stepped(
        flows.oauth2_callback({}, kept, {"state": "S", "code": "C"}, CALLBACK), None
    )
    assert calls == [Call("auth_with_oauth2_code", ("oidc", "C", "V", CALLBACK))]
    assert step.kind == "signed_in"


# -- end to end, sync and async --------------------------------------------------------


Driver = Callable[[flows.Flow, str, Any], Step]


def sync_driver(flow: flows.Flow, url: str, pb: Any) -> Step:
    return run(flow, pb.collection("users"))


def async_driver(flow: flows.Flow, url: str, pb: Any) -> Step:
    async def go() -> Step:
        client = AsyncPocketBase(url, auth_store=pb.auth_store)
        return await arun(flow, client.collection("users"))

    return asyncio.run(go())


@pytest.fixture(params=["sync", "async"])
def drive(request: pytest.FixtureRequest) -> Driver:
    return sync_driver if request.param == "sync" else async_driver


def test_password_and_sign_up_for_real(
    pocketbase_server: PocketBaseServer, pb_user_factory: Callable[..., TestUser], drive: Driver
) -> None:
    url = pocketbase_server.url
    user = pb_user_factory()
    pb = PocketBase(url)
    assert drive(flows.password({}, user.email, "wrong-password"), url, pb).status == 400
    assert drive(flows.password({}, user.email, user.password), url, pb).kind == "signed_in"
    assert pb.auth_store.record is not None and pb.auth_store.record.id == user.id

    fresh = PocketBase(url)
    email = f"new-{secrets.token_hex(4)}@example.test"
    step = drive(
        flows.sign_up({}, email, "a-long-password", "a-long-password", "Grace"), url, fresh
    )
    assert step.kind == "signed_in" and fresh.auth_store.record["email"] == email  # type: ignore[index]
    again = drive(
        flows.sign_up({}, email, "a-long-password", "a-long-password"), url, PocketBase(url)
    )
    assert again.error == flows.SIGNUP_FAILED and again.field_errors == {}


def test_otp_and_mfa_for_real(
    mail_server: PocketBaseServer, mail_sink: MailSink, drive: Driver
) -> None:
    url = mail_server.url
    user, second = mail_server.create_user(), mail_server.create_user()
    enable_otp(mail_server, mfa=True)
    state: dict[str, Any] = {}
    pb = PocketBase(url)
    # First factor: the password. PocketBase wants a second one.
    assert drive(flows.password(state, user.email, user.password), url, pb) == Step.go("mfa")
    page = drive(flows.mfa_page(state), url, pb)
    assert page.kind == "page" and page.values["email"] == user.email
    code = extract_otp(mail_sink.wait_for(user.email, subject_contains="OTP"))
    assert drive(flows.mfa_verify(state, "00000000"), url, pb).error == flows.BAD_CODE
    assert drive(flows.mfa_verify(state, code), url, pb).kind == "signed_in"
    assert state == {} and pb.auth_store.record is not None

    # A code alone (MFA on): the code is the first factor, the password the second.
    state = {}
    other = PocketBase(url)
    assert drive(flows.request_otp(state, second.email), url, other) == Step.go("otp_verify")
    assert flows.otp_page(state).notice is not None
    code = extract_otp(mail_sink.wait_for(second.email, subject_contains="OTP"))
    assert drive(flows.otp_verify(state, code), url, other) == Step.go("login")
    assert flows.login_page(state) == (second.email, flows.FINISH_SIGN_IN)
    step = drive(flows.password(state, second.email, second.password), url, other)
    assert step.kind == "signed_in"


def test_reset_verification_and_email_change_for_real(
    mail_server: PocketBaseServer, mail_sink: MailSink, drive: Driver
) -> None:
    url = mail_server.url
    user = mail_server.create_user()
    pb = PocketBase(url)
    assert drive(flows.request_password_reset(user.email), url, pb).kind == "message"
    token = extract_token(mail_sink.wait_for(user.email, subject_contains="password"))
    assert drive(flows.confirm_password_reset(token, "x", "y"), url, pb).status == 400
    done = drive(flows.confirm_password_reset(token, "new-password-1", "new-password-1"), url, pb)
    assert done.kind == "message" and done.login_link
    assert (
        drive(
            flows.confirm_password_reset(token, "new-password-2", "new-password-2"), url, pb
        ).error
        == flows.BAD_LINK
    )

    assert drive(flows.request_verification(user.email), url, pb).kind == "message"

    # Email change, signed in: the mail goes to the new address, its link and the
    # password confirm it, and the new address signs in.
    signed_in = PocketBase(url)
    signed_in.collection("users").auth_with_password(user.email, "new-password-1")
    new_email = f"moved-{secrets.token_hex(4)}@example.test"
    assert drive(flows.request_email_change(new_email), url, signed_in).kind == "message"
    assert drive(flows.request_email_change(new_email), url, PocketBase(url)) == Step.go("login")
    token = extract_token(mail_sink.wait_for(new_email, subject_contains="new email"))
    assert drive(flows.confirm_email_change(token, "wrong-password"), url, pb).status == 400
    changed = drive(flows.confirm_email_change(token, "new-password-1"), url, pb)
    assert changed.kind == "signed_out" and changed.login_link
    assert (
        drive(flows.password({}, new_email, "new-password-1"), url, PocketBase(url)).kind
        == "signed_in"
    )


def test_oauth2_for_real(
    oauth_server: PocketBaseServer, oidc_provider: OIDCProvider, drive: Driver
) -> None:
    url = oauth_server.url
    sub = f"sub-{secrets.token_hex(4)}"
    oidc_provider.set_user(sub, f"{sub}@example.test", "Ada")
    pb = PocketBase(url)
    options = drive(_as_flow(flows.login_options()), url, pb)
    assert [p["name"] for p in options.values["providers"]] == ["oidc"]

    start = drive(_as_flow(flows.oauth2_start("oidc", CALLBACK, "/next")), url, pb)
    step, kept = start.values["step"], start.values["kept"]
    assert step.kind == "external" and kept["next"] == "/next"
    code, state = oidc_provider.authorize(step.url, sub)
    done = drive(flows.oauth2_callback({}, kept, {"state": state, "code": code}, CALLBACK), url, pb)
    assert done.kind == "signed_in" and pb.auth_store.record is not None
    unknown = drive(_as_flow(flows.oauth2_start("nope", CALLBACK, "/")), url, pb)
    assert unknown.values["step"].status == 404 and unknown.values["kept"] is None


def _as_flow(gen: Any) -> flows.Flow:
    """Wrap a generator that returns something else than a Step, for the drivers."""
    value = yield from gen
    if isinstance(value, tuple):
        return Step.show("", values={"step": value[0], "kept": value[1]})
    return Step.show("", values=value)


# -- Pages: the one mapping from steps to responses ------------------------------------


class RecordingPages(flows.Pages):
    """Pages whose hooks record what the adapter would do."""

    def __init__(self, session: Any, *, debug: bool = False) -> None:
        self._session = session
        self._debug = debug
        self.rotated: list[bool] = []

    def session(self) -> Any:
        return self._session

    def next_url(self) -> str:
        return "/next"

    def url(self, page: str, next_url: str | None = None) -> str:
        return f"/auth/{page}" + (f"?next={next_url}" if next_url else "")

    def redirect(self, url: str, status: int = 303) -> Any:
        return ("redirect", status, url)

    def render(self, page: str, context: dict[str, Any], step: Step) -> Any:
        return ("render", step.status, page, context)

    def rotate(self, *, signed_in: bool) -> None:
        self.rotated.append(signed_in)

    def debug_request(self) -> tuple[bool, str] | None:
        return (False, "192.168.1.20:8000") if self._debug else None


def test_pages_map_every_step_kind(
    pocketbase_server: PocketBaseServer, pb_user_factory: Callable[..., TestUser]
) -> None:
    from pb_ssr import PocketBaseConfig

    config = PocketBaseConfig.from_mapping({"URL": pocketbase_server.url}, secret_key="s" * 40)
    user = pb_user_factory()
    session = config.open(config.login_cookie(user).value, remote_addr="127.0.0.1")
    pages = RecordingPages(session)
    assert pages.answer(Step(kind="signed_in")) == ("redirect", 303, "/next")
    assert pages.rotated == [True] and session.user() is not None
    assert pages.answer(Step.go("mfa")) == ("redirect", 303, "/auth/mfa?next=/next")
    assert pages.answer(Step(kind="external", url="https://idp.test/a")) == (
        "redirect",
        302,
        "https://idp.test/a",
    )
    kind, status, page, context = pages.answer(Step.show("login", 400, error="x"))
    assert (kind, status, page, context["error"]) == ("render", 400, "login", "x")
    assert context["providers"] == [] and context["otp_enabled"] is False  # asked PocketBase
    assert context["cookie_hint"] is None and context["next_url"] == "/next"
    # PocketBase is down: the login page does not ask it for the other ways in.
    assert "providers" not in pages.answer(Step.show("login", 503))[3]
    message = pages.answer(Step.say("T", "M", 501))
    assert message[:3] == ("render", 501, "message") and message[3]["message"] == "M"
    # Signing out ends the session (deny-listed, cookie deleted) and rotates CSRF.
    assert pages.answer(flows.sign_out({})) == ("redirect", 303, "/next")
    assert pages.rotated == [True, False]
    assert session.finalize().cookie is not None and session.user() is None
    # The debug hint names the problem of a Secure cookie over plain http off loopback.
    debug = RecordingPages(config.open(None, remote_addr="127.0.0.1"), debug=True)
    assert "Secure" in debug.answer(Step.show("login"))[3]["cookie_hint"]
    # A flow is run against the auth collection as the request's client.
    bad = debug.answer(flows.password({}, user.email, "wrong-password"))
    assert bad[:3] == ("render", 400, "login") and bad[3]["error"] == "Invalid email or password."
