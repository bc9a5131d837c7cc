"""Telling a PocketBase too old for pb-ssr from a supported one, on real servers."""

from __future__ import annotations

from pb_ssr import OLDEST_POCKETBASE, PocketBase, server_version_problem
from pb_ssr.testing import PocketBaseServer


def test_a_supported_server_has_no_problem(pocketbase_server: PocketBaseServer) -> None:
    assert server_version_problem(PocketBase(pocketbase_server.url)) is None


def test_pocketbase_0_22_is_refused_with_the_fix(unsupported_pocketbase_url: str) -> None:
    problem = server_version_problem(PocketBase(unsupported_pocketbase_url))
    assert problem is not None
    assert unsupported_pocketbase_url in problem
    assert f"needs PocketBase {OLDEST_POCKETBASE} or newer" in problem


def test_an_unreachable_server_is_left_to_the_reachability_checks() -> None:
    assert server_version_problem(PocketBase("http://127.0.0.1:9", timeout=1)) is None
