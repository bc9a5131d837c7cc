"""``make bench``: run every benchmark section, then print one table of ratios.

Each section is its own script (and its own command, named next to each figure);
this runs them one after the other, each in a fresh process with its own
PocketBase, then ``bench/report.py`` prints every target side by side, writes
``bench/results/summary.json``, the chart ``bench/results/bench.png`` and the
README tables ``bench/results/benchmarks.md``. Exits non-zero when a section fails
or a target is missed.

Run: ``.venv/bin/python bench/run_all.py [--only name,name]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SECTIONS = (
    "client_overhead",
    "session_overhead",
    "auth_check",
    "ssr_load",
    "aggregation",
    "memory",
    "shared_store",
    "flask_overhead",
    "django_asgi",
    "faults",
    "live_relay",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated sections to run")
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; known: {', '.join(SECTIONS)}")

    failed: list[str] = []
    started = time.monotonic()
    for name in chosen:
        print(f"\n=== {name}: .venv/bin/python bench/{name}.py", flush=True)
        t0 = time.monotonic()
        code = subprocess.run([sys.executable, str(BENCH / f"{name}.py")], check=False).returncode
        print(f"=== {name}: exit {code}, {time.monotonic() - t0:.0f} s", flush=True)
        if code not in (0, 1):  # 1 means "ran, a target missed": the report says which
            failed.append(name)
    print(f"\n=== report ({time.monotonic() - started:.0f} s of measuring)", flush=True)
    report = subprocess.run([sys.executable, str(BENCH / "report.py")], check=False).returncode
    if failed:
        print(f"sections that did not run through: {', '.join(failed)}")
    return 1 if failed or report != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
