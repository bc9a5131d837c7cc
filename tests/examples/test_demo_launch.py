"""`make demo` and `make demo-django` start, serve and stop as a user expects.

However a demo is stopped (Ctrl-C on the process group while SIGINT is ignored, as
for a background job; SIGTERM to the demo alone), nothing may be left behind: no
PocketBase, no app server holding the port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.core.test_cli import ROOT, Output, free_port

pytestmark = pytest.mark.slow


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_demo(module: str, port: int, data: Path) -> tuple[subprocess.Popen[str], Output]:
    env = dict(os.environ, DEMO_PORT=str(port), DEMO_DIR=str(data), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ignore_sigint,  # as a shell starts a background job
        start_new_session=True,
    )
    return proc, Output(proc)


def wait_serving(url: str, out: Output) -> None:
    for _ in range(100):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            out.proc.poll()
            assert out.proc.returncode is None, "".join(out.lines)
            time.sleep(0.2)
    raise AssertionError("the demo did not serve:\n" + "".join(out.lines))


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


def pocketbase_url(banner: str) -> str:
    match = re.search(r"PocketBase: (http://127\.0\.0\.1:\d+)/_/", banner)
    assert match, banner
    return match.group(1)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.mark.parametrize(
    "module", ["example_projects.flask_chat.demo", "example_projects.django_chat.demo"]
)
@pytest.mark.parametrize("how", ["group-sigint", "sigterm"])
def test_demo_serves_on_demo_port_and_stops_everything(
    module: str, how: str, port: int, tmp_path: Path
) -> None:
    proc, out = start_demo(module, port, tmp_path / "data")
    try:
        banner = out.wait_for("Ctrl-C stops both", timeout=60)
        app = f"http://127.0.0.1:{port}"
        assert f"chat:       {app}" in banner
        pb = pocketbase_url(banner)
        wait_serving(app + "/", out)
        assert httpx.get(app + "/", follow_redirects=True).status_code == 200
        if how == "group-sigint":
            os.killpg(proc.pid, signal.SIGINT)  # a script's `kill -INT -PGID`
        else:
            proc.send_signal(signal.SIGTERM)  # the demo alone, not its children
        proc.wait(timeout=30)
    finally:
        out.close()
    assert proc.returncode == 0, "".join(out.lines)
    assert "PocketBase stopped." in "".join(out.lines)
    assert not answers(pb + "/api/health"), "PocketBase outlived the demo"
    assert not answers(app + "/"), "the app server outlived the demo"


def test_busy_port_names_demo_port(port: int, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        proc = subprocess.run(
            [sys.executable, "-m", "example_projects.flask_chat.demo"],
            cwd=ROOT,
            env=dict(os.environ, DEMO_PORT=str(port), DEMO_DIR=str(tmp_path / "d")),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert f"Port {port} is busy" in proc.stderr
    assert f"DEMO_PORT={port + 1} make demo" in proc.stderr
    assert not (tmp_path / "d").exists()
