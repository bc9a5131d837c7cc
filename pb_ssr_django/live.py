"""Live updates for Django: the relay's stream endpoint and ``live.js``, translated.

::

    path("live", live_view([Feed("messages", "messages", render=...)]), name="live"),
    path("live.js", live_script, name="live_js"),

Under ASGI each stream is a task (:meth:`~pb_ssr.relay.Relay.aopen`); under WSGI it
holds the request's thread (:meth:`~pb_ssr.relay.Relay.open`). Every decision (feeds,
session, the ``REALTIME_*`` cap, refusals, headers) is the core's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse

from pb_ssr import Feed, Refusal
from pb_ssr.relay import AsyncStream
from pb_ssr.relay import live_script as core_live_script

from .conf import get_config
from .middleware import get_session

__all__ = ["live_script", "live_view"]


def live_view(feeds: Iterable[Feed]) -> Callable[[Any], Awaitable[HttpResponse]]:
    """A view that streams *feeds* to a signed-in browser (``?feeds=name[,name]``).

    Anonymous: 401; an undeclared feed: 400; past ``REALTIME_MAX_STREAMS``: 503 with
    ``Retry-After``. The middleware writes a renewed auth cookie before the stream starts.
    A feed's ``render`` gets the request from :func:`pb_ssr.relay.render_context`
    (``render_to_string(template, context, request=render_context())``).
    """
    declared = tuple(feeds)

    async def live(request: Any) -> HttpResponse:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        relay = get_config().relay(declared)
        session, names = get_session(request), request.GET.getlist("feeds")
        if isinstance(request, ASGIRequest):
            result: Any = await relay.aopen(session, names, context=request)
        else:  # WSGI: the stream holds this request's thread
            result = await sync_to_async(relay.open)(session, names, context=request)
        if isinstance(result, Refusal):
            return HttpResponse(result.message, status=result.status, headers=result.headers)
        body = _closing(result) if isinstance(result, AsyncStream) else result
        return StreamingHttpResponse(body, headers=result.headers)

    return live


async def _closing(stream: AsyncStream) -> AsyncIterator[bytes]:
    # Django closes its own wrapper of the body, never the stream inside it.
    try:
        async for chunk in stream:
            yield chunk
    finally:
        await stream.aclose()


def live_script(request: Any) -> HttpResponse:
    """``live.js`` from the package (no ``collectstatic``, no CDN), with an ``ETag``."""
    status, body, headers = core_live_script(request.headers.get("If-None-Match"))
    return HttpResponse(body, status=status, headers=headers)
