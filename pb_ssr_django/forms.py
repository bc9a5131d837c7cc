"""The forms of the sign-in views (:mod:`pb_ssr_django.views`).

Plain Django forms that read the fields (a filled-in field, an email address); the
flows of :mod:`pb_ssr.flows` decide the rest and the views put their field errors
on the form. Subclass them and set ``form_class`` on a view to change widgets.
"""

from __future__ import annotations

from typing import Any

from django import forms

__all__ = [
    "CodeForm",
    "EmailChangeForm",
    "EmailForm",
    "LoginForm",
    "PasswordForm",
    "SetPasswordForm",
    "SignupForm",
    "VerifyRequestForm",
]


def _email_field(autocomplete: str, *, required: bool = True) -> Any:
    return forms.EmailField(
        label="Email",
        required=required,
        widget=forms.EmailInput(attrs={"autocomplete": autocomplete}),
    )


def _password_field(label: str, autocomplete: str) -> Any:
    # strip=False: a password's spaces are part of it.
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class LoginForm(forms.Form):
    """Email and password."""

    email = _email_field("username")
    password = _password_field("Password", "current-password")


class EmailForm(forms.Form):
    """Just an email address: one-time code and password-reset requests."""

    email = _email_field("email")


class VerifyRequestForm(forms.Form):
    """The email to verify; a signed-in user's own address is used instead when left out."""

    email = _email_field("email", required=False)


class CodeForm(forms.Form):
    """The one-time code from the mail."""

    code = forms.CharField(
        label="Code",
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SetPasswordForm(forms.Form):
    """A new password, twice (password reset)."""

    password = _password_field("New password", "new-password")
    password_confirm = _password_field("Repeat the new password", "new-password")


class SignupForm(forms.Form):
    """Email, optional name, password twice."""

    email = _email_field("email")
    name = forms.CharField(
        label="Name (optional)",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = _password_field("Password", "new-password")
    password_confirm = _password_field("Repeat the password", "new-password")


class EmailChangeForm(forms.Form):
    """The new email address of the signed-in user."""

    email = forms.EmailField(
        label="New email",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordForm(forms.Form):
    """The account's current password (confirming an email change)."""

    password = _password_field("Password", "current-password")
