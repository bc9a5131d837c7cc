"""URLs: sync views under WSGI (runserver, gunicorn), async views under ASGI (uvicorn)."""

from __future__ import annotations

import os

from django.urls import include, path

if os.environ.get("CHAT_ASYNC_VIEWS") == "1":
    from example_projects.django_chat.chat import async_views as views
else:
    from example_projects.django_chat.chat import views  # type: ignore[no-redef]

urlpatterns = [
    path("", views.index, name="index"),
    path("messages", views.post_message, name="post_message"),
    path("messages/<str:message_id>/delete", views.delete_message, name="delete_message"),
    path("stats", views.stats, name="stats"),
    path("auth/", include("pb_ssr_django.urls")),
]
