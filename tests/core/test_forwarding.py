"""Client IP resolution behind trusted proxies, and the one header sent to PocketBase."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pb_ssr import (
    AuthStore,
    SessionManager,
    Settings,
    forward_headers,
    resolve_client_ip,
)
from pb_ssr._forwarding import MAX_USER_AGENT, clean_user_agent

PROXIES = ("10.0.0.0/8",)


# -- without trusted proxies: the socket peer only ------------------------------------


def test_peer_only_without_trusted_proxies() -> None:
    assert resolve_client_ip("203.0.113.7") == "203.0.113.7"
    # A browser-sent X-Forwarded-For is ignored: anyone can write one.
    assert resolve_client_ip("203.0.113.7", "1.2.3.4") == "203.0.113.7"
    assert resolve_client_ip("10.0.0.1", "1.2.3.4", ()) == "10.0.0.1"
    assert resolve_client_ip("10.0.0.1", "1.2.3.4", []) == "10.0.0.1"


def test_untrusted_peer_header_is_ignored() -> None:
    # Trusted proxies configured, but this request did not come through one of them.
    assert resolve_client_ip("203.0.113.7", "1.2.3.4", PROXIES) == "203.0.113.7"
    assert resolve_client_ip("203.0.113.7", "10.0.0.9", PROXIES) == "203.0.113.7"


@pytest.mark.parametrize("peer", [None, "", "not-an-ip", "unix:/tmp/sock", "300.1.1.1"])
def test_unknown_peer_gives_none(peer: str | None) -> None:
    assert resolve_client_ip(peer) is None
    # Nothing can vouch for the header without a peer.
    assert resolve_client_ip(peer, "1.2.3.4", PROXIES) is None


# -- behind trusted proxies ----------------------------------------------------------------


def test_trusted_peer_header_is_read() -> None:
    assert resolve_client_ip("10.0.0.1", "1.2.3.4", PROXIES) == "1.2.3.4"


def test_rightmost_untrusted_entry_wins() -> None:
    # The leftmost entries were written by the client and are not to be believed.
    assert resolve_client_ip("10.0.0.1", "6.6.6.6, 1.2.3.4", PROXIES) == "1.2.3.4"
    assert resolve_client_ip("10.0.0.1", "6.6.6.6,7.7.7.7,1.2.3.4", PROXIES) == "1.2.3.4"


def test_chain_of_trusted_hops_is_skipped() -> None:
    header = "6.6.6.6, 1.2.3.4, 10.1.0.3, 10.2.0.2"
    assert resolve_client_ip("10.0.0.1", header, PROXIES) == "1.2.3.4"
    header = "1.2.3.4, 192.168.1.10, 10.1.0.3"
    proxies = ["10.0.0.0/8", "192.168.0.0/16"]
    assert resolve_client_ip("192.168.1.1", header, proxies) == "1.2.3.4"


def test_single_ip_proxies() -> None:
    assert resolve_client_ip("10.0.0.1", "1.2.3.4", ["10.0.0.1"]) == "1.2.3.4"
    assert resolve_client_ip("10.0.0.2", "1.2.3.4", ["10.0.0.1"]) == "10.0.0.2"


def test_only_trusted_hops_gives_the_leftmost() -> None:
    assert resolve_client_ip("10.0.0.1", "10.0.0.5, 10.0.0.4", PROXIES) == "10.0.0.5"


def test_ipv6() -> None:
    assert resolve_client_ip("2001:db8::7") == "2001:db8::7"
    assert resolve_client_ip("::1", "2001:db8::1", ["::1"]) == "2001:db8::1"
    assert resolve_client_ip("fd00::1", "2001:db8::1, fd00::2", ["fd00::/8"]) == "2001:db8::1"
    # Mixed families in one chain.
    assert resolve_client_ip("::1", "1.2.3.4, 10.0.0.2", ["::1", "10.0.0.0/8"]) == "1.2.3.4"
    # Normalised to the canonical form.
    assert resolve_client_ip("2001:DB8:0:0::1") == "2001:db8::1"


def test_ipv4_mapped_ipv6() -> None:
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    assert resolve_client_ip("::ffff:203.0.113.7") == "203.0.113.7"
    assert resolve_client_ip("::ffff:10.0.0.1", "1.2.3.4", PROXIES) == "1.2.3.4"
    assert resolve_client_ip("10.0.0.1", "::ffff:1.2.3.4", PROXIES) == "1.2.3.4"
    assert resolve_client_ip("10.0.0.1", "1.2.3.4, ::ffff:10.0.0.9", PROXIES) == "1.2.3.4"


def test_ports_are_dropped() -> None:
    assert resolve_client_ip("10.0.0.1", "1.2.3.4:5678", PROXIES) == "1.2.3.4"
    assert resolve_client_ip("[::1]:80") == "::1"
    assert resolve_client_ip("10.0.0.1:443") == "10.0.0.1"
    assert resolve_client_ip("[::1]:80", "[2001:db8::1]:4711", ["::1"]) == "2001:db8::1"
    assert resolve_client_ip("10.0.0.1", "1.2.3.4:1, 10.0.0.2:2", PROXIES) == "1.2.3.4"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("garbage", "10.0.0.1"),
        ("unknown", "10.0.0.1"),
        ("_hidden", "10.0.0.1"),
        ("1.2.3.4.5", "10.0.0.1"),
        ("1.2.3.4, garbage", "10.0.0.1"),  # the hop next to us is unreadable: stop there
        ("garbage, 1.2.3.4", "1.2.3.4"),  # unreadable entries beyond the client don't matter
        ("1.2.3.4, garbage, 10.0.0.3", "10.0.0.3"),
        ("1.2.3.4,", "10.0.0.1"),
        (" , ", "10.0.0.1"),
        (",,,", "10.0.0.1"),
        ("  1.2.3.4  ", "1.2.3.4"),
        ("1.2.3.4\t", "1.2.3.4"),
    ],
)
def test_garbage_entries(header: str, expected: str) -> None:
    assert resolve_client_ip("10.0.0.1", header, PROXIES) == expected


@pytest.mark.parametrize("header", [None, "", "   "])
def test_empty_header_gives_the_peer(header: str | None) -> None:
    assert resolve_client_ip("10.0.0.1", header, PROXIES) == "10.0.0.1"


text = st.one_of(st.none(), st.text(), st.text(alphabet="0123456789abcdef.:[], %f"))


@hsettings(max_examples=500, deadline=None)
@given(peer=text, header=text)
def test_never_raises_and_answers_an_ip(peer: str | None, header: str | None) -> None:
    for proxies in ((), PROXIES, ("::/0", "0.0.0.0/0")):
        result = resolve_client_ip(peer, header, proxies)
        assert result is None or ipaddress.ip_address(result.split("%")[0])


@hsettings(max_examples=300, deadline=None)
@given(header=st.text())
def test_an_untrusted_peer_can_never_be_overridden(header: str) -> None:
    assert resolve_client_ip("203.0.113.7", header, PROXIES) == "203.0.113.7"
    assert resolve_client_ip("10.0.0.1", header, ()) == "10.0.0.1"


# -- the forwarded header -----------------------------------------------------------------


def test_forward_headers_sets_exactly_one_header() -> None:
    assert forward_headers("X-Forwarded-For", "1.2.3.4") == {"X-Forwarded-For": "1.2.3.4"}
    assert forward_headers("X-Real-IP", "2001:db8::1") == {"X-Real-IP": "2001:db8::1"}


@pytest.mark.parametrize(("header", "ip"), [(None, "1.2.3.4"), ("", "1.2.3.4")])
def test_forward_headers_can_be_turned_off(header: str | None, ip: str) -> None:
    assert forward_headers(header, ip) == {}


@pytest.mark.parametrize("ip", [None, ""])
def test_forward_headers_without_an_ip(ip: str | None) -> None:
    assert forward_headers("X-Forwarded-For", ip) == {}


def _recording_manager(**conf: object) -> tuple[SessionManager, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 200, "message": "API is healthy.", "data": {}})

    settings = Settings.from_mapping(
        {
            "URL": "http://pb.test",
            "SUPERUSER_EMAIL": None,
            "SUPERUSER_PASSWORD": None,
            "SERVICE_TOKEN": None,
            **conf,
        }
    )
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return SessionManager(settings, secret_key="k" * 32, http_client=http), seen


def test_session_clients_send_one_forwarded_header() -> None:
    manager, seen = _recording_manager(TRUSTED_PROXIES=["10.0.0.0/8"])
    # The browser claims 6.6.6.6; the proxy appended the real address.
    ip = resolve_client_ip("10.0.0.1", "6.6.6.6, 1.2.3.4", manager.settings.TRUSTED_PROXIES)
    pb = manager.new_client(AuthStore(), ip)
    pb.health.check()
    pb.health.check()
    assert [r.headers.get_list("X-Forwarded-For") for r in seen] == [["1.2.3.4"], ["1.2.3.4"]]


def test_session_clients_use_the_configured_header() -> None:
    manager, seen = _recording_manager(CLIENT_IP_HEADER="X-Real-IP")
    manager.new_client(AuthStore(), "1.2.3.4").health.check()
    assert seen[0].headers.get_list("X-Real-IP") == ["1.2.3.4"]
    assert "X-Forwarded-For" not in seen[0].headers


def test_session_clients_forward_nothing_when_turned_off() -> None:
    manager, seen = _recording_manager(CLIENT_IP_HEADER=None)
    manager.new_client(AuthStore(), "1.2.3.4").health.check()
    assert "X-Forwarded-For" not in seen[0].headers
    assert "1.2.3.4" not in str(seen[0].headers)


@pytest.mark.parametrize("name", ["X-Forwarded-For", "x-forwarded-for", "X-FORWARDED-FOR"])
def test_a_per_request_header_replaces_the_forwarded_one(name: str) -> None:
    # Header names are case-insensitive: an override in any spelling must set the
    # header, not add a second one (PocketBase reads the last occurrence).
    manager, seen = _recording_manager()
    pb = manager.new_client(AuthStore(), "1.2.3.4")
    pb.send("/api/health", headers={name: "5.6.7.8"})
    assert seen[0].headers.get_list("X-Forwarded-For") == ["5.6.7.8"]


# -- the browser's User-Agent ------------------------------------------------------------

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (CHROME, CHROME),
        ("  Agent/1  ", "Agent/1"),
        # A header must never carry a line break: nothing can be smuggled after it.
        ("Agent/1\r\nX-Forwarded-For: 6.6.6.6", "Agent/1X-Forwarded-For: 6.6.6.6"),
        ("Agent/1 \u00e9t\u00e9 \u2603", "Agent/1 t"),
        ("Agent\x00/1\t", "Agent/1"),
        ("\u2603\u2603", None),
        ("   ", None),
        ("", None),
        (None, None),
        ("x" * 5000, "x" * MAX_USER_AGENT),
    ],
)
def test_clean_user_agent(raw: str | None, expected: str | None) -> None:
    assert clean_user_agent(raw) == expected


@given(st.text(max_size=2000))
@hsettings(max_examples=300, deadline=None)
def test_a_cleaned_user_agent_is_always_a_valid_header(raw: str) -> None:
    agent = clean_user_agent(raw)
    if agent is None:
        return
    assert 0 < len(agent) <= MAX_USER_AGENT
    assert all(" " <= ch <= "~" for ch in agent)
    request = httpx.Request("GET", "http://pb.test/", headers={"User-Agent": agent})
    assert request.headers["User-Agent"] == agent


def test_forward_headers_with_a_user_agent() -> None:
    assert forward_headers("X-Forwarded-For", "1.2.3.4", CHROME) == {
        "X-Forwarded-For": "1.2.3.4",
        "User-Agent": CHROME,
    }
    assert forward_headers(None, None, CHROME) == {"User-Agent": CHROME}
    assert forward_headers(None, None, "\r\n") == {}


def test_session_clients_send_the_browsers_user_agent() -> None:
    manager, seen = _recording_manager()
    session = manager.open(None, client_ip="1.2.3.4", user_agent=CHROME + "\r\nX-Evil: 1")
    session.client().health.check()
    assert seen[0].headers.get_list("User-Agent") == [CHROME + "X-Evil: 1"]
    assert "X-Evil" not in seen[0].headers


def test_session_clients_keep_their_own_user_agent_when_turned_off() -> None:
    manager, seen = _recording_manager(FORWARD_USER_AGENT=False)
    manager.open(None, client_ip="1.2.3.4", user_agent=CHROME).client().health.check()
    assert CHROME not in seen[0].headers.get_list("User-Agent")
