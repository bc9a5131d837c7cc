"""Real peers for the auth-flow tests: an SMTP sink and an OpenID Connect provider.

Both listen on loopback only and are started and stopped by fixtures in
``tests/conftest.py``. PocketBase talks to them for real: it mails OTP codes and
verification, reset and email-change links to :class:`MailSink`, and exchanges
OAuth2 codes with :class:`OIDCProvider` (``oidc-provider-mock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs, urlsplit

import httpx
from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session

    from pb_ssr.testing import PocketBaseServer

__all__ = [
    "MailSink",
    "OIDCProvider",
    "extract_otp",
    "extract_token",
    "ignoring_mock_warnings",
]

_HOST = "127.0.0.1"

# PocketBase's default OTP mail ("Your one-time password is: <strong>12345678</strong>").
_OTP = re.compile(r"<strong>\s*(\d{6,})\s*</strong>")
# The links of the verification, reset and email-change mails end in the token:
# {APP_URL}/_/#/auth/confirm-verification/<jwt> (and .../confirm-password-reset/,
# .../confirm-email-change/).
_TOKEN = re.compile(r"/confirm-[a-z-]+/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")


def body_text(msg: EmailMessage) -> str:
    """The text of *msg* (its HTML part when it has one)."""
    part = msg.get_body(preferencelist=("html", "plain"))
    if part is None:
        return ""
    return str(part.get_content())


def extract_otp(msg: EmailMessage) -> str:
    """Return the one-time code of a PocketBase OTP mail.

    :raises AssertionError: when the mail holds no code.
    """
    match = _OTP.search(body_text(msg))
    assert match, f"no OTP code in mail {msg['Subject']!r}"
    return match.group(1)


def extract_token(msg: EmailMessage) -> str:
    """Return the JWT in the confirmation link of a PocketBase action mail.

    :raises AssertionError: when the mail holds no confirmation link.
    """
    match = _TOKEN.search(body_text(msg))
    assert match, f"no confirmation link in mail {msg['Subject']!r}"
    return match.group(1)


class _Controller(Controller):
    # aiosmtpd connects to ``self.port`` once the server is up, so binding port 0
    # needs the real port read back first; this avoids a pick-then-bind race.
    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _Handler:
    # A separate object: aiosmtpd inspects every attribute of its handler.
    def __init__(self, store: Callable[[EmailMessage], None]) -> None:
        self._store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        # Keep the envelope recipients: they are who the mail was really sent to.
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self._store(msg)
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on a free loopback port that keeps every message it receives.

    ::

        with MailSink() as sink:
            sink.configure(server)
            pb.collection("users").request_otp(email)
            code = extract_otp(sink.wait_for(email))
    """

    #: Sender of PocketBase's mails (set by :meth:`configure`).
    sender_address = "noreply@example.test"
    #: The ``appURL`` PocketBase writes into its links (set by :meth:`configure`).
    app_url = "http://127.0.0.1:8000"

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._cond = threading.Condition()
        self._controller: _Controller | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the sink listens on."""
        if self._controller is None:
            raise RuntimeError("The mail sink is not running; call start() first.")
        return int(self._controller.port)

    def start(self) -> None:
        """Start listening on a free loopback port."""
        if self._controller is not None:
            return
        controller = _Controller(_Handler(self._store), hostname=_HOST, port=0)
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)
            # A loop that never ran is not closed by stop(): close it here, or it
            # leaks as an unclosed-loop ResourceWarning.
            if not controller.loop.is_closed():
                controller.loop.close()
            raise
        self._controller = controller

    def stop(self) -> None:
        """Stop the server; safe to call more than once."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def _store(self, msg: EmailMessage) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def received(self, to: str, *, subject_contains: str | None = None) -> list[EmailMessage]:
        """Return the messages received so far for *to* (newest last)."""
        with self._cond:
            return [m for m in self.messages if _matches(m, to, subject_contains)]

    def wait_for(
        self, to: str, *, timeout: float = 10, subject_contains: str | None = None
    ) -> EmailMessage:
        """Return the first message for *to*, waiting up to *timeout* seconds for it.

        :param to: a recipient address (case-insensitive).
        :param subject_contains: only accept a message whose subject contains this.
        :raises TimeoutError: when no such message arrives in time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for msg in self.messages:
                    if _matches(msg, to, subject_contains):
                        return msg
                left = deadline - time.monotonic()
                if left <= 0:
                    subjects = [str(m["Subject"]) for m in self.messages]
                    raise TimeoutError(
                        f"No mail to {to!r} (subject ~ {subject_contains!r}) within "
                        f"{timeout} s; received: {subjects}"
                    )
                self._cond.wait(left)

    def configure(self, server: PocketBaseServer) -> None:
        """Point PocketBase's SMTP settings at this sink."""
        server.update_settings(
            {
                "smtp": {"enabled": True, "host": _HOST, "port": self.port, "tls": False},
                "meta": {
                    "senderAddress": self.sender_address,
                    "senderName": "pb-ssr tests",
                    "appURL": self.app_url,
                },
            }
        )


