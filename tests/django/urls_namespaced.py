"""The sign-in views under another instance namespace (``account``) and prefix."""

from __future__ import annotations

from django.urls import include, path

from . import views

urlpatterns = [
    path("whoami/", views.whoami),
    path("account/", include("pb_ssr_django.urls", namespace="account")),
]
