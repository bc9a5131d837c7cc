"""Live updates for Flask: the relay's stream endpoint and ``live.js``, translated.

::

    app.add_url_rule("/live", view_func=live_view([Feed("messages", "messages", render=...)]))
    app.add_url_rule("/live.js", view_func=live_script)

Each stream holds the thread that serves it (:meth:`~pb_ssr.relay.Relay.open`): run
a threaded server with more threads than ``POCKETBASE_REALTIME_MAX_STREAMS``. Every
decision (feeds, session, cap, refusals, headers) is the core's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Response, request, stream_with_context

from pb_ssr import Feed, Refusal
from pb_ssr.relay import live_script as core_live_script

from .globals import config, get_session

__all__ = ["live_script", "live_view"]


def live_view(feeds: Iterable[Feed], *, name: str = "live") -> Callable[[], Response]:
    """A view (endpoint *name*) streaming *feeds* to a signed-in browser (``?feeds=``).

    Anonymous: 401; an undeclared feed: 400; past the cap: 503 with ``Retry-After``.
    The stream starts after ``after_request``, so a renewed auth cookie goes out with
    its headers; werkzeug closes the stream when the client is gone. A feed's
    ``render`` runs in the request's context: ``render_template`` works as in a view.
    """
    declared = tuple(feeds)

    def live() -> Response:
        relay = config().relay(declared)
        result = relay.open(get_session(), request.args.getlist("feeds"))
        if isinstance(result, Refusal):
            return Response(result.message, result.status, result.headers)
        # The request context stays for render_template, current_user, csrf_token().
        return Response(stream_with_context(result), headers=result.headers)

    live.__name__ = name
    return live


def live_script() -> Response:
    """``live.js`` from the package (no static folder to copy, no CDN), with an ``ETag``."""
    status, body, headers = core_live_script(request.headers.get("If-None-Match"))
    return Response(body, status, headers)
