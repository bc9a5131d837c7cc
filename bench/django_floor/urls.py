"""The example's URL names (``index``, ``pb_ssr:login``...), served by the floor's views."""

from __future__ import annotations

import os

from django.urls import include, path

from . import views

auth_patterns = [
    path("login/", views.login, name="login"),
    path("signup/", views.nothing, name="signup"),
    path("logout/", views.nothing, name="logout"),
]

urlpatterns = [
    path(
        "", views.aindex if os.environ.get("CHAT_ASYNC_VIEWS") == "1" else views.index, name="index"
    ),
    path("messages", views.nothing, name="post_message"),
    path("messages/<str:message_id>/delete", views.nothing, name="delete_message"),
    path("messages/<str:message_id>/edit", views.nothing, name="edit_message"),
    path("live", views.nothing, name="live"),
    path("live.js", views.nothing, name="live_js"),
    path("stats", views.nothing, name="stats"),
    path("auth/", include((auth_patterns, "pb_ssr"))),
]
