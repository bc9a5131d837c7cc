"""pb_ssr_flask: the Flask extension of pb-ssr.

::

    from pb_ssr_flask import PocketBaseSSR, pb, current_user, login_required

    app.config.update(SECRET_KEY=..., POCKETBASE_URL="http://127.0.0.1:8090")
    PocketBaseSSR(app)
"""

from __future__ import annotations

from pb_ssr import AnonymousUser as AnonymousUser
from pb_ssr import AuthenticatedUser as AuthenticatedUser

from .blueprint import auth_blueprint as auth_blueprint
from .csrf import CSRFError as CSRFError
from .csrf import csrf_protect as csrf_protect
from .csrf import generate_csrf as generate_csrf
from .csrf import validate_csrf as validate_csrf
from .decorators import login_required as login_required
from .decorators import superuser_required as superuser_required
from .extension import PocketBaseSSR as PocketBaseSSR
from .extension import PocketBaseState as PocketBaseState
from .extension import pb_file_url as pb_file_url
from .globals import apb as apb
from .globals import config as config
from .globals import current_user as current_user
from .globals import get_current_user as get_current_user
from .globals import get_session as get_session
from .globals import pb as pb
from .globals import service as service
from .live import live_script as live_script
from .live import live_view as live_view

__all__ = [
    "AnonymousUser",
    "AuthenticatedUser",
    "CSRFError",
    "PocketBaseSSR",
    "PocketBaseState",
    "apb",
    "auth_blueprint",
    "config",
    "csrf_protect",
    "current_user",
    "generate_csrf",
    "get_current_user",
    "get_session",
    "live_script",
    "live_view",
    "login_required",
    "pb",
    "pb_file_url",
    "service",
    "superuser_required",
    "validate_csrf",
]