def _matches(msg: EmailMessage, to: str, subject_contains: str | None) -> bool:
    recipients = f"{msg['To'] or ''}, {msg['X-Envelope-To'] or ''}".lower()
    if to.lower() not in recipients:
        return False
    return subject_contains is None or subject_contains in str(msg["Subject"] or "")


# The mock's own code and the authlib it calls; their deprecations are not ours.
_MOCK_MODULES = r"(authlib|oidc_provider_mock)(\.|$)"


@contextlib.contextmanager
def ignoring_mock_warnings() -> Iterator[None]:
    """Ignore deprecation warnings raised inside oidc-provider-mock and authlib.

    Warning filters are process-wide, so ``filterwarnings = error`` also reaches
    the provider's server thread. oidc-provider-mock 0.3 calls an authlib API that
    warns (``get_jwt_config`` is deprecated); as an error, its token endpoint
    answers 500 and PocketBase reports "Failed to fetch OAuth2 token.". Hold this
    around every code exchange (the ``oauth_server`` fixture does).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=_MOCK_MODULES)
        yield


def _import_mock() -> Any:
    # record=True swallows the import-time deprecations: authlib.deprecate adds an
    # "always" filter for its warning class, which would beat an "ignore" filter.
    with warnings.catch_warnings(record=True):
        import oidc_provider_mock  # type: ignore[import-untyped]

    return oidc_provider_mock


class OIDCProvider:
    """An OpenID Connect provider (``oidc-provider-mock``) on a free loopback port.

    ::

        with OIDCProvider() as op:
            op.configure_pocketbase(server)
            op.set_user("ada", "ada@example.test", "Ada")
            code, state = op.authorize(auth_url + quote(redirect_url), "ada")
    """

    #: The provider name registered in PocketBase.
    provider_name = "oidc"

    def __init__(self) -> None:
        self._stack: contextlib.ExitStack | None = None
        self._port: int | None = None
        self._http: httpx.Client | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The issuer URL, e.g. ``http://127.0.0.1:53127``."""
        if self._port is None:
            raise RuntimeError("The provider is not running; call start() first.")
        return f"http://{_HOST}:{self._port}"

    def start(self) -> None:
        """Start the provider in a background thread."""
        if self._stack is not None:
            return
        stack = contextlib.ExitStack()
        try:
            server = stack.enter_context(_import_mock().run_server_in_thread())
            self._port = int(server.server_port)
            # trust_env=False: no proxy between the tests and a loopback server.
            self._http = stack.enter_context(
                httpx.Client(base_url=self.url, timeout=10.0, trust_env=False)
            )
        except BaseException:
            stack.close()
            raise
        self._stack = stack

    def stop(self) -> None:
        """Stop the provider; safe to call more than once."""
        stack, self._stack = self._stack, None
        self._http = None
        self._port = None
        if stack is not None:
            stack.close()

    def _client(self) -> httpx.Client:
        if self._http is None:
            raise RuntimeError("The provider is not running; call start() first.")
        return self._http

    def set_user(self, sub: str, email: str, name: str) -> None:
        """Create or replace the provider's user *sub* with a verified email."""
        claims = {"email": email, "email_verified": True, "name": name}
        response = self._client().put(f"/users/{sub}", json=claims)
        response.raise_for_status()

    def configure_pocketbase(self, server: PocketBaseServer, collection: str = "users") -> None:
        """Register this provider as ``oidc`` on the auth *collection* of *server*."""
        provider = {
            "name": self.provider_name,
            "displayName": "Mock",
            "clientId": "pb-ssr-tests",
            "clientSecret": "pb-ssr-tests-secret",
            "authURL": f"{self.url}/oauth2/authorize",
            "tokenURL": f"{self.url}/oauth2/token",
            "userInfoURL": f"{self.url}/userinfo",
            "pkce": True,
        }
        server.api(
            "PATCH",
            f"/api/collections/{collection}",
            json={"oauth2": {"enabled": True, "providers": [provider]}},
        )

    def authorize(self, auth_url: str, sub: str) -> tuple[str, str]:
        """Sign in as *sub* on the authorization page and return ``(code, state)``.

        Does what the browser does: POSTs the login form to *auth_url* (which
        already ends with the redirect URL) and reads the code and state from
        the redirect.
        """
        response = self._client().post(auth_url, data={"sub": sub}, follow_redirects=False)
        if response.status_code != 302:
            raise AssertionError(
                f"authorize answered {response.status_code}, not 302: {response.text[:500]}"
            )
        query = parse_qs(urlsplit(response.headers["location"]).query)
        if "error" in query:
            raise AssertionError(f"authorize redirected with an error: {query}")
        return query["code"][0], query.get("state", [""])[0]
