"""Template context: ``pb_user`` in every template rendered with a request.

Add it to ``TEMPLATES[...]["OPTIONS"]["context_processors"]``::

    "pb_ssr_django.context_processors.pocketbase",

then ``{% if pb_user %}Signed in as {{ pb_user.email }}{% endif %}``. The user is
lazy: PocketBase is only asked when a template reads it.
"""

from __future__ import annotations

from typing import Any

from .middleware import AnonymousUser

__all__ = ["pocketbase"]


def pocketbase(request: Any) -> dict[str, Any]:
    """Return ``{"pb_user": request.pb_user}`` (an anonymous user without the middleware)."""
    user = getattr(request, "pb_user", None)
    # An identity test, not truthiness: that would resolve the lazy user right here.
    return {"pb_user": user if user is not None else AnonymousUser()}
