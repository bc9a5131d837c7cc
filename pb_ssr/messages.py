"""What the sign-in pages of both adapters tell users, written once.

The wording follows two rules: never reveal whether an account exists, and
say plainly when the problem is a rate limit or an outage rather than the user.
Projects may monkeypatch nothing here: override the templates instead.
"""

from __future__ import annotations

from ._errors import ClientResponseError

__all__ = [
    "BAD_CODE",
    "BAD_EMAIL",
    "BAD_LINK",
    "BAD_LOGIN",
    "BAD_STATE",
    "CODE_SENT",
    "FINISH_SIGN_IN",
    "NOTHING_CHOSEN",
    "NO_CODES",
    "NO_SECOND_FACTOR",
    "NO_SIGN_OUT_EVERYWHERE",
    "OAUTH2_FAILED",
    "PASSWORDS_DIFFER",
    "RESET_SENT",
    "SIGNED_OUT_EVERYWHERE",
    "SIGNUP_FAILED",
    "TOO_MANY",
    "UNAVAILABLE",
    "VERIFY_SENT",
    "auth_failure",
]

#: Wrong email or wrong password (never says which).
BAD_LOGIN = "Invalid email or password."
#: PocketBase's rate limiter said no.
TOO_MANY = "Too many attempts. Please wait a minute and try again."
#: PocketBase is down or broken.
UNAVAILABLE = "The sign-in service is unavailable right now. Please try again in a moment."
#: A sign-up that failed for a reason the user must not learn (a taken email).
SIGNUP_FAILED = (
    "We could not create an account with these details. "
    "If you already have an account, sign in or reset your password."
)
#: An email PocketBase would not accept.
BAD_EMAIL = "Enter a valid email address."
#: A wrong, used or expired one-time code.
BAD_CODE = "Invalid or expired code."
#: One-time codes are not enabled on the auth collection.
NO_CODES = "Sign-in codes are not available. Sign in with your password instead."
#: Shown after a code request, whether or not the account exists.
CODE_SENT = "If an account exists for {email}, we sent it a sign-in code."
#: Shown after a reset request, whether or not the account exists.
RESET_SENT = "If an account exists for {email}, we sent it a link to reset the password."
#: Shown after a verification request, whether or not the account exists.
VERIFY_SENT = "If an unverified account exists for {email}, we sent it a verification link."
#: A reset or verification token that PocketBase refused.
BAD_LINK = "This link is invalid or has expired. Please request a new one."
#: An OAuth2 callback whose state does not match the one this browser started with.
BAD_STATE = "This sign-in attempt was not started here or has expired. Please try again."
#: The provider or PocketBase refused the OAuth2 sign-in.
OAUTH2_FAILED = "Sign-in with this provider failed. Please try again."
#: The password half of an OTP-first MFA sign-in.
FINISH_SIGN_IN = "Enter your password to finish signing in."
#: MFA asks for a second method this site cannot offer (no OTP).
NO_SECOND_FACTOR = "This account needs a second sign-in step that is not available here."
#: A new password left empty.
NOTHING_CHOSEN = "Choose a password."
#: The two passwords of a form differ.
PASSWORDS_DIFFER = "The passwords do not match."
#: After "sign out of all devices".
SIGNED_OUT_EVERYWHERE = "You are signed out on every device. Sign in again to continue."
#: "Sign out of all devices" needs the service client, which the site has not set up.
NO_SIGN_OUT_EVERYWHERE = (
    "Signing out of every device is not available on this site. You are still signed in."
)


def auth_failure(exc: ClientResponseError, generic: str) -> tuple[str, int]:
    """Map a failed PocketBase call to a message a user may see, and an HTTP status.

    429 -> :data:`TOO_MANY`; no answer or 5xx -> :data:`UNAVAILABLE` (503);
    anything else -> *generic* (400), which must not reveal account existence.
    """
    if exc.is_rate_limited:
        return TOO_MANY, 429
    if exc.is_server_error:
        return UNAVAILABLE, 503
    return generic, 400
