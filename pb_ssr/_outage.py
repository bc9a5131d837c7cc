"""The 503 both adapters answer when a view meets a PocketBase outage, decided once.

An outage is :class:`~pb_ssr.PocketBaseUnavailable` (no answer, or the circuit
breaker is open) or any :class:`~pb_ssr.ClientResponseError` with a 5xx status.
Other statuses (404, 403, 400) are the app's to handle. The adapters render the
page; this module says *whether* to answer 503, the body for clients that prefer
JSON, and logs at most one line per interval instead of one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from ._errors import ClientResponseError, PocketBaseUnavailable

__all__ = ["UNAVAILABLE_JSON", "OutageLog", "is_outage"]

#: The JSON body of the 503, shaped like PocketBase's own errors. It names no
#: URL, host or exception: a 503 page must not leak internals.
UNAVAILABLE_JSON: Final = {
    "status": 503,
    "message": "The service is unavailable right now. Please try again in a moment.",
    "data": {},
}


def is_outage(exc: BaseException) -> bool:
    """True for the errors the adapters answer with 503: PocketBase down, hung or broken."""
    if isinstance(exc, PocketBaseUnavailable):
        return True
    return isinstance(exc, ClientResponseError) and exc.status >= 500


class OutageLog:
    """Log outages answered with 503 at most once per :attr:`interval` seconds.

    The first outage is logged at once; the ones after it within the interval are
    counted and reported with the next line. The log names the request path and
    the error's own message, never a token or a query string.

    :param logger: where to log (a warning per line).
    :param clock: a monotonic clock (a seam for tests).

    Example::

        outages = OutageLog(logging.getLogger("myapp"))
        outages.record(exc, request.path)
    """

    #: Seconds between two log lines.
    interval: float = 60.0

    def __init__(
        self, logger: logging.Logger, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self._clock = clock
        self._lock = threading.Lock()
        self._last = -float("inf")
        self._suppressed = 0

    def record(self, exc: ClientResponseError, path: str) -> bool:
        """Count one 503 for *exc* on *path*; return whether a line was logged."""
        with self._lock:
            now = self._clock()
            if now - self._last < self.interval:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        extra: dict[str, Any] = {"status": exc.status}
        self.logger.warning(
            "PocketBase is unavailable (%s); answered 503 to %s%s.",
            exc.message,
            path,
            f" and {suppressed} more request(s) in the last {self.interval:.0f} s"
            if suppressed
            else "",
            extra={"pb_ssr": extra},
        )
        return True
