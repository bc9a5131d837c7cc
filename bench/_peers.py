"""The peer SDK's throwaway venv and the worker process that times it.

The PyPI ``pocketbase`` SDK (vaphes/pocketbase) is what Python tutorials reach for.
It is never a project dependency: this module creates ``bench/.peers-venv``
(gitignored) with ``pip install`` of the pinned SDK and the same ``httpx`` version
as the project's venv, and drives ``bench/_peer_worker.py`` there through a pipe.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PEERS_VENV = ROOT / "bench" / ".peers-venv"
#: The SDK as measured; the same httpx as the project's venv, so both sides share
#: the HTTP stack and only the client code differs.
PEER_REQUIREMENTS = ("pocketbase==0.17.3", f"httpx=={httpx.__version__}")


def peers_python() -> Path:
    """Create (once) the peers' venv and return its Python."""
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / ".requirements"
    wanted = "\n".join(PEER_REQUIREMENTS)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"creating {PEERS_VENV.relative_to(ROOT)} ({', '.join(PEER_REQUIREMENTS)})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEERS_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *PEER_REQUIREMENTS,
        ],
        check=True,
    )
    stamp.write_text(wanted)
    return python


class PeerWorker:
    """A long-lived ``_peer_worker.py`` process that runs one timed case per command."""

    def __init__(self, url: str, token: str) -> None:
        self.process = subprocess.Popen(
            [str(peers_python()), str(ROOT / "bench" / "_peer_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT / "bench",
        )
        answer = self._ask({"cmd": "setup", "url": url, "token": token})
        self.versions: dict[str, str] = answer["versions"]

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the peer worker exited ({self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def case(self, name: str) -> Any:
        """A callable that runs case *name* once in the worker and returns its seconds."""

        def run() -> float:
            return float(self._ask({"cmd": "run", "case": name})["seconds"])

        return run

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
