"""Every exception pb-ssr raises, in one tree.

::

    Exception
    └── PocketBaseSSRError            catch-all for pb-ssr's own errors
        ├── ConfigurationError        (also a ValueError) a setup mistake: a missing or
        │                             invalid setting, no secret key to sign the cookie
        │                             with, a service client without credentials; the
        │                             message names the key and the fix. Django shows it
        │                             as ``ImproperlyConfigured``, Flask raises it as is
        ├── ClientResponseError       every failed request, like the JS SDK's
        │   │                         ``status >= 400``: PocketBase said no
        │   └── PocketBaseUnavailable ``status == 0``: PocketBase did not answer --
        │                             refused, timed out, dropped (``is_abort`` for a
        │                             timeout), or not even tried because its circuit
        │                             breaker is open (``circuit_open``); also what a
        │                             session raises with ``ON_BACKEND_ERROR = "raise"``
        └── BlockingCallError         (also a RuntimeError) a sync session read inside a
                                      running event loop, before the session was
                                      loaded: ``await`` it

The adapters answer an unhandled ``PocketBaseUnavailable``, and any
``ClientResponseError`` with a 5xx status, with a 503 page (``HANDLE_UNAVAILABLE``).

Bad *untrusted* input (a tampered cookie, a garbage token) never raises: it
turns into an anonymous request. Misuse of the API raises ``TypeError`` or
``ValueError`` (an empty, ``.`` or ``..`` id, say) with a message that says the fix.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "BlockingCallError",
    "ClientResponseError",
    "ConfigurationError",
    "PocketBaseSSRError",
    "PocketBaseUnavailable",
]

_TOKEN_QUERY = re.compile(r"([?&]token=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """Return *url* with any ``token`` query value masked."""
    return _TOKEN_QUERY.sub(r"\1***", url)


class PocketBaseSSRError(Exception):
    """The base of every exception pb-ssr raises (the tree is in this module's docstring)."""


class ConfigurationError(PocketBaseSSRError, ValueError):
    """A pb-ssr setting is missing or invalid; the message names the key and the fix."""


class ClientResponseError(PocketBaseSSRError):
    """A PocketBase request that failed, with the evidence attached.

    Mirrors the JS SDK's ``ClientResponseError``. A transport failure (connection
    refused, timeout, DNS) has ``status == 0``; PocketBase's own refusals carry
    its HTTP status and parsed error body.

    :param url: the request URL (a ``token`` query value is masked).
    :param status: the HTTP status, or 0 when no response arrived.
    :param response: PocketBase's parsed JSON error body, ``{}`` when none.
    :param is_abort: true when the client gave up (a timeout).
    :param original_error: the underlying exception for transport failures.

    Example::

        try:
            pb.collection("messages").get_one(message_id)
        except ClientResponseError as exc:
            if exc.is_not_found:
                raise Http404 from exc
            raise
    """

    #: The request URL, with any ``token`` query value masked.
    url: str
    #: HTTP status code; 0 when PocketBase could not be reached.
    status: int
    #: The parsed PocketBase error body (``{"status", "message", "data"}``), or ``{}``.
    response: dict[str, Any]
    #: True when the request was abandoned by the client (a timeout).
    is_abort: bool
    #: The transport exception behind a ``status == 0`` error, else ``None``.
    original_error: BaseException | None

    def __init__(
        self,
        *,
        url: str = "",
        status: int = 0,
        response: dict[str, Any] | None = None,
        is_abort: bool = False,
        original_error: BaseException | None = None,
    ) -> None:
        self.url = redact_url(url)
        self.status = status
        self.response = dict(response) if isinstance(response, dict) else {}
        self.is_abort = is_abort
        self.original_error = original_error
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """PocketBase's message, or a description of the transport failure."""
        msg = self.response.get("message")
        if isinstance(msg, str) and msg:
            return msg
        if self.status == 0:
            if self.is_abort:
                return "The request to PocketBase timed out."
            kind = type(self.original_error).__name__ if self.original_error else "error"
            return f"Could not reach PocketBase ({kind})."
        if self.status == 401 and self.mfa_id:
            return "A second authentication factor is required."
        return "Something went wrong while processing your request."

    @property
    def data(self) -> dict[str, Any]:
        """Field errors: ``{"field": {"code": ..., "message": ...}}`` (may be empty)."""
        data = self.response.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def mfa_id(self) -> str | None:
        """The ``mfaId`` of a 401 asking for a second factor, else ``None``."""
        value = self.response.get("mfaId")
        return value if isinstance(value, str) and value else None

    @property
    def is_not_found(self) -> bool:
        """True for a 404."""
        return self.status == 404

    @property
    def is_unauthorized(self) -> bool:
        """True for a 401 (missing, invalid or expired token; or an MFA step)."""
        return self.status == 401

    @property
    def is_forbidden(self) -> bool:
        """True for a 403."""
        return self.status == 403

    @property
    def is_rate_limited(self) -> bool:
        """True for a 429 from PocketBase's rate limiter."""
        return self.status == 429

    @property
    def is_transport_error(self) -> bool:
        """True when no response arrived at all (``status == 0``)."""
        return self.status == 0

    @property
    def is_server_error(self) -> bool:
        """True when PocketBase is down or broken: no answer, or a 5xx."""
        return self.status == 0 or self.status >= 500

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, url={self.url!r}, "
            f"message={self.message!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__: teach pickle (multiprocessing, caches) to rebuild it.
        return (
            _rebuild,
            (type(self), self.url, self.status, self.response, self.is_abort),
        )


def _rebuild(
    cls: type[ClientResponseError],
    url: str,
    status: int,
    response: dict[str, Any],
    is_abort: bool,
) -> ClientResponseError:
    return cls(url=url, status=status, response=response, is_abort=is_abort)


class PocketBaseUnavailable(ClientResponseError):
    """PocketBase is down, hung or unreachable: no answer came (``status == 0``).

    Raised by every client call that got no answer (connection refused or
    dropped, a timeout with ``is_abort``), at once when the URL's circuit
    breaker is open (``circuit_open``), and by the session with
    ``ON_BACKEND_ERROR = "raise"`` when PocketBase could not confirm the token
    (it then carries the ``auth-refresh`` status, which may be a 5xx). The Django
    and Flask adapters turn an unhandled one into a 503 page; the auth cookie is
    kept.

    :param circuit_open: true when the call was never sent because the circuit
        breaker of that PocketBase is open.

    Example::

        try:
            messages = pb.collection("messages").get_list()
        except PocketBaseUnavailable:
            messages = None  # the template shows "messages are unavailable"
    """

    #: True when the call was refused by the open circuit breaker, never sent.
    circuit_open: bool

    def __init__(
        self,
        *,
        url: str = "",
        status: int = 0,
        response: dict[str, Any] | None = None,
        is_abort: bool = False,
        original_error: BaseException | None = None,
        circuit_open: bool = False,
    ) -> None:
        self.circuit_open = circuit_open
        super().__init__(
            url=url,
            status=status,
            response=response,
            is_abort=is_abort,
            original_error=original_error,
        )

    @property
    def message(self) -> str:
        """PocketBase's message, or a description of the failure."""
        if self.circuit_open:
            return "PocketBase is failing; calls fail fast until it answers again (circuit open)."
        return super().message

    @classmethod
    def from_error(cls, exc: ClientResponseError) -> PocketBaseUnavailable:
        """Wrap the failed ``auth-refresh`` error."""
        return cls(
            url=exc.url,
            status=exc.status,
            response=exc.response,
            is_abort=exc.is_abort,
            original_error=exc.original_error or exc,
            circuit_open=getattr(exc, "circuit_open", False),
        )


class BlockingCallError(PocketBaseSSRError, RuntimeError):
    """A synchronous pb-ssr call was made where it would block a running event loop.

    Reading the session synchronously (``request.pb_user``, ``current_user``,
    ``session.user()``) inside ``async def`` code is fine once the session is
    loaded; before that it would wait on PocketBase with every other request on
    the loop stuck behind it. The message names the ``await`` to use instead.
    """
