from __future__ import annotations

from django.urls import include, path

from pb_ssr_django import live_script, live_view

from . import views

urlpatterns = [
    path("", views.home),
    path("whoami/", views.whoami),
    path("notes/", views.notes),
    path("template/", views.template_page),
    path("async/whoami/", views.async_whoami),
    path("async/sync-read/", views.async_sync_read),
    path("async/notes/", views.async_notes),
    path("private/", views.private),
    path("async/private/", views.async_private),
    path("admin-only/", views.admin_only),
    path("async/admin-only/", views.async_admin_only),
    path("api/login/", views.api_login),
    path("api/logout/", views.api_logout),
    path("live/", live_view(views.LIVE_FEEDS)),
    path("live.js", live_script),
    path("auth/", include("pb_ssr_django.urls")),
]
