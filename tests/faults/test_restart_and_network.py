"""PocketBase killed and restarted, slow answers and answers cut short, under load.

Same promises as the hang (see :func:`tests.faults.apps.assert_fault_run`); the
slow and cut answers come from the test kit's :class:`~pb_ssr.testing.FaultProxy`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from pb_ssr.testing import FaultProxy, PocketBaseServer, TestUser

from .apps import FAULT_SETTINGS, Load, assert_fault_run
from .test_hang import CASES, Serve


@pytest.mark.slow
@pytest.mark.parametrize(("detect", "serve", "pb_path"), CASES)
def test_kill_and_restart_under_load(
    django_app: Callable[..., None],
    server: PocketBaseServer,
    users: list[TestUser],
    detect: float,
    serve: Serve,
    pb_path: str,
) -> None:
    django_app(server.url)
    with serve(server.url, users) as (url, cookies), Load(url, cookies, pb_path=pb_path) as load:
        time.sleep(1.5)
        start = time.monotonic()
        server.stop()
        time.sleep(1.5)
        server.start()  # same port and data; returns once /api/health answers
        end = time.monotonic()
        time.sleep(2.0)
    # Refused connections fail at once: the breaker opens within a few requests.
    assert_fault_run(load, [u.id for u in users], fault_start=start, fault_end=end, detect=0.3)


NETWORK = [
    pytest.param("latency", id="slower-than-the-timeout"),
    pytest.param("drop", id="answers-cut-mid-response"),
    pytest.param("blackhole", id="black-hole"),
]


@pytest.mark.slow
@pytest.mark.parametrize("fault", NETWORK)
@pytest.mark.parametrize(("detect", "serve", "pb_path"), [CASES[0], CASES[3]])
def test_network_faults_under_load(
    django_app: Callable[..., None],
    proxy: FaultProxy,
    users: list[TestUser],
    detect: float,
    serve: Serve,
    pb_path: str,
    fault: str,
) -> None:
    django_app(proxy.url)
    with serve(proxy.url, users) as (url, cookies), Load(url, cookies, pb_path=pb_path) as load:
        time.sleep(1.5)
        start = time.monotonic()
        if fault == "latency":
            proxy.latency = FAULT_SETTINGS["TIMEOUT"] + 0.5
        elif fault == "drop":
            proxy.drop_after = 40  # inside the response headers
        else:
            proxy.blackhole = True
        time.sleep(3.0)
        proxy.clear()
        end = time.monotonic()
        time.sleep(2.0)
    if fault == "drop":
        detect = 0.3  # a cut answer fails at once
    assert_fault_run(load, [u.id for u in users], fault_start=start, fault_end=end, detect=detect)
