"""The end user's address, resolved safely and forwarded to PocketBase.

PocketBase's rate limiter keys on the client IP. Behind a server-side app every
request comes from the app's one address, so the app must tell PocketBase who
the real user is, in a header PocketBase trusts (``trustedProxy.headers``).
pb-ssr *sets* that header to the address it resolved; it never passes on what a
browser sent, which anyone could forge.

The browser's ``User-Agent`` goes along too (``FORWARD_USER_AGENT``): PocketBase
tells a user's devices apart by address and User-Agent, and mails a "new sign-in"
alert for an unknown one. Through a server that always sends its own User-Agent,
every browser would look like one device and the alert would never name the real
one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

__all__ = [
    "clean_user_agent",
    "forward_headers",
    "is_local_path",
    "resolve_client_ip",
    "safe_next",
]

#: Longest User-Agent forwarded (PocketBase itself keeps 200 characters of it).
MAX_USER_AGENT = 512

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in trusted)


@lru_cache(maxsize=4096)
def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Cached: ipaddress parsing is the slow part of resolving an address, and a site
    # sees the same few proxies and clients again and again (bounded, never grows).
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def resolve_client_ip(
    remote_addr: str | None,
    forwarded_for: str | None = None,
    trusted_proxies: Sequence[str] = (),
) -> str | None:
    """Return the end user's IP address, or ``None`` when it cannot be told.

    :param remote_addr: the socket peer as the framework reports it (Django's
        ``REMOTE_ADDR``; Flask's ``request.remote_addr``, already fixed by
        ``ProxyFix`` when the app runs behind one).
    :param forwarded_for: the request's ``X-Forwarded-For`` header.
    :param trusted_proxies: IPs or CIDRs of your own proxies. Only when the peer is
        one of them is ``X-Forwarded-For`` read, right to left, skipping further
        trusted hops; the first untrusted entry is the client.
    """
    peer = _parse_ip(remote_addr or "")
    if peer is None:
        return None
    networks = _networks(tuple(trusted_proxies))
    if not networks or not forwarded_for or not any(peer in n for n in networks):
        return str(peer)
    client = peer
    for entry in reversed(forwarded_for.split(",")):
        ip = _parse_ip(entry)
        if ip is None:
            # A malformed hop: stop at the last address we could vouch for.
            break
        client = ip
        if not any(ip in n for n in networks):
            break
    return str(client)


def clean_user_agent(value: str | None) -> str | None:
    """Return *value* fit to send as a header, or ``None`` when nothing is left.

    Only printable ASCII survives (a header must not carry line breaks, and httpx
    refuses non-ASCII), trimmed and cut at :data:`MAX_USER_AGENT` characters.
    """
    if not value or not isinstance(value, str):
        return None
    if not value.isascii() or not value.isprintable():
        value = "".join(ch for ch in value if " " <= ch <= "~")
    value = value.strip()[:MAX_USER_AGENT].strip()
    return value or None


def forward_headers(
    header: str | None, client_ip: str | None, user_agent: str | None = None
) -> dict[str, str]:
    """Return the headers that tell PocketBase who the end user is (maybe none).

    :param header: the address header (``CLIENT_IP_HEADER``); ``None`` sends no address.
    :param client_ip: the resolved address (:func:`resolve_client_ip`).
    :param user_agent: the browser's User-Agent, cleaned with :func:`clean_user_agent`.
    """
    headers: dict[str, str] = {}
    if header and client_ip:
        headers[header] = client_ip
    agent = clean_user_agent(user_agent)
    if agent:
        headers["User-Agent"] = agent
    return headers


def is_local_path(target: str | None) -> bool:
    """True when *target* is a path on this site: safe to redirect to after sign-in.

    Refuses anything with a scheme or host, protocol-relative ``//host``, and the
    backslash and control-character tricks browsers normalise into ``//host``.
    """
    if not target or not isinstance(target, str) or not target.startswith("/"):
        return False
    if target.startswith("//") or any(ch in target for ch in "\\\r\n\t\x00"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(
    target: object, *, host: str | None = None, https: bool = False, default: str = "/"
) -> str:
    """Where to send the browser after a sign-in: *target* if it stays on this site.

    The one ``next`` check of both adapters. A path passes :func:`is_local_path`;
    an absolute URL passes only with an ``http``/``https`` scheme (``https`` alone
    when *https*), no user info, and exactly *host* (the request's ``Host``, port
    included). Anything else, or no *target*, gives *default*.
    """
    if not isinstance(target, str) or not target:
        return default
    if is_local_path(target):
        return target
    if host is None or any(ch in target for ch in "\\\r\n\t\x00"):
        return default
    parts = urlsplit(target)
    schemes = ("https",) if https else ("http", "https")
    if parts.scheme not in schemes or "@" in parts.netloc:
        return default
    return target if parts.netloc.lower() == host.lower() else default
