"""``pb_user`` in every template rendered with a request (lazy: PocketBase is only asked
when a template reads it): add ``"pb_ssr_django.context_processors.pocketbase"``."""

from __future__ import annotations

from typing import Any

from pb_ssr import AnonymousUser

from .middleware import _LazyUser

__all__ = ["pocketbase"]


def pocketbase(request: Any) -> dict[str, Any]:
    """Return ``{"pb_user": request.pb_user}`` (an anonymous user without the middleware)."""
    user = getattr(request, "pb_user", None)
    # An identity test, not truthiness: that would resolve the lazy user right here.
    if user is None:
        return {"pb_user": AnonymousUser()}
    if isinstance(user, _LazyUser):
        # Once the request has the user (login_required does), the user itself: the
        # lazy object would resolve to this very object, and a template may read it
        # once per row (the chat page: 50 times), each read a proxied call.
        resolved = getattr(request, "_cached_pb_user", None)
        if resolved is not None:
            return {"pb_user": resolved}
    return {"pb_user": user}
