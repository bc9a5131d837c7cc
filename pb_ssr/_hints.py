"""Development hints: mistakes that fail silently in the browser, said out loud.

A ``Secure`` cookie set in answer to a plain-http request is dropped by the browser,
unless the page is on loopback (``localhost``, ``127.0.0.1``, ``::1``), which browsers
treat as a secure context. Served with ``flask run --host <LAN IP>`` and the default
``COOKIE_SECURE``, sign-in then "works" and lands back on the login page with no error
anywhere. :func:`insecure_cookie_hint` recognises that request; the adapters log it once
per process and show it on the login page in debug mode.
"""

from __future__ import annotations

import ipaddress
import logging

__all__ = ["insecure_cookie_hint", "warn_insecure_cookie"]

logger = logging.getLogger("pb_ssr")

_warned = False


def _is_loopback_host(host: str) -> bool:
    name = host.strip().lower()
    if name.startswith("["):  # "[::1]:8000"
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:  # "127.0.0.1:8000", "example.test:80"
        name = name.split(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def insecure_cookie_hint(*, secure: bool, is_https: bool, host: str) -> str | None:
    """Say why the browser will drop the auth cookie on this request, or return ``None``.

    :param secure: Whether the cookie is set with ``Secure`` (``COOKIE_SECURE``).
    :param is_https: Whether the browser's request came over HTTPS (as the app sees it,
        after any proxy fix-up).
    :param host: The ``Host`` the browser asked for, with or without the port.

    >>> insecure_cookie_hint(secure=True, is_https=False, host="192.168.1.20:5000")[:36]
    'The auth cookie is Secure but this p'
    >>> insecure_cookie_hint(secure=True, is_https=False, host="127.0.0.1:5000") is None
    True
    """
    if not secure or is_https or _is_loopback_host(host):
        return None
    return (
        "The auth cookie is Secure but this page came over plain http from "
        f"{host!r}, so the browser drops it and sign-in seems to do nothing. Serve "
        "the app over HTTPS, browse to it on localhost, or, for development only, set "
        "COOKIE_SECURE to False (POCKETBASE_COOKIE_SECURE in Flask)."
    )


def warn_insecure_cookie(*, secure: bool, is_https: bool, host: str) -> str | None:
    """Log :func:`insecure_cookie_hint`'s message once per process, and return it.

    The adapters call this whenever they set the auth cookie.
    """
    global _warned
    hint = insecure_cookie_hint(secure=secure, is_https=is_https, host=host)
    if hint is not None and not _warned:
        _warned = True
        logger.warning(hint)
    return hint
