"""What the chat page may follow live, shared by the sync and async views.

``/live?feeds=messages`` relays each signed-in user's PocketBase events (their own
token and rules) as HTML fragments rendered with the page's own partial.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from pb_ssr import Feed, Record
from pb_ssr.relay import render_context


def render_message(action: str, record: Record) -> str:
    """A live message, rendered for the viewer of the stream (their request)."""
    return render_to_string("chat/_message.html", {"m": record}, request=render_context())


FEEDS = [Feed("messages", "messages", expand="user", render=render_message)]
