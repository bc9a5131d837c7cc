"""Live updates: ``app.add_url_rule("/live", view_func=live_view(feeds))`` and
``app.add_url_rule("/live.js", view_func=live_script)``. A stream holds its thread:
serve with more threads than ``POCKETBASE_REALTIME_MAX_STREAMS``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Response, request, stream_with_context

from pb_ssr import Feed, Refusal, relay

from .globals import config, get_session

__all__ = ["live_script", "live_view"]


def live_view(feeds: Iterable[Feed]) -> Callable[[], Response]:
    """A view (endpoint ``live``) streaming *feeds* to a signed-in browser (``?feeds=``).

    401 anonymous, 400 an undeclared feed, 503 + ``Retry-After`` past the cap. A feed's
    ``render`` runs in the request's context (``render_template``, ``current_user``).
    """
    declared = tuple(feeds)

    def live() -> Response:
        result = config().relay(declared).open(get_session(), request.args.getlist("feeds"))
        if isinstance(result, Refusal):
            return Response(result.message, result.status, result.headers)
        return Response(stream_with_context(result), headers=result.headers)

    return live


def live_script() -> Response:
    """``live.js`` from the package (no static folder, no CDN), with an ``ETag``."""
    status, body, headers = relay.live_script(request.headers.get("If-None-Match"))
    return Response(body, status, headers)
