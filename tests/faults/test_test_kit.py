"""The fault tools of the test kit: PocketBaseServer.pause() and FaultProxy."""

from __future__ import annotations

import time

import httpx
import pytest

from pb_ssr.testing import FaultProxy, PocketBaseServer


def health(url: str, timeout: float = 0.5) -> int:
    with httpx.Client(timeout=timeout, trust_env=False) as http:
        return http.get(f"{url}/api/health").status_code


def test_pause_hangs_and_resume_answers(server: PocketBaseServer) -> None:
    server.pause()
    assert server.is_paused and "paused" in repr(server)
    with pytest.raises(httpx.ReadTimeout):
        health(server.url, timeout=0.3)
    server.resume()
    assert health(server.url) == 200
    with server.paused(), pytest.raises(httpx.ReadTimeout):
        health(server.url, timeout=0.3)
    assert not server.is_paused and health(server.url) == 200


def test_stop_while_paused_does_not_hang(server: PocketBaseServer) -> None:
    server.pause()
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < server.stop_timeout
    assert not server.is_running and not server.is_paused


def test_pause_needs_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        PocketBaseServer().pause()


def test_proxy_faults(server: PocketBaseServer) -> None:
    with FaultProxy(server.url) as proxy:
        assert proxy.url != server.url and health(proxy.url) == 200
        proxy.latency = 0.3
        start = time.monotonic()
        assert health(proxy.url, timeout=2) == 200
        assert time.monotonic() - start >= 0.3
        proxy.latency = 0.0
        proxy.blackhole = True
        with pytest.raises(httpx.ReadTimeout):
            health(proxy.url, timeout=0.3)
        proxy.clear()
        proxy.drop_after = 20
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            health(proxy.url)
        proxy.clear()
        proxy.refuse = True
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            health(proxy.url)
        proxy.clear()
        assert health(proxy.url) == 200
        assert proxy.connections >= 5
    with pytest.raises(RuntimeError, match="not started"):
        _ = proxy.url
    with pytest.raises(ValueError, match="host and a port"):
        FaultProxy("http://nowhere")
