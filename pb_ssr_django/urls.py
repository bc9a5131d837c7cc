"""The sign-in URLs (app namespace ``pb_ssr``); opt in with
``path("auth/", include("pb_ssr_django.urls"))``. See :mod:`pb_ssr_django.views`."""

from __future__ import annotations

from django.urls import path

from . import views

__all__ = ["app_name", "urlpatterns"]

app_name = "pb_ssr"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("logout/everywhere/", views.LogoutEverywhereView.as_view(), name="logout_everywhere"),
    path("otp/", views.OTPRequestView.as_view(), name="otp_request"),
    path("otp/verify/", views.OTPVerifyView.as_view(), name="otp_verify"),
    path("mfa/", views.MFAView.as_view(), name="mfa"),
    path("oauth2/start/<str:provider>/", views.OAuth2StartView.as_view(), name="oauth2_start"),
    path("oauth2/callback/", views.OAuth2CallbackView.as_view(), name="oauth2_callback"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/<str:token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("verify/", views.VerifyRequestView.as_view(), name="verify_request"),
    path("verify/<str:token>/", views.VerifyConfirmView.as_view(), name="verify_confirm"),
    path("email-change/", views.EmailChangeView.as_view(), name="email_change"),
    path(
        "email-change/<str:token>/",
        views.EmailChangeConfirmView.as_view(),
        name="email_change_confirm",
    ),
]
