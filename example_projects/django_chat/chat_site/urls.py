"""URLs: sync views under WSGI (runserver, gunicorn), async views under ASGI (uvicorn)."""

from __future__ import annotations

import os

from django.urls import include, path

from example_projects.django_chat.chat.live import FEEDS
from pb_ssr_django import live_script, live_view

if os.environ.get("CHAT_ASYNC_VIEWS") == "1":
    from example_projects.django_chat.chat import async_views as views
else:
    from example_projects.django_chat.chat import views  # type: ignore[no-redef]

urlpatterns = [
    path("", views.index, name="index"),
    path("messages", views.post_message, name="post_message"),
    path("messages/<str:message_id>/edit", views.edit_message, name="edit_message"),
    path("messages/<str:message_id>/delete", views.delete_message, name="delete_message"),
    # One view for both: a task per stream under ASGI, a thread under WSGI.
    path("live", live_view(FEEDS), name="live"),
    path("live.js", live_script, name="live_js"),
    path("stats", views.stats, name="stats"),
    path("auth/", include("pb_ssr_django.urls")),
]
