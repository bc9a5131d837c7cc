"""What both demos need to start and stop like `pb-ssr dev`: signals, the port, the data.

A demo owns two processes (PocketBase, and for Django the app server), so it must
stop both however it is stopped: Ctrl-C, `kill -INT` of its process group from a
script (a shell starts background jobs with SIGINT *ignored*, and Python then never
raises KeyboardInterrupt), or `kill -TERM` of the demo alone (a service manager,
CI). Each of them becomes KeyboardInterrupt, and the demo's ``finally`` stops the rest.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from example_projects.seed import ROOT

#: Environment variable choosing the demo's HTTP port.
PORT_ENV = "DEMO_PORT"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Turn SIGINT and SIGTERM into KeyboardInterrupt, even when SIGINT was ignored."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def demo_port() -> int:
    """The port from ``DEMO_PORT`` (default 8000)."""
    return int(os.environ.get(PORT_ENV, "8000"))


def port_problem(port: int) -> str | None:
    """Say why the demo cannot listen on ``port``, or ``None`` when it is free."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return (
                f"Port {port} is busy (another demo still running?). Stop it, or choose "
                f"another port: {PORT_ENV}={port + 1} make demo"
            )
    return None


def data_dir(default_name: str) -> Path:
    """The PocketBase data folder: ``DEMO_DIR``, or ``<checkout>/<default_name>``."""
    return Path(os.environ.get("DEMO_DIR") or ROOT / default_name)
