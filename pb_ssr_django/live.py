"""Live updates: ``path("live", live_view(feeds))`` and ``path("live.js", live_script)``.

Under ASGI a stream is a task (:meth:`~pb_ssr.relay.Relay.aopen`); under WSGI it holds
the request's thread (:meth:`~pb_ssr.relay.Relay.open`). Every decision is the core's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from asgiref.sync import SyncToAsync, sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse

from pb_ssr import Feed, Refusal, relay

from .conf import get_config
from .middleware import get_session

__all__ = ["live_script", "live_view"]


def live_view(feeds: Iterable[Feed]) -> Callable[[Any], Awaitable[HttpResponse]]:
    """A view streaming *feeds* to a signed-in browser (``?feeds=name[,name]``).

    401 anonymous, 400 an undeclared feed, 503 + ``Retry-After`` past the cap. A
    feed's ``render`` gets the request from :func:`pb_ssr.relay.render_context`.
    """
    declared = tuple(feeds)

    async def live(request: Any) -> HttpResponse:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        hub, session, names = get_config().relay(declared), get_session(request), request.GET
        if isinstance(request, ASGIRequest):
            result: Any = await hub.aopen(session, names.getlist("feeds"), context=request)
        else:
            opener = sync_to_async(hub.open)  # the stream holds this WSGI thread
            result = await opener(session, names.getlist("feeds"), context=request)
        if isinstance(result, Refusal):
            return HttpResponse(result.message, status=result.status, headers=result.headers)
        body = _body(result) if isinstance(result, relay.AsyncStream) else result
        return StreamingHttpResponse(body, headers=result.headers)

    return live


async def _body(stream: relay.AsyncStream) -> AsyncIterator[bytes]:
    """An async stream's body, without the idle thread Django's ASGI handler keeps per
    request for its sync parts: they are done once sending starts (``request_finished``
    gets a new thread if it needs one)."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    if context is not None and getattr(context, "_executor", None) is None:
        executor = SyncToAsync.context_to_thread_executor.pop(context, None)
        if executor is not None:
            executor.shutdown(wait=False)
    async for chunk in stream.body():
        yield chunk


def live_script(request: Any) -> HttpResponse:
    """``live.js`` from the package (no ``collectstatic``, no CDN), with an ``ETag``."""
    status, body, headers = relay.live_script(request.headers.get("If-None-Match"))
    return HttpResponse(body, status=status, headers=headers)
